"""Stored messages at their ``storage.url``: ``GET /v3/domains/{domain}/messages/{key}``."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Row, and_, select
from starlette.responses import JSONResponse, Response

from tidings.api.deps import PathDomain, SendingDomain, Svc
from tidings.api.forms import read_form
from tidings.api.routes.messages import send_fields
from tidings.core import clock
from tidings.core.model import Upload
from tidings.errors import BadRequest, NotFound
from tidings.store.repos.domains import Domain
from tidings.store.tables import messages

router = APIRouter()


def _body(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        # A charset Python does not know (``messages.mime`` takes what the client sends):
        # the bytes as UTF-8, anything else replaced, rather than no answer at all.
        raw = part.get_payload(decode=True)
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""


def _value(msg: EmailMessage, name: str, raw: str) -> str:
    """A header's value as the parser reads it (RFC 2047 words decoded), or its unfolded raw
    text when the parser cannot read it (``messages.mime`` stores what clients upload, and
    Python's parser raises on some odd values, ``Message-ID: <[x]@y>`` among them)."""
    try:
        return str(msg.policy.header_fetch_parse(name, raw))
    except Exception:  # the stdlib parser fails on odd input in many ways
        return " ".join(raw.split())


def _key(name: str) -> str:
    """Mailgun's spelling of a header name as a JSON key: ``Message-Id``, ``Mime-Version``."""
    return "-".join(word.capitalize() for word in name.split("-"))


def describe(mime: bytes, meta: dict[str, Any]) -> dict[str, Any]:
    """Mailgun's stored-message JSON."""
    msg = BytesParser(policy=policy.default).parsebytes(mime)
    assert isinstance(msg, EmailMessage)
    headers = [[k, _value(msg, k, v)] for k, v in msg.raw_items()]
    out: dict[str, Any] = {_key(k): v for k, v in headers if k.lower() != "x-mailgun-tag"}
    html, plain = _body(msg, "html"), _body(msg, "plain")
    out.update(
        {
            "X-Mailgun-Tag": ", ".join(meta.get("tags", [])),
            "sender": meta.get("envelope-sender", ""),
            "recipients": ", ".join(meta.get("recipients", [])),
            "body-html": html,
            "body-plain": plain,
            "stripped-html": html,
            "stripped-text": plain,
            "stripped-signature": "",
            "message-headers": headers,
            "attachments": meta.get("attachments", []),
        }
    )
    return out


async def _stored(svc: Svc, domain: Domain, key: str) -> Row[Any, Any, Any]:
    """The stored message ``key`` (MIME, meta), or 404 once it is gone or past its TTL."""
    m = messages.c
    async with svc.engine.connect() as conn:
        row = (
            await conn.execute(
                select(m.mime, m.meta, m.expires_us).where(
                    and_(m.domain_id == domain.id, m.storage_key == key)
                )
            )
        ).first()
    if row is None or row.mime is None or row.expires_us < clock.now_us():
        raise NotFound("Message not found")
    return row


@router.get("/v3/domains/{domain}/messages/{key}")
async def stored_message(request: Request, domain: PathDomain, svc: Svc, key: str) -> Response:
    row = await _stored(svc, domain, key)
    accept = request.headers.get("accept", "")
    body = describe(row.mime, row.meta)
    if "message/rfc2822" in accept or "message/rfc822" in accept:
        body["body-mime"] = row.mime.decode("utf-8", "replace")
    return JSONResponse(body)


@router.post("/v3/domains/{domain}/messages/{key}")
async def resend(request: Request, domain: SendingDomain, svc: Svc, key: str) -> Response:
    """Send the stored message again to the form's ``to`` (contract §2.3): the stored MIME
    goes through the ``messages.mime`` path as it is, Message-ID included."""
    fields = await read_form(request, max_bytes=_RESEND_FORM_BYTES)
    recipients = [value for name, value in fields if name == "to" and isinstance(value, str)]
    if not any(r.strip() for r in recipients):
        raise BadRequest("to parameter is missing")
    row = await _stored(svc, domain, key)
    if row.meta.get("batch"):
        # A batch's stored message still holds its %recipient.*% placeholders.
        raise BadRequest("a batch send (recipient-variables) cannot be resent")
    upload = Upload("message.mime", "message/rfc822", row.mime)
    message_id = await send_fields(
        [*(("to", r) for r in recipients), ("message", upload)], domain, svc, mime=True
    )
    return JSONResponse({"id": message_id, "message": "Queued. Thank you."})


#: The resend form holds recipients only.
_RESEND_FORM_BYTES = 1024 * 1024
