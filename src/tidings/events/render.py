"""The one serializer: Mailgun's event JSON, and the indexed row that carries it.

Payloads are built here and stored whole; the Events API, webhooks and the panel all serve
the stored JSON, so every reader sees exactly one shape. JSON types follow Mailgun exactly
(numbers as numbers, booleans as booleans) and objects that do not apply are omitted, never
``null`` (anymail and mailgun-go depend on both).
"""

from __future__ import annotations

from typing import Any

import orjson

from tidings.core import ids
from tidings.core.vocab import EventType, Reason, Severity, log_level_for
from tidings.store.tables import TAG_SEP

Json = dict[str, Any]


def _message(msg: Json, dlv: Json, *, with_recipients: bool) -> Json:
    out: Json = {
        "headers": dlv.get("headers") or msg["headers"],
        "attachments": msg.get("attachments", []),
        "size": msg["size"],
    }
    if with_recipients:
        out["recipients"] = msg.get("recipients", [])
        if msg.get("scheduled-for") is not None:
            out["scheduled-for"] = msg["scheduled-for"]
    return out


def timestamp(ts: float) -> float:
    """``ts`` (epoch seconds) to whole microseconds, the precision Mailgun shows (contract
    §1.5) and the ``ts_us`` key events are ordered and paged by: ``ts_us / 1e6`` exactly."""
    return round(ts * 1_000_000) / 1_000_000


def _common(event: EventType, ts: float, msg: Json, dlv: Json, recipient: str) -> Json:
    return {
        "event": event.value,
        "id": ids.event_id(),
        "timestamp": timestamp(ts),
        "log-level": log_level_for(event).value,
        "recipient": recipient,
        "recipient-domain": recipient.rpartition("@")[2],
        "campaigns": [],
        "tags": list(msg.get("tags", [])),
        "user-variables": dict(dlv.get("user-variables") or msg.get("user-variables") or {}),
        "storage": dict(msg["storage"]),
    }


def accepted(*, ts: float, msg: Json, dlv: Json, recipient: str) -> Json:
    """``accepted``: one per recipient when a send is queued."""
    out = _common(EventType.ACCEPTED, ts, msg, dlv, recipient)
    out.update(
        {
            "method": msg.get("method", "http"),
            "envelope": {
                "targets": recipient,
                "transport": "smtp" if msg.get("method") == "smtp" else "",
                "sender": msg["envelope-sender"],
            },
            "flags": {
                "is-authenticated": True,
                "is-test-mode": bool(msg.get("flags", {}).get("is-test-mode", False)),
            },
            "message": _message(msg, dlv, with_recipients=True),
        }
    )
    return out


def _flags(msg: Json) -> Json:
    return {
        "is-routed": False,
        "is-authenticated": True,
        "is-system-test": False,
        "is-test-mode": bool(msg.get("flags", {}).get("is-test-mode", False)),
    }


def _envelope(msg: Json, recipient: str, sending_ip: str) -> Json:
    return {
        "transport": "smtp",
        "sender": msg["envelope-sender"],
        "sending-ip": sending_ip,
        "targets": recipient,
    }


def delivered(
    *, ts: float, msg: Json, dlv: Json, recipient: str, status: Json, sending_ip: str
) -> Json:
    """``delivered``: the receiving server (or the capture inbox) took the message."""
    out = _common(EventType.DELIVERED, ts, msg, dlv, recipient)
    out.update(
        {
            "envelope": _envelope(msg, recipient, sending_ip),
            "flags": _flags(msg),
            "delivery-status": status,
            "message": _message(msg, dlv, with_recipients=False),
        }
    )
    return out


def failed(
    *,
    ts: float,
    msg: Json,
    dlv: Json,
    recipient: str,
    status: Json,
    severity: Severity,
    reason: Reason,
    sending_ip: str,
) -> Json:
    """``failed``: temporary (will retry) or permanent (dropped)."""
    out = _common(EventType.FAILED, ts, msg, dlv, recipient)
    out.update(
        {
            "log-level": log_level_for(EventType.FAILED, severity).value,
            "severity": severity.value,
            "reason": reason.value,
            "envelope": _envelope(msg, recipient, sending_ip),
            "flags": _flags(msg),
            "delivery-status": status,
            "message": _message(msg, dlv, with_recipients=False),
        }
    )
    return out


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def row(domain_id: int, payload: Json) -> dict[str, Any]:
    """The ``events`` row for ``payload``: the indexed columns the Events API filters on."""
    message = payload.get("message") or {}
    headers = message.get("headers") or {}
    tags = [t.lower() for t in payload.get("tags", [])]
    attachments = message.get("attachments") or []
    recipients = message.get("recipients")
    return {
        "domain_id": domain_id,
        "ts_us": round(payload["timestamp"] * 1_000_000),
        "id": payload["id"],
        "event": payload["event"],
        "recipient": _lower(payload.get("recipient")),
        "message_id": _lower(headers.get("message-id")),
        "severity": payload.get("severity"),
        "tags": (TAG_SEP + TAG_SEP.join(tags) + TAG_SEP) if tags else "",
        "from_hdr": _lower(headers.get("from")),
        "to_hdr": _lower(headers.get("to")),
        "subject": headers.get("subject"),
        "size": message.get("size"),
        "attachments": "\n".join(a.get("filename", "") for a in attachments).lower() or None,
        "recipients": ", ".join(recipients).lower() if recipients else None,
        "list": None,
        "payload": orjson.dumps(payload).decode("utf-8"),
    }
