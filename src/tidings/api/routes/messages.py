"""``POST /v3/{domain}/messages`` and ``/messages.mime``: the hot path.

Sends are served by :class:`SendPath`, a small ASGI layer in front of the FastAPI app, so the
busiest endpoint skips FastAPI's routing and dependency resolution (a third of a send's CPU
time). It authenticates and resolves the domain with the same functions the dependencies use,
and turns errors into responses through ``api.errors``, so answers are identical.
"""

from __future__ import annotations

import logging
import re

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tidings.api import errors
from tidings.api.deps import Services, domain_for, secret_of
from tidings.api.forms import Fields, read_form
from tidings.compose.mime import compose, compose_mime
from tidings.compose.options import parse_send_form
from tidings.core import clock, ids
from tidings.core.vocab import Method
from tidings.errors import TidingsError, Unauthorized
from tidings.queue.submit import submit
from tidings.store.repos.domains import Domain

log = logging.getLogger("tidings.api")

_SEND = re.compile(r"^/v3/([^/]+)/messages(\.mime)?/?$")


async def send(request: Request, domain_name: str, svc: Services, *, mime: bool) -> str:
    """Accept one send; the id to answer with (``<message-id>``), once it is stored."""
    key = await svc.authenticate(secret_of(request))
    if key is None:
        raise Unauthorized("unknown key")
    domain = await domain_for(domain_name, svc, key, sending=True)
    fields = await read_form(request, max_bytes=svc.settings.max_message_bytes)
    return await send_fields(fields, domain, svc, mime=mime)


async def send_fields(fields: Fields, domain: Domain, svc: Services, *, mime: bool) -> str:
    """Compose and store one send from its form ``fields``; the id to answer with."""
    s = svc.settings
    now = clock.now()
    req = parse_send_form(
        fields,
        mime=mime,
        max_recipients=s.max_recipients,
        max_message_bytes=s.max_message_bytes,
        max_schedule_days=s.max_schedule_days,
        now=now,
    )
    # The limit holds for the message as sent (Mailgun's "maximum message size"): encoded
    # bodies and attachments, and the headers we add to an uploaded message, included.
    build = compose_mime if mime else compose
    composed = build(req, domain=domain.name, now=now, max_message_bytes=s.max_message_bytes)
    await submit(
        composed,
        domain=domain,
        method=Method.HTTP,
        base_url=s.base_url,
        recorder=svc.recorder,
        tagbook=svc.tagbook,
        on_commit=svc.on_submit,
    )
    return ids.bracket(composed.message_id)


async def queued(send_: Send, message_id: str) -> None:
    """Mailgun's answer to an accepted send, written straight to the server (what
    ``JSONResponse`` would send, without building a response object per request)."""
    body = orjson.dumps({"id": message_id, "message": "Queued. Thank you."})
    await send_(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send_({"type": "http.response.body", "body": body})


class SendPath:
    """Serves sends itself and hands every other request to ``app``; counts the HTTP requests
    in flight (``Services.load``) for the delivery worker to pace itself by."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send_: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send_)
            return
        if "\x00" in scope["path"]:
            # No name or id of ours holds NUL, and PostgreSQL text cannot be compared with it.
            await JSONResponse({"message": "Not Found"}, status_code=404)(scope, receive, send_)
            return
        load = self.services.load
        load.in_flight += 1
        try:
            if scope["method"] == "POST":
                match = _SEND.match(scope["path"])
                if match is not None:
                    await self._send(scope, receive, send_, match)
                    return
            await self.app(scope, receive, send_)
        except Exception as exc:
            if not getattr(exc, errors.ANSWERED, False):
                raise
        finally:
            load.in_flight -= 1

    async def _send(
        self, scope: Scope, receive: Receive, send_: Send, match: re.Match[str]
    ) -> None:
        request = Request(scope, receive)
        try:
            message_id = await send(
                request, match.group(1), self.services, mime=bool(match.group(2))
            )
        except TidingsError as exc:
            response: Response = errors.error_response(request, exc)
        except ClientDisconnect:
            errors.client_gone(request)
            return  # nobody to answer; nothing was stored
        except Exception:
            log.exception("500 POST %s", scope["path"])
            response = JSONResponse({"message": "Internal Server Error"}, status_code=500)
        else:
            await queued(send_, message_id)
            return
        await response(scope, receive, send_)
