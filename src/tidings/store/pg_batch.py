"""The PostgreSQL side of group commit: a whole batch as one statement, one round trip.

Through the async engine a batch costs a round trip per statement (BEGIN, an executemany per
table and per shared statement, COMMIT), and each reply waits for the event loop to get through
whatever it queued meanwhile. Here the batch's executemany groups, each already compiled to SQL
with ``$n::TYPE`` parameters, become data-modifying ``WITH`` clauses of one statement that reads
its rows from arrays (``unnest``): one parameter per column, whatever the number of rows. A
single statement is atomic on its own, so it runs without BEGIN and COMMIT. Sent by the request
that fills a batch (see ``committer``), it lets PostgreSQL work on that batch while the event
loop goes on parsing requests.

Only plain ``INSERT ... VALUES`` and ``UPDATE ... SET ... WHERE`` take this path. An upsert
(``ON CONFLICT``) does not: two rows of one batch may hit the same conflict, which one
statement cannot handle. :func:`combine` returns ``None`` for such a batch, and the committer
runs it through the engine.
"""

from __future__ import annotations

import re
from typing import Any

from tidings.store.plans import Work

# A parameter with its cast, as SQLAlchemy's asyncpg dialect writes them: ``$3::VARCHAR``.
# (A type of two words would leave its second word behind: PostgreSQL then refuses the
# statement, and the engine's path takes the batch.)
_PARAM = re.compile(r"\$(\d+)::([A-Z]+(?:\(\d+(?:, *\d+)?\))?)")
_INSERT = re.compile(r"^(INSERT INTO \S+ \([^)]*\)) VALUES \((.*)\)$", re.S)
_UPDATE = re.compile(r"^(UPDATE \S+ SET .*?) (WHERE .*)$", re.S)

_CACHE: dict[tuple[str, ...], str | None] = {}
_CACHE_MAX = 256  # few batch shapes occur: which tables and statements a batch touches


def _clause(sql: str, first: int) -> tuple[str, int] | None:
    """``sql`` (one group's statement) reading its rows from ``unnest`` of arrays numbered from
    ``first``, with the number of arrays it takes; ``None`` unless it is a plain insert or
    update with a cast on every parameter."""
    if "ON CONFLICT" in sql or "RETURNING" in sql or " FROM " in sql:
        return None
    types: dict[int, str] = {}

    def column(m: re.Match[str]) -> str:
        types[int(m.group(1))] = m.group(2)
        return f"p.c{m.group(1)}"

    body = _PARAM.sub(column, sql)
    if "$" in body or not types or sorted(types) != list(range(1, len(types) + 1)):
        return None
    arrays = ", ".join(f"${first + n - 1}::{types[n]}[]" for n in sorted(types))
    source = f"unnest({arrays}) AS p({', '.join(f'c{n}' for n in sorted(types))})"
    if (m := _INSERT.match(body)) is not None:
        return f"{m.group(1)} SELECT {m.group(2)} FROM {source}", len(types)
    if (m := _UPDATE.match(body)) is not None:
        return f"{m.group(1)} FROM {source} {m.group(2)}", len(types)
    return None


def _statement(sqls: tuple[str, ...]) -> str | None:
    clauses = []
    first = 1
    for i, sql in enumerate(sqls):
        made = _clause(sql, first)
        if made is None:
            return None
        clause, n = made
        clauses.append(f"w{i} AS ({clause})")
        first += n
    return f"WITH {', '.join(clauses)} SELECT 1"


def combine(work: Work) -> tuple[str, list[list[Any]]] | None:
    """One statement for ``work`` and its arguments (a list of values per column), or
    ``None`` when a group cannot be expressed so."""
    if not work:
        return None
    sqls = tuple(sql for sql, _ in work)
    if sqls in _CACHE:
        statement = _CACHE[sqls]
    else:
        statement = _statement(sqls)
        if len(_CACHE) < _CACHE_MAX:
            _CACHE[sqls] = statement
    if statement is None:
        return None
    args: list[list[Any]] = []
    for _, rows in work:
        args.extend(list(column) for column in zip(*rows, strict=True))
    return statement, args
