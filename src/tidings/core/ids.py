"""How ids are made in Mailgun's formats: Message-IDs, event ids, storage keys."""

from __future__ import annotations

import base64
import secrets
import time

from tidings.core import clock


def event_id() -> str:
    """A 22-character URL-safe id, like Mailgun's event ids (16 random bytes, base64url)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


def storage_key() -> str:
    """An opaque, unguessable key under which a stored message is served."""
    return secrets.token_urlsafe(24)


def message_id(domain: str) -> str:
    """A new Message-ID without angle brackets: ``YYYYMMDDhhmmss.<16 hex>@<domain>``."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(clock.now()))
    return f"{stamp}.{secrets.token_hex(8)}@{domain}"


def strip_brackets(mid: str) -> str:
    """``<a@b>`` -> ``a@b``; ids without brackets come back as they are."""
    mid = mid.strip()
    if mid.startswith("<") and mid.endswith(">"):
        return mid[1:-1].strip()
    return mid


def bracket(mid: str) -> str:
    return f"<{strip_brackets(mid)}>"
