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


async def test_driver_batches_keep_types_fixed_values_and_defaults(db_url: str) -> None:
    """Rows reach the driver as tuples: JSON and binary columns still round-trip, a value
    the statement fixes is applied, and rows that leave a defaulted column out still insert."""
    from sqlalchemy import and_, bindparam, update

    from tidings.store.tables import deliveries, events

    engine = make_engine(db_url)
    committer = GroupCommitter(engine)
    await committer.start()
    d = deliveries.c
    mark = (
        update(deliveries)
        .where(and_(d.domain_id == bindparam("k_domain"), d.id == bindparam("k_id")))
        .values(state="delivered")
    )
    meta = {"headers": {"subject": "Grüße"}, "n": [1, 2.5, None], "ok": True}

    def delivery(i: int) -> dict[str, object]:
        return {
            "domain_id": 9,
            "id": f"d{i}",
            "storage_key": "k",
            "recipient": f"r{i}@example.org",
            "state": "queued",
            "attempts": 0,
            "due_us": i,
            "lease_until_us": 0,
            "created_us": i,
            "meta": meta,
        }

    try:
        first = WriteUnit()
        first.insert(deliveries, *(delivery(i) for i in range(3)))
        # ``tags`` left out: its column default ("") applies
        first.insert(
            events, {"domain_id": 9, "ts_us": 1, "id": "e1", "event": "x", "payload": "{}"}
        )
        await committer.submit(first)
        second = WriteUnit()
        second.many += [
            (mark, {"k_domain": 9, "k_id": "d0"}),
            (mark, {"k_domain": 9, "k_id": "d2"}),
        ]
        await committer.submit(second)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(d.id, d.state, d.meta).order_by(d.id))).all()
            tags_col = (await conn.execute(select(events.c.tags))).scalar_one()
        assert [(r.id, r.state) for r in rows] == [
            ("d0", "delivered"),
            ("d1", "queued"),
            ("d2", "delivered"),
        ]
        assert all(r.meta == meta for r in rows)
        assert tags_col == ""
    finally:
        await committer.stop()
        await engine.dispose()
