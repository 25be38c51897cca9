"""Group commit: batching, durability before release, a bad unit failing alone."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

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


async def test_statements_without_a_plan_still_commit_with_the_batch(db_url: str) -> None:
    """A unit carrying a plain statement is run by SQLAlchemy, not the SQLite writer's fast
    path, and commits together with the rows of the other units of its batch."""
    from sqlalchemy import update

    engine = make_engine(db_url)
    committer = GroupCommitter(engine)
    await committer.start()
    try:
        first = WriteUnit()
        first.insert(tags, _tag(1))
        await committer.submit(first)
        rows, stmt = WriteUnit(), WriteUnit()
        rows.insert(tags, _tag(2))
        stmt.statements.append(update(tags).where(tags.c.tag == "t1").values(description="changed"))
        await asyncio.gather(committer.submit(rows), committer.submit(stmt))
        async with engine.connect() as conn:
            got = dict((await conn.execute(select(tags.c.tag, tags.c.description))).all())
        assert got == {"t1": "changed", "t2": ""}
    finally:
        await committer.stop()
        await engine.dispose()


async def test_sqlite_checkpoints_in_the_background(tmp_path: Path, sqlite_template: Path) -> None:
    """On SQLite the batch goes to the writer thread, and the WAL reaches the database file
    through the background checkpoint, not through a commit crossing SQLite's own threshold
    (which is set far above what this test writes)."""
    from tidings.store.engine import WAL_AUTOCHECKPOINT_PAGES
    from tidings.store.sqlite_writer import CHECKPOINT_EVERY
    from tidings.store.tables import messages

    path = tmp_path / "ckpt.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    committer = GroupCommitter(engine)
    writer = committer._sqlite
    assert writer is not None
    await committer.start()
    body = bytes(range(256)) * 80  # 20 KB that does not compress away
    size_before = path.stat().st_size
    try:
        for i in range(41):
            if i == 40:  # the burst was within one checkpoint interval: one more commit later
                await asyncio.sleep(CHECKPOINT_EVERY + 0.05)
            unit = WriteUnit()
            unit.insert(
                messages,
                {
                    "domain_id": 1,
                    "storage_key": f"k{i}",
                    "message_id": f"m{i}@example.org",
                    "created_us": i,
                    "expires_us": i,
                    "size": len(body),
                    "mime": body,
                    "meta": {"i": i},
                },
            )
            await committer.submit(unit)
        assert 40 * len(body) < WAL_AUTOCHECKPOINT_PAGES * 16384
        for _ in range(100):
            if writer.checkpoints and path.stat().st_size >= size_before + 40 * len(body):
                break
            await asyncio.sleep(0.05)
        assert writer.checkpoints >= 1
        assert path.stat().st_size >= size_before + 40 * len(body)
        async with engine.connect() as conn:
            stored = (
                (await conn.execute(select(messages.c.mime).order_by(messages.c.created_us)))
                .scalars()
                .all()
            )
        assert stored == [body] * 41
    finally:
        await committer.stop()
        await engine.dispose()


async def test_inserts_and_updates_in_one_batch(db_url: str) -> None:
    """Batches of inserts and shared updates (what sends and the delivery worker write) go
    to SQLite's writer thread in one hand-over and to PostgreSQL as one statement, with the
    engine's result: types kept, fixed values applied, each update hitting only its row."""
    from sqlalchemy import and_, bindparam, update

    from tidings.store.tables import deliveries

    d = deliveries.c
    one = and_(d.domain_id == bindparam("k_domain"), d.id == bindparam("k_id"))
    mark = update(deliveries).where(one).values(state="delivered")
    delay = update(deliveries).where(one).values(due_us=bindparam("k_due"), lease_until_us=0)
    meta = {"headers": {"subject": "Grüße"}, "n": [1, 2.5, None], "ok": True}
    engine = make_engine(db_url)
    committer = GroupCommitter(engine)
    await committer.start()
    try:
        units = []
        for i in range(6):
            u = WriteUnit()
            u.insert(
                deliveries,
                {
                    "domain_id": 3,
                    "id": f"d{i}",
                    "storage_key": f"k{i}",
                    "recipient": f"r{i}@example.org",
                    "state": "queued",
                    "attempts": 0,
                    "due_us": i,
                    "lease_until_us": 99,
                    "created_us": i,
                    "meta": meta,
                },
            )
            u.insert(tags, _tag(i))
            units.append(u)
        await asyncio.gather(*(committer.submit(u) for u in units))
        later = WriteUnit()
        later.many += [
            (mark, {"k_domain": 3, "k_id": "d1"}),
            (mark, {"k_domain": 3, "k_id": "d4"}),
            (delay, {"k_domain": 3, "k_id": "d2", "k_due": 5_000}),
        ]
        later.insert(tags, _tag(100))
        await committer.submit(later)
        assert committer.fast_batches == committer.batches >= 2
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(d.id, d.state, d.due_us, d.lease_until_us, d.meta))
            ).all()
            n_tags = (await conn.execute(select(func.count()).select_from(tags))).scalar_one()
        got = {r.id: (r.state, r.due_us, r.lease_until_us) for r in rows}
        assert got == {
            "d0": ("queued", 0, 99),
            "d1": ("delivered", 1, 99),
            "d2": ("queued", 5_000, 0),
            "d3": ("queued", 3, 99),
            "d4": ("delivered", 4, 99),
            "d5": ("queued", 5, 99),
        }
        assert all(r.meta == meta for r in rows)
        assert n_tags == 7
    finally:
        await committer.stop()
        await engine.dispose()


async def test_a_full_queue_is_committed_by_its_submitter(db_url: str) -> None:
    """Under load on PostgreSQL the submitter that finds ``LEAD_AT`` units waiting commits them
    itself, with at most ``MAX_IN_FLIGHT`` batches at once; SQLite leaves every batch to the
    writer task, one at a time. Every unit commits exactly once."""
    from tidings.store.committer import LEAD_AT, MAX_IN_FLIGHT

    engine = make_engine(db_url)
    committer = GroupCommitter(engine)
    await committer.start()
    try:
        units = []
        for i in range(4 * LEAD_AT):
            u = WriteUnit()
            u.insert(tags, _tag(i))
            units.append(u)
        await asyncio.gather(*(committer.submit(u) for u in units))
        if engine.dialect.name == "postgresql":
            assert committer.led_batches >= 1
            assert 1 <= committer.peak_in_flight <= MAX_IN_FLIGHT
        else:
            assert committer.led_batches == 0
            assert committer.peak_in_flight == 1
        assert committer.units == len(units)
        async with engine.connect() as conn:
            n = (await conn.execute(select(func.count()).select_from(tags))).scalar_one()
        assert n == len(units)
    finally:
        await committer.stop()
        await engine.dispose()
