"""The capture inbox (our extension): ``GET /v3/{domain}/capture`` and ``.../capture/{id}``.

Newest first, paged like the Events API with absolute URLs. Each item: ``id``,
``message-id`` (no angle brackets), ``recipient``, ``subject``, ``received-at`` (epoch float).
"""

from __future__ import annotations

import base64
import binascii

import orjson
from fastapi import APIRouter, Request
from sqlalchemy import ColumnElement, and_, func, select, tuple_
from starlette.responses import JSONResponse, Response

from tidings.api.deps import PathDomain, Svc
from tidings.api.forms import parse_count, refuse_nul
from tidings.core import ids
from tidings.errors import BadRequest, NotFound
from tidings.events.paging import parse_cursor
from tidings.store.tables import captured

router = APIRouter()


def _token(q: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(q)).rstrip(b"=").decode("ascii")


def _untoken(token: str) -> dict[str, object]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise BadRequest(f"Invalid page token: {token[:64]!r}") from None
    if not isinstance(data, dict) or any(isinstance(v, str) and "\x00" in v for v in data.values()):
        raise BadRequest(f"Invalid page token: {token[:64]!r}")
    return data


def _query(request: Request) -> dict[str, object]:
    p = request.query_params
    refuse_nul(p.multi_items())
    limit = parse_count(p.get("limit") or "100")
    if limit is None or not 1 <= limit <= 300:
        raise BadRequest("'limit' parameter must be an integer between 1 and 300")
    q: dict[str, object] = {"l": limit, "c": None, "b": False}
    if p.get("recipient"):
        q["r"] = p["recipient"].strip().lower()
    if p.get("message-id"):
        q["m"] = ids.strip_brackets(p["message-id"])
    return q


async def _page(request: Request, domain: PathDomain, svc: Svc, q: dict[str, object]) -> Response:
    c = captured.c
    limit = q.get("l")
    backward, inclusive = q.get("b", False), q.get("i", False)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 300:
        raise BadRequest("Invalid page token: bad limit")
    if not isinstance(backward, bool) or not isinstance(inclusive, bool):
        raise BadRequest("Invalid page token: bad direction")
    try:
        cursor = None if q.get("c") is None else parse_cursor(q["c"])
    except ValueError:
        raise BadRequest("Invalid page token: bad cursor") from None
    conds: list[ColumnElement[bool]] = [c.domain_id == domain.id]
    if isinstance(q.get("r"), str):
        conds.append(func.lower(c.recipient) == q["r"])  # stored as the sender wrote it
    if isinstance(mid := q.get("m"), str):
        conds.append(func.lower(c.message_id) == mid.lower())
    if cursor is not None:
        pos, cur = tuple_(c.received_us, c.id), tuple_(*cursor)
        if backward:
            conds.append(pos >= cur if inclusive else pos > cur)
        else:
            conds.append(pos <= cur if inclusive else pos < cur)
    order = (c.received_us.asc(), c.id.asc()) if backward else (c.received_us.desc(), c.id.desc())
    stmt = (
        select(c.id, c.message_id, c.recipient, c.subject, c.received_us)
        .where(and_(*conds))
        .order_by(*order)
        .limit(limit)
    )
    async with svc.engine.connect() as conn:
        rows = list((await conn.execute(stmt)).all())
    if backward:
        rows.reverse()
    items = [
        {
            "id": r.id,
            "message-id": r.message_id,
            "recipient": r.recipient,
            "subject": r.subject,
            "received-at": r.received_us / 1_000_000,
        }
        for r in rows
    ]
    base = f"{svc.settings.base_url}/v3/{domain.name}/capture/page"
    plain = {k: v for k, v in q.items() if k != "i"}
    if rows:
        next_q = {**plain, "c": [rows[-1].received_us, rows[-1].id], "b": False}
        prev_q = {**plain, "c": [rows[0].received_us, rows[0].id], "b": True}
    else:
        # An empty page keeps its place: the link that goes on the way it read repeats it
        # (a poller sees what arrives later), the one that turns round includes the cursor's
        # own message, which this read passed over; no walk skips one.
        here = None if cursor is None else list(cursor)
        again = {**q, "c": here}
        turn = {**plain, "c": here, "b": not backward, **({"i": True} if here else {})}
        next_q, prev_q = (turn, again) if backward else (again, turn)
    paging = {
        "first": f"{base}/{_token({**plain, 'c': None, 'b': False})}",
        "last": f"{base}/{_token({**plain, 'c': None, 'b': True})}",
        "next": f"{base}/{_token(next_q)}",
        "previous": f"{base}/{_token(prev_q)}",
    }
    return JSONResponse({"items": items, "paging": paging})


@router.get("/v3/{domain}/capture")
async def capture_list(request: Request, domain: PathDomain, svc: Svc) -> Response:
    return await _page(request, domain, svc, _query(request))


@router.get("/v3/{domain}/capture/page/{token}")
async def capture_page(request: Request, domain: PathDomain, svc: Svc, token: str) -> Response:
    return await _page(request, domain, svc, _untoken(token))


@router.get("/v3/{domain}/capture/{capture_id}")
async def capture_raw(domain: PathDomain, svc: Svc, capture_id: str) -> Response:
    c = captured.c
    async with svc.engine.connect() as conn:
        mime = (
            await conn.execute(
                select(c.mime).where(and_(c.domain_id == domain.id, c.id == capture_id))
            )
        ).scalar_one_or_none()
    if mime is None:
        raise NotFound(f"Captured message not found: {capture_id}")
    return Response(mime, media_type="message/rfc822")
