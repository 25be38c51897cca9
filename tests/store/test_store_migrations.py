"""Data migrations on SQLite and PostgreSQL: 0004 lower-cases the events' Message-ID column."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN, _pg_admin
from tidings.store.engine import make_engine
from tidings.store.migrations import migrate
from tidings.store.tables import events


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database no migration has run on yet (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    name = f"tidings_migration_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    host = PG_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
    try:
        yield f"postgresql+asyncpg://{host}/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _row(n: int, message_id: str | None) -> dict[str, object]:
    return {
        "domain_id": 1 + n % 2,
        "ts_us": 1_700_000_000_000_000 + n // 3,
        "id": f"e{n:04d}",
        "event": "accepted",
        "message_id": message_id,
        "tags": "",
        "payload": "{}",
    }


async def test_0004_lower_cases_message_ids(empty_url: str) -> None:
    migrate(empty_url, "0003")
    given = [
        "20260101000000.0123456789abcdef@example.test",  # generated ids are lower case
        "ABC.Def@Example.TEST",
        None,
        "ÜBER.Straße@Example.Test",  # SQLite's lower() folds ASCII only
        "été@example.test",
        "ÜÉ@example.test",  # no ASCII capital: only the non-ASCII check finds it
        "MiXeD-<>%_@X",
    ]
    # enough rows for several batches of the migration, most of them already lower case
    rows = [_row(n, given[n] if n < len(given) else f"id{n}@Example.Test") for n in range(2500)]
    engine = make_engine(empty_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(events.insert(), rows)
        migrate(empty_url)
        async with engine.connect() as conn:
            got = dict((await conn.execute(sa.select(events.c.id, events.c.message_id))).all())
    finally:
        await engine.dispose()
    want = {
        str(r["id"]): (r["message_id"].lower() if isinstance(r["message_id"], str) else None)
        for r in rows
    }
    assert got == want
