"""Mailgun's per-send limits that are not settings, and the size error they share."""

from __future__ import annotations

from tidings.errors import TooLarge

__all__ = ["MAX_TAGS", "OPTIONS_LIMIT", "PAST_GRACE_SECONDS", "check_size", "human_size"]

#: Tags per message. Mailgun raised this from 3 to 10 in 2025 (contract §2.1, ``o:tag``).
MAX_TAGS = 10
#: Total bytes of ``o:``, ``h:``, ``v:`` and ``t:`` fields (names and values).
OPTIONS_LIMIT = 16 * 1024
#: An ``o:deliverytime`` this close in the past means "now" (client clocks drift).
PAST_GRACE_SECONDS = 300.0

_MB = 1024 * 1024


def human_size(limit: int) -> str:
    """``25 MB`` for whole mebibytes, else ``50000 bytes``."""
    return f"{limit // _MB} MB" if limit % _MB == 0 else f"{limit} bytes"


def check_size(size: int, limit: int) -> None:
    """Raise ``TooLarge`` (413) when a message of ``size`` bytes is over ``limit``."""
    if size > limit:
        raise TooLarge(f"Message size exceeds the limit of {human_size(limit)}", size=size)
