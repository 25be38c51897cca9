"""Statements compiled once per process, and batches handed to a driver as SQL and tuples.

SQLAlchemy builds every statement; compiling it for each batch and processing each row's
parameters cost more CPU on the event loop than the driver's own work. A :class:`Plan` is a
statement compiled once for a dialect, and :func:`driver_work` turns a batch's executemany
groups into ``(SQL, parameter tuples)`` pairs that a driver runs as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

#: One executemany: a table (an insert of the columns ``keys``) or a shared parameterised
#: statement (``keys`` empty), and its rows.
Group = tuple[Any, tuple[str, ...], list[dict[str, Any]]]

#: ``(SQL, parameter tuples)`` pairs, one per executemany group, in order.
Work = list[tuple[str, list[tuple[Any, ...]]]]


@dataclass(frozen=True, slots=True)
class Plan:
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


_CACHE: dict[tuple[str, object, tuple[str, ...]], Plan | None] = {}


def plan_for(dialect: Any, target: Any, keys: tuple[str, ...]) -> Plan | None:
    """An insert into ``target`` (a table) of the columns ``keys``, or ``target`` itself (a
    shared parameterised statement), compiled once for executemany through the driver;
    ``None`` if the dialect is not positional. Both kinds of target live as long as the
    process, so the cache stays small."""
    cache_key = (dialect.name, target, keys)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
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
            plan = Plan(str(compiled), names, fixed, tuple(convert))
    _CACHE[cache_key] = plan
    return plan


def driver_work(dialect: Any, groups: Sequence[Group]) -> Work | None:
    """``groups`` as ``(SQL, parameter tuples)`` pairs, or ``None`` when one of them has no
    plan (SQLAlchemy must run it)."""
    work: Work = []
    for target, keys, rows in groups:
        plan = plan_for(dialect, target, keys)
        if plan is None:
            return None
        work.append((plan.sql, [plan.params(r) for r in rows]))
    return work
