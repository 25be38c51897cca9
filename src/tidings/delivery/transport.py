"""The transport contract: ``send(envelope, bytes) -> DeliveryOutcome``.

Implementations: :class:`~tidings.delivery.capture.CaptureTransport` (a local inbox, the default),
and the SMTP transports (direct to MX, smart host) that the delivery feature adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from tidings.store.committer import WriteUnit


class Outcome(StrEnum):
    DELIVERED = "delivered"
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Envelope:
    domain_id: int
    sender: str
    recipient: str
    message_id: str
    subject: str


@dataclass(frozen=True)
class DeliveryOutcome:
    """What a transport reports; becomes ``delivery-status`` of the event."""

    outcome: Outcome
    code: int
    message: str
    description: str = ""
    mx_host: str = ""
    tls: bool = False
    certificate_verified: bool = False
    session_seconds: float = 0.0
    enhanced_code: str = ""
    reason: str = "generic"
    extra: dict[str, Any] = field(default_factory=dict)
    writes: WriteUnit | None = None
    """Rows the transport wants stored with the outcome (the capture inbox), committed in the
    same unit as the delivery's new state and its event."""

    def status(self, attempt: int) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tls": self.tls,
            "mx-host": self.mx_host,
            "code": self.code,
            "description": self.description,
            "session-seconds": round(self.session_seconds, 6),
            "utf8": True,
            "attempt-no": attempt,
            "message": self.message,
            "certificate-verified": self.certificate_verified,
        }
        if self.enhanced_code:
            out["enhanced-code"] = self.enhanced_code
        out.update(self.extra)
        return out


class Transport(Protocol):
    sending_ip: str

    async def send(self, envelope: Envelope, data: bytes) -> DeliveryOutcome:
        """Deliver ``data`` to ``envelope.recipient``. Never raises for delivery problems:
        every failure is an outcome (temporary or permanent) with the server's reply."""
        ...
