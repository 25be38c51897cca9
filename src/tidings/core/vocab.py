"""The Mailgun words, written once. Other modules never spell these as bare strings."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Event types of the Events API and of webhooks' ``event-data.event``."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DELIVERED = "delivered"
    FAILED = "failed"
    OPENED = "opened"
    CLICKED = "clicked"
    UNSUBSCRIBED = "unsubscribed"
    COMPLAINED = "complained"
    STORED = "stored"


class Severity(StrEnum):
    """``severity`` of a ``failed`` event."""

    TEMPORARY = "temporary"
    PERMANENT = "permanent"


class Reason(StrEnum):
    """``reason`` of a ``failed`` event (contract §4.4)."""

    GENERIC = "generic"
    BOUNCE = "bounce"
    GREYLISTED = "greylisted"
    ESPBLOCK = "espblock"
    OLD = "old"
    SUPPRESS_BOUNCE = "suppress-bounce"
    SUPPRESS_UNSUBSCRIBE = "suppress-unsubscribe"
    SUPPRESS_COMPLAINT = "suppress-complaint"


class LogLevel(StrEnum):
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class Method(StrEnum):
    """How a message reached us (``accepted.method``)."""

    HTTP = "http"
    SMTP = "smtp"


class DeliveryState(StrEnum):
    """Where one recipient's delivery stands."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    FAILED = "failed"


class DomainState(StrEnum):
    ACTIVE = "active"
    UNVERIFIED = "unverified"
    DISABLED = "disabled"


class KeyKind(StrEnum):
    """API key kinds: ``user`` keys reach the whole API; ``domain`` keys send for one domain."""

    USER = "user"
    DOMAIN = "domain"


class KeyRole(StrEnum):
    ADMIN = "admin"
    BASIC = "basic"
    SENDING = "sending"
    DEVELOPER = "developer"


class DeliveryMode(StrEnum):
    """``TIDINGS_DELIVERY_MODE``: where the delivery worker hands messages."""

    CAPTURE = "capture"
    MX = "mx"
    SMARTHOST = "smarthost"


def log_level_for(event: EventType, severity: Severity | None = None) -> LogLevel:
    """Mailgun's ``log-level`` for an event (contract §4.1)."""
    if event is EventType.FAILED:
        return LogLevel.ERROR if severity is Severity.PERMANENT else LogLevel.WARN
    if event in (EventType.REJECTED, EventType.COMPLAINED):
        return LogLevel.WARN
    return LogLevel.INFO
