"""``GET /v3/domains/{domain}/sending_queues``: the state of a domain's sending queues.

Mailgun disables a domain's regular or scheduled queue when too much piles up in it; tidings
never disables a queue (a backlog waits in the store and the worker works it off), so both
are always enabled, in Mailgun's shape (contract §2.3).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from tidings.api.deps import PathDomain

router = APIRouter()

_ENABLED = {"is_disabled": False, "disabled": {"until": "", "reason": ""}}


@router.get("/v3/domains/{domain}/sending_queues")
async def sending_queues(domain: PathDomain) -> JSONResponse:
    return JSONResponse({"regular": _ENABLED, "scheduled": _ENABLED})
