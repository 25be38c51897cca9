"""Group commit: many callers' writes committed together in shared transactions.

A caller hands a :class:`WriteUnit` (rows to insert, statements to run) to
:meth:`GroupCommitter.submit` and is released only when the transaction holding its unit has
committed, so nothing is acknowledged before it is durable. A batch is whatever units are
waiting (up to ``max_units``): their rows go table by table with one executemany per table,
in one transaction, and all its callers are released together. Under load this gives close
to the throughput of batched inserts; when idle a unit waits for nothing but its own commit.

Who commits: a writer task takes what waits; but under load it runs only once the event loop
has gone through every request it had queued, so PostgreSQL sat idle while the loop parsed,
then the loop while PostgreSQL worked on the batch (as much CPU per send as our side). So on
PostgreSQL a submitter that finds ``LEAD_AT`` units waiting (its own included) commits them
itself, at once, while the loop goes on with the other requests; at most ``MAX_IN_FLIGHT``
batches commit at a time. With the one-statement batch below, PostgreSQL served 36-40% more
sends per second, with one server process or two (each alone gave nothing measurable: a
batch of several round trips led by a request still waited for the loop at each one). SQLite
keeps the writer task alone (see ``__init__``).

How: on SQLite a batch goes to :class:`~tidings.store.sqlite_writer.SQLiteWriter` as SQL and
parameter tuples in one hand-over; on PostgreSQL it is one statement, one round trip
(:mod:`~tidings.store.pg_batch`). A batch holding a plain statement, a statement with no
compiled plan or a PostgreSQL upsert goes through the async engine.

If a batch fails, its units are retried one by one, so a bad unit fails alone and the others
are kept. ``after`` callbacks run after the commit (listeners: webhooks, worker wake-ups).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from tidings.store import pg_batch
from tidings.store.plans import Group, driver_work, plan_for
from tidings.store.sqlite_writer import SQLiteWriter

log = logging.getLogger(__name__)

#: Units waiting (the submitter's included) at which a submitter commits them itself.
LEAD_AT = 16
#: Batches committing at once in one process.
MAX_IN_FLIGHT = 2


@dataclass
class WriteUnit:
    """Writes that must commit together (all or nothing)."""

    inserts: list[tuple[Table, list[dict[str, Any]]]] = field(default_factory=list)
    statements: list[Executable] = field(default_factory=list)
    many: list[tuple[Executable, dict[str, Any]]] = field(default_factory=list)
    """Parameterised statements (one shared statement object, one parameter set each):
    the writer runs each statement once per batch as an executemany."""
    after: list[Callable[[], None]] = field(default_factory=list)

    def insert(self, table: Table, *rows: dict[str, Any]) -> None:
        for t, existing in self.inserts:
            if t is table:
                existing.extend(rows)
                return
        self.inserts.append((table, list(rows)))

    def merge(self, other: WriteUnit) -> None:
        """Take ``other``'s writes into this unit."""
        for table, rows in other.inserts:
            self.insert(table, *rows)
        self.statements.extend(other.statements)
        self.many.extend(other.many)
        self.after.extend(other.after)


