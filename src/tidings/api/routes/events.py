"""``GET /v3/{domain}/events`` and ``/v3/{domain}/events/{page_token}``."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from tidings.api.deps import PathDomain, Svc
from tidings.api.forms import refuse_nul
from tidings.events.paging import Page
from tidings.events.query import page_from_query, paging_urls, read_page

router = APIRouter()


async def _serve(request: Request, domain: PathDomain, svc: Svc, page: Page) -> Response:
    async with svc.engine.connect() as conn:
        result = await read_page(conn, domain_id=domain.id, page=page)
    base = f"{svc.settings.base_url}/v3/{domain.name}/events"
    paging = orjson.dumps(paging_urls(base, page, result))
    # Stored payloads are already Mailgun's JSON: the page is assembled, not re-serialised.
    body = (
        b'{"items":[' + ",".join(result.payloads).encode("utf-8") + b'],"paging":' + paging + b"}"
    )
    return Response(body, media_type="application/json")


@router.get("/v3/{domain}/events")
async def events_first(request: Request, domain: PathDomain, svc: Svc) -> Response:
    params = request.query_params.multi_items()
    refuse_nul(params)
    page = page_from_query(params)
    return await _serve(request, domain, svc, page)


@router.get("/v3/{domain}/events/{token}")
async def events_page(request: Request, domain: PathDomain, svc: Svc, token: str) -> Response:
    # Clients repeat the original query next to a token (mailgun.js, Ghost): the token wins.
    return await _serve(request, domain, svc, Page.decode(token))
