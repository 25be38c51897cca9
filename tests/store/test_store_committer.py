"""Group commit: batching, durability before release, a bad unit failing alone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tidings.store.committer import GroupCommitter, WriteUnit
from tidings.store.engine import make_engine
from tidings.store.tables import tags


def _tag(i: int) -> dict[str, object]:
    return {
        "domain_id": 1,
        "tag": f"t{i}",
        "description": "",
        "first_seen_us": i,
        "last_seen_us": i,
    }


async def test_batches_and_isolates_failures(db_url: str) -> None:
    engine = make_engine(db_url)
    committer = GroupCommitter(engine, max_units=50)
    await committer.start()
    try:
        units = []
        for i in range(200):
            u = WriteUnit()
            u.insert(tags, _tag(i))
            units.append(u)
        dup = WriteUnit()
        dup.insert(tags, _tag(7))  # collides with unit 7
        results = await asyncio.gather(
            *(committer.submit(u) for u in [*units, dup]), return_exceptions=True
        )
        assert all(r is None for r in results[:200])
        assert isinstance(results[200], IntegrityError)
        assert committer.batches < 200  # units shared transactions
        async with engine.connect() as conn:
            n = (await conn.execute(select(func.count()).select_from(tags))).scalar_one()
        assert n == 200
    finally:
        await committer.stop()
        await engine.dispose()


async def test_submit_requires_running_committer(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with pytest.raises(RuntimeError):
            await GroupCommitter(engine).submit(WriteUnit())
    finally:
        await engine.dispose()