class GroupCommitter:
    def __init__(self, engine: AsyncEngine, *, max_units: int = 500, window_ms: float = 0.0):
        self.engine = engine
        self.max_units = max_units
        self.window = window_ms / 1000.0
        self._queue: asyncio.Queue[tuple[WriteUnit, asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.units = 0
        self.fast_batches = 0
        """Batches committed in one hand-over or one statement (see ``_commit_fast``)."""
        self.led_batches = 0
        """Batches committed by the submitter that filled them (see ``LEAD_AT``)."""
        self.peak_in_flight = 0
        """The most batches seen committing at once."""
        self._inflight = 0
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        # Only PostgreSQL commits batches side by side. SQLite has one writer per file: with
        # two server processes, more and smaller batches meant more waits on each other's
        # write lock (commit 99th percentile 0.2 s -> 0.8 s, 20-30% fewer sends per second).
        self._leads = engine.dialect.name == "postgresql"
        # SQLite files get a writer thread of their own (see ``sqlite_writer``).
        path = engine.url.database if engine.dialect.name == "sqlite" else None
        self._sqlite = SQLiteWriter(path) if path and path != ":memory:" else None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="group-committer")

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._sqlite is not None:
            await self._sqlite.close()

    async def submit(self, unit: WriteUnit) -> None:
        """Queue ``unit`` and return once it has committed (or raise what its commit raised)."""
        if self._task is None:
            raise RuntimeError("the group committer is not running")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._leads and self._queue.qsize() + 1 >= LEAD_AT and not self._slots.locked():
            # Under load: commit what waits now, from this request, instead of waking the
            # writer task, which would run only after every request the loop has queued.
            batch = [(unit, fut)]
            while len(batch) < self.max_units:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            self.led_batches += 1
            try:
                await self._commit_in_slot(batch)
            finally:
                for _ in batch[1:]:
                    self._queue.task_done()
            await asyncio.shield(fut)
            return
        self._queue.put_nowait((unit, fut))
        await asyncio.shield(fut)

    async def _take(self) -> list[tuple[WriteUnit, asyncio.Future[None]]]:
        batch = [await self._queue.get()]
        if self.window:
            await asyncio.sleep(self.window)
        while len(batch) < self.max_units:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._take()
            try:
                await self._commit_in_slot(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit_in_slot(self, batch: list[tuple[WriteUnit, asyncio.Future[None]]]) -> None:
        """Commit ``batch`` once fewer than ``MAX_IN_FLIGHT`` batches are committing."""
        async with self._slots:
            self._inflight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._inflight)
            try:
                await self._commit_batch(batch)
            finally:
                self._inflight -= 1

    async def _commit_batch(self, batch: list[tuple[WriteUnit, asyncio.Future[None]]]) -> None:
        units = [u for u, _ in batch]
        try:
            if not await self._commit_fast(units):
                async with self.engine.begin() as conn:
                    await _apply(conn, units)
        except Exception as exc:
            if len(batch) == 1:
                log.exception("write unit failed")
                _settle(batch, exc)
                return
            log.warning("batch of %d units failed; retrying them one by one", len(batch))
            for item in batch:
                await self._commit_batch([item])
            return
        self.batches += 1
        self.units += len(batch)
        _settle(batch, None)

    async def _commit_fast(self, units: list[WriteUnit]) -> bool:
        """Commit ``units`` in one hand-over to SQLite's writer thread or in one statement on
        PostgreSQL; ``False`` when the batch needs the engine (a plain statement, a statement
        with no plan, an upsert on PostgreSQL), or when PostgreSQL refused the statement: it
        was then not applied at all, and the engine's path retries the batch and reports."""
        if any(unit.statements for unit in units):
            return False
        if self._sqlite is None and self.engine.dialect.name != "postgresql":
            return False
        work = driver_work(self.engine.dialect, _groups(units))
        if work is None:
            return False
        if self._sqlite is not None:
            await self._sqlite.write(work)
            self.fast_batches += 1
            return True
        combined = pg_batch.combine(work)
        if combined is None:
            return False
        sql, args = combined
        try:
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection  # asyncpg's Connection, autocommit
                await driver.execute(sql, *args)
        except Exception as exc:
            log.debug("single-statement batch refused (%s); the engine's path retries it", exc)
            return False
        self.fast_batches += 1
        return True


async def _execute_many(
    conn: AsyncConnection, target: Any, rows: list[dict[str, Any]], keys: tuple[str, ...] = ()
) -> None:
    """One executemany over ``rows`` (see :func:`_plan`), passed to the driver as tuples:
    no per-batch compilation, no parameter processing beyond what the column types need."""
    plan = plan_for(conn.dialect, target, keys)
    if plan is None:
        stmt = target.insert() if isinstance(target, Table) else target
        await conn.execute(stmt, rows)
        return
    await conn.exec_driver_sql(plan.sql, [plan.params(row) for row in rows])


def _groups(units: Sequence[WriteUnit]) -> list[Group]:
    """The batch's executemany groups, in order: inserts by table and column set, then each
    shared statement with its parameter sets."""
    merged: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for unit in units:
        for table, rows in unit.inserts:
            for row in rows:
                merged.setdefault((table, tuple(row)), []).append(row)
    groups: list[Group] = [(table, keys, rows) for (table, keys), rows in merged.items()]
    shared: dict[int, tuple[Executable, list[dict[str, Any]]]] = {}
    for unit in units:
        for stmt, params in unit.many:
            shared.setdefault(id(stmt), (stmt, []))[1].append(params)
    groups += [(stmt, (), param_list) for stmt, param_list in shared.values()]
    return groups


async def _apply(conn: AsyncConnection, units: Sequence[WriteUnit]) -> None:
    for target, keys, rows in _groups(units):
        await _execute_many(conn, target, rows, keys)
    for unit in units:
        for stmt in unit.statements:
            await conn.execute(stmt)


def _settle(batch: list[tuple[WriteUnit, asyncio.Future[None]]], exc: BaseException | None) -> None:
    for unit, fut in batch:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
            continue
        fut.set_result(None)
        for cb in unit.after:
            try:
                cb()
            except Exception:
                log.exception("after-commit callback failed")
