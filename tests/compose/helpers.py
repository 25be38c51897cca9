"""What the compose tests share: composing a send form, and reading a message back."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from tidings.compose.mime import compose
from tidings.compose.options import parse_send_form
from tidings.core.model import Composed, Upload

#: A fixed "now" (2025-12-03) so dates and ids in composed messages are reproducible.
NOW = 1_764_720_000.0


def build(fields: list[tuple[str, str | Upload]], *, now: float = NOW, **kw: Any) -> Composed:
    """``fields`` parsed as ``POST /messages`` would and composed for ``example.com``."""
    req = parse_send_form(
        fields,
        mime=False,
        max_recipients=1000,
        max_message_bytes=25 * 1024 * 1024,
        max_schedule_days=7,
        now=now,
    )
    return compose(req, domain="example.com", now=now, **kw)


def read(mime: bytes) -> EmailMessage:
    """A composed message parsed back with the standard library's modern policy."""
    msg = BytesParser(policy=policy.default).parsebytes(mime)
    assert isinstance(msg, EmailMessage)
    return msg
