"""Capture transport: every message lands in a local inbox table instead of leaving the box.

The default for ``make run`` and the Mailgun sandbox use. The captured copy is handed back with
the outcome and committed in the same unit as ``delivered``: one is never stored without the other.
"""

from __future__ import annotations

import time

from tidings.core import clock, ids
from tidings.delivery.transport import DeliveryOutcome, Envelope, Outcome
from tidings.store.committer import WriteUnit
from tidings.store.tables import captured


class CaptureTransport:
    sending_ip = "127.0.0.1"

    async def send(self, envelope: Envelope, data: bytes) -> DeliveryOutcome:
        started = time.perf_counter()
        unit = WriteUnit()
        unit.insert(
            captured,
            {
                "domain_id": envelope.domain_id,
                "id": ids.event_id(),
                "received_us": clock.now_us(),
                "message_id": envelope.message_id,
                "recipient": envelope.recipient,
                "subject": envelope.subject,
                "mime": data,
            },
        )
        return DeliveryOutcome(
            outcome=Outcome.DELIVERED,
            code=250,
            message="OK",
            mx_host="capture.tidings.local",
            session_seconds=time.perf_counter() - started,
            writes=unit,
        )
