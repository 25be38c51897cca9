"""The worker's queries reach their rows through an index on SQLite, whatever the backlog.

SQLite matches a row-value ``IN`` by its first column only (``domain_id``), which turned each
lease and each body prefetch into a walk over every delivery or message of the domain: a
20,000-message backlog drained at a third of the speed. These plans must stay index searches.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg
from sqlalchemy import and_, delete, select
from sqlalchemy.dialects import sqlite as sqlite_dialect

from tidings.delivery.worker import bodies_query
from tidings.queue.lease import lease_statement
from tidings.store.migrations import migrate
from tidings.store.tables import deliveries


def _plan(db: Path, stmt: object) -> list[str]:
    sql = str(
        stmt.compile(  # type: ignore[attr-defined]
            dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    with sqlite3.connect(db) as conn:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]


def test_lease_and_prefetch_search_indexes(tmp_path: Path) -> None:
    db = tmp_path / "plans.db"
    migrate(f"sqlite+aiosqlite:///{db}")
    lease = _plan(db, lease_statement("sqlite", now_us=10, lease_us=5, limit=64))
    assert any("INTEGER PRIMARY KEY (rowid=?)" in step for step in lease), lease
    assert any("ix_deliveries_due" in step for step in lease), lease
    assert not any(step.startswith("SCAN") for step in lease), lease
    bodies = _plan(db, bodies_query(1, ["a", "b", "c"]))
    assert bodies and all(step.startswith("SEARCH") for step in bodies), bodies
    d = deliveries.c
    mine = and_(d.domain_id == 1, d.storage_key == "k")
    for stmt in (
        select(d.id).where(mine, d.state == "queued").limit(1),
        delete(deliveries).where(mine),
    ):
        steps = _plan(db, stmt)
        assert any("ix_deliveries_message" in step for step in steps), steps


class _Rollback(Exception):
    pass


def test_postgresql_lease_updates_the_locked_rows_by_address(pg_database: str) -> None:
    """The rows locked by ``SKIP LOCKED`` are updated through a TID scan: with
    ``(domain_id, id) IN (subquery)`` PostgreSQL hashed the subquery and scanned every
    delivery on each lease."""
    from sqlalchemy.dialects import postgresql

    stmt = lease_statement("postgresql", now_us=10, lease_us=5, limit=64)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    async def plan() -> str:
        conn = await asyncpg.connect(pg_database.replace("postgresql+asyncpg", "postgresql"))
        try:
            # A backlog for the planner to weigh, rolled back afterwards.
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO deliveries (domain_id, id, storage_key, recipient, state,"
                    " attempts, due_us, lease_until_us, created_us, meta)"
                    " SELECT 1, 'plan' || g, 'k' || g, 'r@example.com', 'queued', 0, g, 0, g, '{}'"
                    " FROM generate_series(1, 5000) AS g"
                )
                await conn.execute("ANALYZE deliveries")
                rows = await conn.fetch("EXPLAIN " + sql)
                raise _Rollback
        except _Rollback:
            pass
        finally:
            await conn.close()
        return "\n".join(r[0] for r in rows)

    text = asyncio.run(plan())
    assert "SKIP LOCKED" in sql.upper(), sql
    # The inner scan that picks the due rows is aliased (deliveries_1); the update's own is not.
    assert "Tid Scan on deliveries  (" in text, text
    assert "Seq Scan on deliveries  (" not in text, text
