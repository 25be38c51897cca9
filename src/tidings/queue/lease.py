"""Claiming due jobs so that no two workers take the same one.

PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets many worker processes lease side by side. SQLite has
one writer at a time, so one UPDATE ... RETURNING is atomic there without it; the rows it
updates are named by ``rowid``, because SQLite matches ``(domain_id, id) IN (subquery)`` by
``domain_id`` alone and would walk every delivery of the domain on each lease.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Update

from tidings.core.vocab import DeliveryState
from tidings.store.tables import deliveries


def lease_statement(dialect: str, *, now_us: int, lease_us: int, limit: int) -> Update:
    """The UPDATE ... RETURNING that claims up to ``limit`` due deliveries for ``dialect``."""
    d = deliveries.c
    due = (
        select(d.domain_id, d.id)
        .where(
            and_(
                d.state == DeliveryState.QUEUED.value,
                d.due_us <= now_us,
                d.lease_until_us <= now_us,
            )
        )
        .order_by(d.due_us)
        .limit(limit)
    )
    if dialect == "postgresql":
        claimed = tuple_(d.domain_id, d.id).in_(due.with_for_update(skip_locked=True))
    else:
        rowid: ColumnElement[int] = literal_column("rowid")
        claimed = rowid.in_(due.with_only_columns(rowid))
    return (
        update(deliveries)
        .where(claimed)
        .values(lease_until_us=now_us + lease_us, attempts=d.attempts + 1)
        .returning(*deliveries.c)
    )


async def lease_deliveries(
    engine: AsyncEngine, *, now_us: int, lease_us: int, limit: int
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` due deliveries until ``now_us + lease_us``; returns their rows."""
    stmt = lease_statement(engine.dialect.name, now_us=now_us, lease_us=lease_us, limit=limit)
    async with engine.begin() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return [dict(r) for r in rows]
