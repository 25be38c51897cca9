"""The content type of an attached file: what the client gave, made something we can send.

- Not ``type/subtype`` in RFC 2045 tokens (or none): guessed from the file name, else
  ``application/octet-stream``. Parameters are kept when well formed and short;
  ``name``, ``filename`` and ``boundary`` are dropped (``body.file_part`` writes ``name``).
- ``multipart/*``: a multipart needs a ``boundary`` that its body uses, which an uploaded
  file cannot be trusted to have: sent as ``application/octet-stream``.
- ``message/*``: composite, so only ``7bit``/``8bit``/``binary`` may carry it (RFC 2045
  §6.4; RFC 2046 §5.2.1 for ``message/rfc822``), never base64. Sent ``7bit`` when it is
  ASCII with header lines up front and lines of at most 998 octets (line ends made CRLF);
  otherwise ``application/octet-stream`` in base64, which keeps every byte. ``8bit`` is not
  used: delivery does not negotiate 8BITMIME with the receiving server.
"""

from __future__ import annotations

import mimetypes
import re

from tidings.compose.headers import param
from tidings.compose.rawmime import content_type, split
from tidings.errors import BadRequest

__all__ = ["OCTET_STREAM", "for_file", "is_message"]

OCTET_STREAM = "application/octet-stream"

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_MEDIA = re.compile(rf"{_TOKEN}{{1,127}}/{_TOKEN}{{1,127}}")
_PARAM_NAME = re.compile(rf"{_TOKEN}{{1,40}}")
_PARAM_VALUE = 64  # characters; longer values are dropped
_OURS = frozenset({"name", "filename", "boundary"})
_MAX_LINE = 998


def is_message(ctype: str) -> bool:
    """Whether ``ctype`` (as ``for_file`` returns it) is sent ``7bit`` rather than base64."""
    return ctype[:8].lower() == "message/"


def _guess(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or OCTET_STREAM


def _as_7bit(data: bytes) -> bytes | None:
    """``data`` with CRLF line ends when it can be a 7bit message body, else ``None``."""
    if not data.isascii() or b"\0" in data:
        return None
    text = data.replace(b"\r\n", b"\n")
    if b"\r" in text or max(map(len, text.split(b"\n"))) > _MAX_LINE:
        return None
    out = text.replace(b"\n", b"\r\n")
    try:
        if not split(out, normalize=False).headers:
            return None
    except BadRequest:  # not a header block up front: not a message
        return None
    return out


def for_file(given: str | None, filename: str, data: bytes) -> tuple[str, bytes]:
    """``(content type to send, data to send)`` for an uploaded file."""
    raw = (given or "").strip()
    kind, params = content_type(raw) if raw and raw.isprintable() else ("", {})
    if not _MEDIA.fullmatch(kind):
        kind, params = _guess(filename), {}
    if kind.startswith("multipart/"):
        return OCTET_STREAM, data
    if kind.startswith("message/"):
        body = _as_7bit(data)
        return (kind, body) if body is not None else (OCTET_STREAM, data)
    kept = [
        f"; {param(key, value)}"
        for key, value in params.items()
        if key not in _OURS
        and _PARAM_NAME.fullmatch(key)
        and len(value) <= _PARAM_VALUE
        and value.isascii()
        and value.isprintable()
    ]
    return kind + "".join(kept), data
