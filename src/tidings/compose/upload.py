"""``messages.mime``: checking an uploaded RFC 5322 message and adding our headers to it.

The body is kept byte for byte (line ends become CRLF); only the header block is
rewritten: ``h:`` headers replace same-named ones, Message-ID and Date are added when
missing, Bcc is removed, and X-Mailgun-Tag / X-Mailgun-Variables are appended.
Envelope recipients are the form's ``to`` values, never the message's To.
"""

from __future__ import annotations

import binascii
from email import policy
from email.parser import BytesParser
from typing import Any

from tidings.compose.addresses import parse_addresses
from tidings.compose.copies import finish
from tidings.compose.headers import (
    CRLF,
    date_header,
    encode_header,
    given_message_id,
    mailgun_headers,
)
from tidings.compose.limits import check_size
from tidings.compose.rawmime import Entity, content_type, invalid, multipart_spans, split
from tidings.core import ids
from tidings.core.model import Composed, SendRequest
from tidings.errors import BadRequest

__all__ = ["check_mime", "compose_mime"]

#: ``h:`` headers that are not copied into an uploaded message (see ``compose.mime``).
_DROPPED = frozenset({"mime-version", "content-type", "content-transfer-encoding", "bcc"})
#: Multipart nesting followed when listing attachments (a hostile upload may nest deeper).
_MAX_DEPTH = 32


def _parse(data: bytes) -> tuple[Entity, str]:
    """The split message and the bare address of its first From; raises ``BadRequest``."""
    raw = split(data)
    if not raw.headers:
        raise invalid("it has no headers")
    sender = raw.get("from")
    if sender is None:
        raise invalid("it has no From header")
    addresses = parse_addresses(sender)
    if not addresses:
        raise invalid(f"its From header is not a valid address: {sender!r}")
    kind, params = content_type(raw.get("content-type"))
    if kind.startswith("multipart/"):
        boundary = params.get("boundary")
        if not boundary:
            raise invalid("it is multipart but has no boundary")
        if f"--{boundary}".encode("utf-8", errors="replace") not in raw.body:
            raise invalid(f"its multipart boundary {boundary!r} is not in the body")
    return raw, addresses[0].email


def check_mime(data: bytes) -> None:
    """Raise ``BadRequest`` unless ``data`` has RFC 5322 headers with a valid From."""
    _parse(data)


def _attachments(raw: Entity) -> list[dict[str, Any]]:
    """The files of a multipart message with ``Content-Disposition: attachment``."""
    out: list[dict[str, Any]] = []
    if content_type(raw.get("content-type"))[0].startswith("multipart/"):
        _files(raw, out, depth=0)
    return out


def _files(entity: Entity, out: list[dict[str, Any]], *, depth: int) -> None:
    """Walk the multipart tree at the byte level. A ``message/rfc822`` part is one file:
    the attachments of a forwarded message are not this message's."""
    kind, params = content_type(entity.get("content-type"))
    if kind.startswith("multipart/"):
        boundary = params.get("boundary")
        if not boundary or depth >= _MAX_DEPTH:
            return
        for start, end in multipart_spans(entity.body, boundary):
            try:
                part = split(entity.body[start:end], normalize=False)
            except BadRequest:  # not a body part: nothing to report
                continue
            _files(part, out, depth=depth + 1)
        return
    disposition = entity.get("content-disposition") or ""
    if disposition.split(";", 1)[0].strip().lower() != "attachment":
        return
    # The standard parser reads the names (RFC 2231, RFC 2047) from the part's header alone.
    head = BytesParser(policy=policy.default).parsebytes(entity.head() + b"\r\n")
    out.append(
        {
            "filename": head.get_filename() or "",
            "content-type": head.get_content_type(),
            "size": _decoded_size(entity),
        }
    )


def _decoded_size(part: Entity) -> int:
    """The size of a part's content once its transfer encoding is undone."""
    cte = (part.get("content-transfer-encoding") or "").strip().lower()
    try:
        if cte == "base64":
            return len(binascii.a2b_base64(part.body))
        if cte == "quoted-printable":
            return len(binascii.a2b_qp(part.body))
    except (binascii.Error, ValueError):
        pass
    return len(part.body)


def _usable_id(mid: str) -> bool:
    """Whether an uploaded Message-ID can be kept: mail programs write some that RFC 5322's
    strict grammar refuses, and those are kept as they are, but an empty one (``<>``), one
    without ``@`` or one with spaces or brackets names nothing and is replaced by ours."""
    return (
        "@" in mid
        and len(mid) <= ids.MAX_MESSAGE_ID
        and not any(c.isspace() or c in "<>" for c in mid)
    )


def _rewrite_head(
    raw: Entity, req: SendRequest, message_id: str, now: float, *, replace_id: bool = False
) -> bytes:
    """The new header block (CRLF-terminated lines, no blank line); ``replace_id`` drops the
    upload's own Message-ID for ours."""
    drop = {n.lower() for n, _ in req.headers if n.lower() not in _DROPPED} | {"bcc"}
    if replace_id:
        drop.add("message-id")
    if req.variables:
        drop.add("x-mailgun-variables")
    kept = [line for name, line in raw.headers if name.lower() not in drop]
    added: list[str] = []
    if "message-id" in drop or raw.get("message-id") is None:
        added.append(f"Message-ID: <{message_id}>{CRLF}")
    if raw.get("date") is None:
        added.append(date_header(now))
    for name, value in req.headers:
        if name.lower() not in _DROPPED and name.lower() != "message-id":
            added.append(encode_header(name, value))
    added.append(mailgun_headers(req))
    return b"".join(kept) + "".join(added).encode("utf-8")


def compose_mime(
    req: SendRequest, *, domain: str, now: float, max_message_bytes: int | None = None
) -> Composed:
    """The ``Composed`` record of a ``messages.mime`` send (``req.mime`` holds the upload)."""
    raw, envelope_sender = _parse(req.mime or b"")
    generated = ids.message_id(domain)
    uploaded = ids.strip_brackets(raw.get("message-id") or "")
    usable = _usable_id(uploaded)
    message_id = given_message_id(req) or (uploaded if usable else generated)
    head = _rewrite_head(raw, req, message_id, now, replace_id=not usable)
    mime = head + b"\r\n" + raw.body
    if max_message_bytes is not None:
        check_size(len(mime), max_message_bytes)
    final = split(head, normalize=False)
    headers = {
        "from": final.get("from") or "",
        "to": final.get("to") or "",
        "subject": final.get("subject") or "",
        "message-id": message_id,
    }
    return finish(
        req,
        mime,
        headers,
        envelope_sender=envelope_sender,
        attachments=_attachments(raw),
        own_to=False,
        fallback_id=generated,
    )
