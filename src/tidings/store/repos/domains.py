"""Domains: create, find, list, update, delete."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core import clock
from tidings.core.vocab import DomainState
from tidings.store.tables import captured, deliveries, domains, events, messages, tags


@dataclass(frozen=True)
class Domain:
    id: int
    name: str
    state: str
    type: str
    created_us: int
    spam_action: str
    wildcard: bool
    web_prefix: str
    web_scheme: str
    require_tls: bool
    skip_verification: bool
    message_ttl: int
    dkim_selector: str
    dkim_private_key: str = field(repr=False)
    dkim_public_key: str = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: RowMapping) -> Domain:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


async def get_by_name(conn: AsyncConnection, *, name: str) -> Domain | None:
    row = (
        (await conn.execute(select(domains).where(domains.c.name == name.lower())))
        .mappings()
        .first()
    )
    return Domain.from_row(row) if row else None


async def get_by_id(conn: AsyncConnection, *, domain_id: int) -> Domain | None:
    row = (await conn.execute(select(domains).where(domains.c.id == domain_id))).mappings().first()
    return Domain.from_row(row) if row else None


async def create(
    conn: AsyncConnection,
    *,
    name: str,
    dkim_selector: str,
    dkim_private_key: str,
    dkim_public_key: str,
    message_ttl: int,
    options: dict[str, Any] | None = None,
) -> Domain:
    values: dict[str, Any] = {
        "name": name.lower(),
        "state": DomainState.UNVERIFIED.value,
        "type": "custom",
        "created_us": clock.now_us(),
        "spam_action": "disabled",
        "wildcard": False,
        "web_prefix": "email",
        "web_scheme": "http",
        "require_tls": False,
        "skip_verification": False,
        "message_ttl": message_ttl,
        "dkim_selector": dkim_selector,
        "dkim_private_key": dkim_private_key,
        "dkim_public_key": dkim_public_key,
        "settings": {},
    }
    values.update(options or {})
    result = await conn.execute(domains.insert().values(**values).returning(domains.c.id))
    values["id"] = result.scalar_one()
    return Domain(**values)


async def list_page(
    conn: AsyncConnection,
    *,
    limit: int,
    skip: int,
    state: DomainState | None,
    search: str | None,
    by_name: bool | None = None,
) -> tuple[int, list[Domain]]:
    """One page of domains, newest first (``by_name``: by name, ``False`` descending), and how
    many match in all (Mailgun's ``total_count``).

    The page is cut by the database (``LIMIT``/``OFFSET``, as the API's ``limit``/``skip``
    ask); ``id`` breaks ties between domains created in the same microsecond.
    """
    where: list[ColumnElement[bool]] = []
    if state is not None:
        where.append(domains.c.state == state.value)
    if search:
        where.append(domains.c.name.contains(search.lower(), autoescape=True))
    total = int(
        (await conn.execute(select(func.count()).select_from(domains).where(*where))).scalar_one()
    )
    if skip >= total:  # past the end: no second query (and no huge OFFSET for the database)
        return total, []
    if by_name is None:
        order = [domains.c.created_us.desc(), domains.c.id.desc()]
    else:
        order = [domains.c.name.asc() if by_name else domains.c.name.desc()]
    q = select(domains).where(*where).order_by(*order).limit(limit).offset(skip)
    rows = (await conn.execute(q)).mappings()
    return total, [Domain.from_row(r) for r in rows]


async def update_fields(conn: AsyncConnection, *, domain_id: int, values: dict[str, Any]) -> None:
    if values:
        await conn.execute(update(domains).where(domains.c.id == domain_id).values(**values))


async def delete_domain(conn: AsyncConnection, *, domain_id: int) -> None:
    """Delete the domain and everything kept for it."""
    for table in (deliveries, messages, events, captured, tags):
        await conn.execute(delete(table).where(table.c.domain_id == domain_id))
    await conn.execute(delete(domains).where(domains.c.id == domain_id))
