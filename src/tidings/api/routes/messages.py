"""``POST /v3/{domain}/messages`` and ``/messages.mime``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tidings.api.deps import SendingDomain, Svc
from tidings.api.forms import read_form
from tidings.compose.mime import compose, compose_mime
from tidings.compose.options import parse_send_form
from tidings.core import clock, ids
from tidings.core.vocab import Method
from tidings.queue.submit import submit

router = APIRouter()


async def _send(request: Request, domain: SendingDomain, svc: Svc, *, mime: bool) -> JSONResponse:
    s = svc.settings
    fields = await read_form(request, max_bytes=s.max_message_bytes)
    now = clock.now()
    req = parse_send_form(
        fields,
        mime=mime,
        max_recipients=s.max_recipients,
        max_message_bytes=s.max_message_bytes,
        max_schedule_days=s.max_schedule_days,
        now=now,
    )
    build = compose_mime if mime else compose
    composed = build(req, domain=domain.name, now=now)
    await submit(
        composed,
        domain=domain,
        method=Method.HTTP,
        base_url=s.base_url,
        recorder=svc.recorder,
        on_commit=svc.on_submit,
    )
    return JSONResponse({"id": ids.bracket(composed.message_id), "message": "Queued. Thank you."})


@router.post("/v3/{domain}/messages")
async def send_message(request: Request, domain: SendingDomain, svc: Svc) -> JSONResponse:
    return await _send(request, domain, svc, mime=False)


@router.post("/v3/{domain}/messages.mime")
async def send_mime(request: Request, domain: SendingDomain, svc: Svc) -> JSONResponse:
    return await _send(request, domain, svc, mime=True)
