"""Stored messages at their ``storage.url``: ``GET /v3/domains/{domain}/messages/{key}``."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import and_, select
from starlette.responses import JSONResponse, Response

from tidings.api.deps import PathDomain, Svc
from tidings.core import clock
from tidings.errors import NotFound
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


def _key(name: str) -> str:
    """Mailgun's spelling of a header name as a JSON key: ``Message-Id``, ``Mime-Version``."""
    return "-".join(word.capitalize() for word in name.split("-"))


def describe(mime: bytes, meta: dict[str, Any]) -> dict[str, Any]:
    """Mailgun's stored-message JSON."""
    msg = BytesParser(policy=policy.default).parsebytes(mime)
    assert isinstance(msg, EmailMessage)
    headers = [[k, str(v)] for k, v in msg.items()]
    out: dict[str, Any] = {_key(k): str(v) for k, v in msg.items() if k.lower() != "x-mailgun-tag"}
    out.update(
        {
            "X-Mailgun-Tag": ", ".join(meta.get("tags", [])),
            "sender": meta.get("envelope-sender", ""),
            "recipients": ", ".join(meta.get("recipients", [])),
            "body-html": _body(msg, "html"),
            "body-plain": _body(msg, "plain"),
            "stripped-html": _body(msg, "html"),
            "stripped-text": _body(msg, "plain"),
            "stripped-signature": "",
            "message-headers": headers,
            "attachments": meta.get("attachments", []),
        }
    )
    return out


@router.get("/v3/domains/{domain}/messages/{key}")
async def stored_message(request: Request, domain: PathDomain, svc: Svc, key: str) -> Response:
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
    accept = request.headers.get("accept", "")
    body = describe(row.mime, row.meta)
    if "message/rfc2822" in accept or "message/rfc822" in accept:
        body["body-mime"] = row.mime.decode("utf-8", "replace")
    return JSONResponse(body)
