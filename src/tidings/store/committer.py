"""Group commit: many callers' writes committed by one writer task in shared transactions.

A caller hands a :class:`WriteUnit` (rows to insert, statements to run) to
:meth:`GroupCommitter.submit` and is released only when the transaction holding its unit has
committed, so nothing is acknowledged before it is durable. The writer takes whatever units
are waiting (up to ``max_units``), inserts their rows table by table with one executemany per
table, commits once and releases them all. Under load this gives close to the throughput of
batched inserts; when idle a unit waits for nothing but its own commit.

If a batch fails, its units are retried one by one, so a bad unit fails alone and the others
are kept. ``after`` callbacks run after the commit (listeners: webhooks, worker wake-ups).

On SQLite a batch goes to :class:`~tidings.store.sqlite_writer.SQLiteWriter` as SQL and
parameter tuples in one hand-over; PostgreSQL batches, and any batch holding a statement that
has no compiled plan, go through the async engine.
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

from tidings.store.sqlite_writer import SQLiteWriter, Work

log = logging.getLogger(__name__)


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
                await self._commit_batch(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit_batch(self, batch: list[tuple[WriteUnit, asyncio.Future[None]]]) -> None:
        units = [u for u, _ in batch]
        try:
            work = _sqlite_work(self.engine, units) if self._sqlite is not None else None
            if work is not None and self._sqlite is not None:
                await self._sqlite.write(work)
            else:
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


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement compiled once for the engine's dialect: its SQL text, the order of its
    positional parameters, their values when the statement fixes them (``state='delivered'``)
    and the type conversions (JSON columns) SQLAlchemy would apply on each execution."""

    sql: str
    names: tuple[str, ...]
    fixed: dict[str, Any]
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(position, conversion) of the parameters whose type needs one."""

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        if self.fixed:
            row = {**self.fixed, **row}
        values = [row[name] for name in self.names]
        for i, fn in self.convert:
            if values[i] is not None:
                values[i] = fn(values[i])
        return tuple(values)


_PLANS: dict[tuple[str, object, tuple[str, ...]], _Plan | None] = {}


def _plan(conn: AsyncConnection, target: Any, keys: tuple[str, ...]) -> _Plan | None:
    return _plan_for(conn.dialect, target, keys)


def _plan_for(dialect: Any, target: Any, keys: tuple[str, ...]) -> _Plan | None:
    """An insert into ``target`` (a table) of the columns ``keys``, or ``target`` itself (a
    shared parameterised statement), compiled once for executemany through the driver;
    ``None`` if the dialect is not positional. Both kinds of target live as long as the
    process, so the cache stays small."""
    cache_key = (dialect.name, target, keys)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    plan = None
    stmt = target.insert() if isinstance(target, Table) else target
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys) if keys else None)
    if dialect.positional and compiled.positiontup is not None:
        convert = []
        for i, name in enumerate(compiled.positiontup):
            processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                convert.append((i, processor))
        names = tuple(compiled.positiontup)
        fixed = {k: v for k, v in compiled.params.items() if k not in keys and v is not None}
        # A column default SQLAlchemy computes per execution (absent from the rows and not
        # fixed by the statement) is left to SQLAlchemy.
        if all(n in keys or n in fixed for n in names) or not keys:
            plan = _Plan(str(compiled), names, fixed, tuple(convert))
    _PLANS[cache_key] = plan
    return plan


async def _execute_many(
    conn: AsyncConnection, target: Any, rows: list[dict[str, Any]], keys: tuple[str, ...] = ()
) -> None:
    """One executemany over ``rows`` (see :func:`_plan`), passed to the driver as tuples:
    no per-batch compilation, no parameter processing beyond what the column types need."""
    plan = _plan(conn, target, keys)
    if plan is None:
        stmt = target.insert() if isinstance(target, Table) else target
        await conn.execute(stmt, rows)
        return
    await conn.exec_driver_sql(plan.sql, [plan.params(row) for row in rows])


def _groups(units: Sequence[WriteUnit]) -> list[tuple[Any, tuple[str, ...], list[dict[str, Any]]]]:
    """The batch's executemany groups, in order: inserts by table and column set, then each
    shared statement with its parameter sets."""
    merged: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for unit in units:
        for table, rows in unit.inserts:
            for row in rows:
                merged.setdefault((table, tuple(row)), []).append(row)
    groups: list[tuple[Any, tuple[str, ...], list[dict[str, Any]]]] = [
        (table, keys, rows) for (table, keys), rows in merged.items()
    ]
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


def _sqlite_work(engine: AsyncEngine, units: Sequence[WriteUnit]) -> Work | None:
    """The batch as (SQL, parameter tuples) pairs for :class:`SQLiteWriter`, or ``None`` when a
    statement has no plan (SQLAlchemy must run it)."""
    if any(unit.statements for unit in units):
        return None
    work: Work = []
    for target, keys, rows in _groups(units):
        plan = _plan_for(engine.dialect, target, keys)
        if plan is None:
            return None
        work.append((plan.sql, [plan.params(r) for r in rows]))
    return work
