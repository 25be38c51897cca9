"""How ids are made in Mailgun's formats: Message-IDs, event ids, storage keys."""

from __future__ import annotations

import base64
import os
import random
import re
import secrets
import time

from tidings.core import clock

_fast = random.Random(secrets.randbits(256))
# A forked process must not repeat its parent's sequence.
os.register_at_fork(after_in_child=lambda: _fast.seed(secrets.randbits(256)))


def event_id() -> str:
    """A 22-character URL-safe id, like Mailgun's event ids (128 random bits, base64url).

    Event and delivery ids must be unique, not secret, so they come from a seeded PRNG
    instead of a system call per id (several are made per message on the hot path).
    """
    raw = _fast.getrandbits(128).to_bytes(16, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def storage_key() -> str:
    """An opaque, unguessable key under which a stored message is served."""
    return secrets.token_urlsafe(24)


def message_id(domain: str) -> str:
    """A new Message-ID without angle brackets: ``YYYYMMDDhhmmss.<16 hex>@<domain>``."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(clock.now()))
    return f"{stamp}.{_fast.getrandbits(64):016x}@{domain}"


# RFC 5322 §3.6.4 msg-id without its brackets: dot-atom-text "@" (dot-atom-text or
# no-fold-literal); the obsolete forms (quoted local parts, comments, folding) are not taken.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_MSG_ID = re.compile(rf"{_DOT_ATOM}@(?:{_DOT_ATOM}|\[[!-Z^-~]*\])")
#: Longest bracketless Message-ID: ``Message-ID: <id>`` must fit one line (998 octets).
MAX_MESSAGE_ID = 998 - len("Message-ID: <>")


def is_message_id(mid: str) -> bool:
    """Whether bracketless ``mid`` is an RFC 5322 msg-id that fits on one header line."""
    return len(mid) <= MAX_MESSAGE_ID and _MSG_ID.fullmatch(mid) is not None


def strip_brackets(mid: str) -> str:
    """``<a@b>`` -> ``a@b``; ids without brackets come back as they are."""
    mid = mid.strip()
    if mid.startswith("<") and mid.endswith(">"):
        return mid[1:-1].strip()
    return mid


def bracket(mid: str) -> str:
    return f"<{strip_brackets(mid)}>"
