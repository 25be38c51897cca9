"""Claiming due jobs so that no two workers take the same one.

PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets many worker processes lease side by side. SQLite has
one writer at a time, so the same UPDATE ... RETURNING is atomic there without it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tidings.core.vocab import DeliveryState
from tidings.store.tables import deliveries


async def lease_deliveries(
    engine: AsyncEngine, *, now_us: int, lease_us: int, limit: int
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` due deliveries until ``now_us + lease_us``; returns their rows."""
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
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    stmt = (
        update(deliveries)
        .where(tuple_(d.domain_id, d.id).in_(due))
        .values(lease_until_us=now_us + lease_us, attempts=d.attempts + 1)
        .returning(*deliveries.c)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(stmt)).mappings().all()
    return [dict(r) for r in rows]
