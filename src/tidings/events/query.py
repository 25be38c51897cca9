"""Events API semantics: the range and direction a request means, and reading one page.

Ranges (contract §3.4): ``begin`` is where a page walk starts (inclusive) and ``end`` where it
stops (exclusive), in either direction. ``begin`` without ``end`` needs ``ascending``
(contract §3.2). Without ``end`` an ascending walk is open: its last ``next`` keeps returning
events that arrive later. Pages are read with an index range scan on
(domain, time, id) from a cursor, never with an offset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.errors import BadRequest
from tidings.events.filters import FILTER_FIELDS, condition, parse_time
from tidings.events.paging import Page
from tidings.store.tables import events

MAX_LIMIT = 300
DEFAULT_LIMIT = 100
_YES = {"yes", "true", "1"}
_NO = {"no", "false", "0"}


def _bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise BadRequest(f"'{name}' parameter must be 'yes' or 'no', got {value!r}")


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"'limit' parameter must be an integer, got {value!r}") from None
    if not 1 <= n <= MAX_LIMIT:
        raise BadRequest(f"'limit' parameter must be between 1 and {MAX_LIMIT}")
    return n


def page_from_query(params: Sequence[tuple[str, str]]) -> Page:
    """The first page a query string asks for (validating every filter)."""
    single: dict[str, str] = {}
    filters: list[tuple[str, str]] = []
    for k, v in params:
        if k in FILTER_FIELDS:
            if v.strip():
                condition(k, v)  # validate now, so a bad expression is a 400 on this request
                filters.append((k, v))
        else:
            single.setdefault(k, v)
    begin = parse_time(single["begin"], "begin") if single.get("begin") else None
    end = parse_time(single["end"], "end") if single.get("end") else None
    asc_param = _bool("ascending", single["ascending"]) if single.get("ascending") else None
    if begin is not None and end is not None:
        ascending = end >= begin
        if asc_param is not None and asc_param != ascending:
            raise BadRequest(
                "'ascending' contradicts the range: with 'end' "
                + ("after" if ascending else "before")
                + " 'begin' the order is "
                + ("ascending" if ascending else "descending")
            )
    elif begin is not None and asc_param is None:
        raise BadRequest(
            "'ascending' parameter is required when 'begin' is given without 'end':"
            " 'yes' reads forward from 'begin', 'no' back from it"
        )
    else:
        ascending = bool(asc_param)
    return Page(
        ascending=ascending,
        start=round(begin * 1_000_000) if begin is not None else None,
        stop=round(end * 1_000_000) if end is not None else None,
        limit=_limit(single.get("limit")),
        filters=tuple(sorted(filters)),
    )


@dataclass(frozen=True)
class Result:
    payloads: list[str]
    first: tuple[int, str] | None
    last: tuple[int, str] | None


async def read_page(conn: AsyncConnection, *, domain_id: int, page: Page) -> Result:
    c = events.c
    conds: list[ColumnElement[bool]] = [c.domain_id == domain_id]
    if page.ascending:
        if page.start is not None:
            conds.append(c.ts_us >= page.start)
        if page.stop is not None:
            conds.append(c.ts_us < page.stop)
    else:
        if page.start is not None:
            conds.append(c.ts_us <= page.start)
        if page.stop is not None:
            conds.append(c.ts_us > page.stop)
    scan_asc = page.ascending != page.backward
    if page.cursor is not None:
        pos = tuple_(c.ts_us, c.id)
        cur = tuple_(*page.cursor)
        if scan_asc:
            conds.append(pos >= cur if page.inclusive else pos > cur)
        else:
            conds.append(pos <= cur if page.inclusive else pos < cur)
    for name, expr in page.filters:
        conds.append(condition(name, expr))
    order = (c.ts_us.asc(), c.id.asc()) if scan_asc else (c.ts_us.desc(), c.id.desc())
    stmt = select(c.ts_us, c.id, c.payload).where(and_(*conds)).order_by(*order).limit(page.limit)
    rows = list((await conn.execute(stmt)).all())
    if page.backward:
        rows.reverse()
    if not rows:
        return Result([], None, None)
    return Result(
        [r.payload for r in rows], (rows[0].ts_us, rows[0].id), (rows[-1].ts_us, rows[-1].id)
    )


def paging_urls(base: str, page: Page, result: Result) -> Mapping[str, str]:
    """Absolute ``first/last/next/previous`` URLs; the token is the last path segment."""
    return {
        "first": f"{base}/{page.first().encode()}",
        "last": f"{base}/{page.last().encode()}",
        "next": f"{base}/{page.following(result.last).encode()}",
        "previous": f"{base}/{page.preceding(result.first).encode()}",
    }
