"""Building the RFC 5322 message of a ``/messages`` send.

Layout: text/plain, text/x-amp-html and text/html as multipart/alternative in that order
(Mailgun's AMP order); inline files in a multipart/related with the HTML; attachments in
a multipart/mixed around it all. For a batch send the stored message is a template: To is
``%recipient%`` and the ``%recipient.*%`` placeholders stay until ``personalize``.
``compose_mime`` (``messages.mime``) and ``personalize`` are re-exported from here.
"""

from __future__ import annotations

from typing import Any

from tidings.compose.body import Part, file_part, multipart, serialize, text_part
from tidings.compose.copies import finish
from tidings.compose.headers import (
    CRLF,
    address_header,
    date_header,
    encode_header,
    given_message_id,
    mailgun_headers,
    shown_addresses,
    unstructured,
)
from tidings.compose.limits import check_size
from tidings.compose.personalize import personalize
from tidings.compose.upload import compose_mime
from tidings.core import ids
from tidings.core.model import Composed, SendRequest

__all__ = ["compose", "compose_mime", "personalize"]

#: ``h:`` headers that take the place of the one we would write.
_REPLACING = frozenset({"from", "to", "cc", "subject", "date"})
#: ``h:`` headers we never copy: we write them (Message-ID from ``h:Message-Id``), or
#: they would break the MIME structure or disclose Bcc recipients.
_DROPPED = frozenset(
    {"message-id", "mime-version", "content-type", "content-transfer-encoding", "bcc"}
)


def _shown(key: str, value: str) -> str:
    """An ``h:`` value as the event shows it: From and To as the addresses written."""
    return shown_addresses(value) if key in ("from", "to") else value


def _headers(req: SendRequest, message_id: str, now: float) -> tuple[str, dict[str, str]]:
    replacing = {n.lower(): (n, v) for n, v in req.headers if n.lower() in _REPLACING}
    event = {
        "from": ", ".join(a.formatted for a in req.sender),
        "to": "%recipient%" if req.is_batch else ", ".join(a.formatted for a in req.to),
        "subject": req.subject or "",
        "message-id": message_id,
    }
    ours: list[tuple[str, str]] = [
        ("from", address_header("From", req.sender)),
        ("to", unstructured("To", event["to"]) if req.is_batch else address_header("To", req.to)),
    ]
    if req.cc:
        ours.append(("cc", address_header("Cc", req.cc)))
    if req.subject is not None:
        ours.append(("subject", unstructured("Subject", req.subject)))
    ours.append(("date", date_header(now)))
    lines: list[str] = []
    for key, line in ours:
        if key in replacing:
            name, value = replacing.pop(key)
            line = encode_header(name, value)
            if key in event:
                event[key] = _shown(key, value)
        lines.append(line)
    for key, (name, value) in replacing.items():  # e.g. h:Cc or h:Subject with none of ours
        lines.append(encode_header(name, value))
        if key in event:
            event[key] = _shown(key, value)
    lines.append(f"Message-ID: <{message_id}>{CRLF}MIME-Version: 1.0{CRLF}")
    for name, value in req.headers:
        if name.lower() not in _REPLACING and name.lower() not in _DROPPED:
            lines.append(encode_header(name, value))
    lines.append(mailgun_headers(req))
    return "".join(lines), event


def _body(req: SendRequest) -> Part:
    bodies = [("plain", req.text), ("x-amp-html", req.amp_html), ("html", req.html)]
    parts = [text_part(subtype, body) for subtype, body in bodies if body]
    if not parts:
        parts = [text_part("plain", req.text or "")]
    inline = [file_part(a) for a in req.attachments if a.inline]
    if inline and req.html:
        parts[-1] = multipart("related", [parts[-1], *inline])
    root = parts[0] if len(parts) == 1 else multipart("alternative", parts)
    if inline and not req.html:
        root = multipart("related", [root, *inline])
    files = [file_part(a) for a in req.attachments if not a.inline]
    if files:
        root = multipart("mixed", [root, *files])
    return root


def _attachment_info(req: SendRequest) -> list[dict[str, Any]]:
    return [
        {
            "filename": a.filename,
            "content-type": a.content_type.split(";", 1)[0].strip().lower(),
            "size": len(a.data),
        }
        for a in req.attachments
        if not a.inline
    ]


def compose(
    req: SendRequest, *, domain: str, now: float, max_message_bytes: int | None = None
) -> Composed:
    """The message of a ``/messages`` send, with one ``RecipientCopy`` per recipient.

    The Message-ID comes from ``h:Message-Id`` when given, else ``ids.message_id(domain)``.
    Raises ``TooLarge`` when the result is over ``max_message_bytes``.
    """
    generated = ids.message_id(domain)
    message_id = given_message_id(req) or generated
    header_text, event = _headers(req, message_id, now)
    mime = serialize(_body(req), header_text)
    if max_message_bytes is not None:
        check_size(len(mime), max_message_bytes)
    own_to = not any(n.lower() == "to" for n, _ in req.headers)
    return finish(
        req,
        mime,
        event,
        envelope_sender=req.sender[0].email if req.sender else "",
        attachments=_attachment_info(req),
        own_to=own_to,
        fallback_id=generated,
    )
