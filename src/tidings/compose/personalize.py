"""The bytes one recipient of a batch send gets: the stored template, substituted.

To, Subject, Message-ID and a From with placeholders come from the copy (already
substituted); X-Mailgun-Variables is rewritten from the copy's variables (substituting
inside JSON could break its quoting); other top-level headers and every text part that is
not an attachment (decoded from base64 or quoted-printable first, then encoded again) have
``%recipient%`` and ``%recipient.KEY%`` replaced. Everything else stays byte for byte. A
copy of a send without recipient-variables gets the stored bytes unchanged.
"""

from __future__ import annotations

import binascii

from tidings.compose.body import encode_text
from tidings.compose.headers import CRLF, encode_header, param, variables_header
from tidings.compose.rawmime import Entity, content_type, multipart_spans, split, value_of
from tidings.compose.variables import MARKER, substitute
from tidings.core.model import RecipientCopy

__all__ = ["personalize"]

_MARKER_BYTES = MARKER.encode("ascii")


def _sub(text: str, copy: RecipientCopy) -> str:
    return substitute(text, copy.recipient, copy.substitutions or {})


def _header(name: str, line: bytes, copy: RecipientCopy) -> bytes:
    """One top-level header field of the copy."""
    key = name.lower()
    if key in ("to", "subject"):
        new = encode_header(name, copy.headers[key])
    elif key == "message-id":
        new = f"{name}: <{copy.message_id}>{CRLF}"
    elif key == "x-mailgun-variables":
        new = variables_header(copy.variables)
    elif _MARKER_BYTES in line or b"=?" in line:
        value = value_of(line)
        if MARKER not in value:
            return line
        # From as the copy's events show it (substituted from the same template).
        new = encode_header(name, copy.headers["from"] if key == "from" else _sub(value, copy))
    else:
        return line
    return new.encode("utf-8")


def _decode_body(body: bytes, cte: str) -> bytes:
    if cte == "base64":
        return binascii.a2b_base64(body)
    if cte == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _text(part: Entity, kind: str, params: dict[str, str], copy: RecipientCopy) -> bytes | None:
    """A text part with placeholders substituted, or ``None`` when it has none."""
    cte = (part.get("content-transfer-encoding") or "7bit").strip().lower()
    try:
        payload = _decode_body(part.body, cte)
    except binascii.Error:
        return None
    if _MARKER_BYTES not in payload:
        return None  # also UTF-16 and other ASCII-incompatible charsets, left alone
    try:
        text = payload.decode(params.get("charset") or "us-ascii")
    except (LookupError, UnicodeDecodeError):
        text = payload.decode("utf-8", errors="replace")
    new_cte, body = encode_text(_sub(text, copy))
    # One parameter a line, escaped and split as ``param`` does: within 998 octets.
    others = "".join(f";{CRLF} {param(k, v)}" for k, v in params.items() if k != "charset")
    head = [
        line
        for name, line in part.headers
        if name.lower() not in ("content-type", "content-transfer-encoding")
    ]
    head.append(f'Content-Type: {kind}; charset="utf-8"{others}{CRLF}'.encode())
    head.append(f"Content-Transfer-Encoding: {new_cte}{CRLF}".encode())
    return b"".join(head) + b"\r\n" + body


def _process(part: Entity, copy: RecipientCopy) -> bytes | None:
    """``part`` with placeholders substituted, or ``None`` when nothing in it changed."""
    kind, params = content_type(part.get("content-type"))
    if kind.startswith("multipart/"):
        body = _children(part.body, params.get("boundary"), copy)
        return None if body is None else part.head() + b"\r\n" + body
    if kind.startswith("text/") and not _is_attachment(part):
        return _text(part, kind, params, copy)
    return None


def _is_attachment(part: Entity) -> bool:
    disposition = part.get("content-disposition") or ""
    return disposition.split(";", 1)[0].strip().lower() == "attachment"


def _children(body: bytes, boundary: str | None, copy: RecipientCopy) -> bytes | None:
    if not boundary:
        return None
    pieces: list[bytes] = []
    done = 0
    for start, end in multipart_spans(body, boundary):
        new = _process(split(body[start:end], normalize=False), copy)
        if new is not None:
            pieces += [body[done:start], new]
            done = end
    if not pieces:
        return None
    pieces.append(body[done:])
    return b"".join(pieces)


def personalize(mime: bytes, copy: RecipientCopy) -> bytes:
    """The message for ``copy.recipient``; ``mime`` itself when the send was not a batch."""
    if copy.substitutions is None:
        return mime
    top = split(mime, normalize=False)
    top.headers = [(name, _header(name, line, copy)) for name, line in top.headers]
    new = _process(top, copy)
    return new if new is not None else top.head() + b"\r\n" + top.body
