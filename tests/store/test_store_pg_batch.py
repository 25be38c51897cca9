"""A PostgreSQL batch as one statement: which statements qualify and how rows become arrays."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, update
from sqlalchemy.dialects.postgresql import asyncpg

from tidings.store import pg_batch
from tidings.store.plans import plan_for
from tidings.store.repos.tags import upsert_statement
from tidings.store.tables import deliveries, tags

DIALECT = asyncpg.dialect()
d = deliveries.c
MARK = (
    update(deliveries)
    .where(and_(d.domain_id == bindparam("k_domain"), d.id == bindparam("k_id")))
    .values(state="delivered")
)
TAG_KEYS = ("domain_id", "tag", "description", "first_seen_us", "last_seen_us")


def _sql(target: object, keys: tuple[str, ...] = ()) -> str:
    plan = plan_for(DIALECT, target, keys)
    assert plan is not None
    return plan.sql


def test_inserts_and_updates_become_one_statement_over_arrays() -> None:
    insert, mark = _sql(tags, TAG_KEYS), _sql(MARK)
    rows = [(1, "a", "", 5, 5), (1, "b", "", 6, 6)]
    marks = [("delivered", 1, "d1"), ("delivered", 1, "d2")]
    combined = pg_batch.combine([(insert, rows), (mark, marks)])
    assert combined is not None
    sql, args = combined
    assert sql.startswith("WITH w0 AS (INSERT INTO tags ")
    assert "FROM unnest($1::INTEGER[], $2::VARCHAR[], $3::VARCHAR[]" in sql
    assert "w1 AS (UPDATE deliveries SET state=p.c1 FROM unnest($6::VARCHAR[]" in sql
    assert "WHERE deliveries.domain_id = p.c2 AND deliveries.id = p.c3" in sql
    assert "$" not in sql.replace("::", "").split("unnest")[0]  # no row parameters remain
    # one array per column, in parameter order: 5 for the insert, 3 for the update
    assert args == [
        [1, 1],
        ["a", "b"],
        ["", ""],
        [5, 6],
        [5, 6],
        ["delivered"] * 2,
        [1, 1],
        ["d1", "d2"],
    ]


def test_upserts_and_unknown_shapes_stay_with_the_engine() -> None:
    upsert = _sql(upsert_statement("postgresql"))
    assert "ON CONFLICT" in upsert
    assert pg_batch.combine([(upsert, [(1, "a", 5, 5)])]) is None
    assert pg_batch.combine([("DELETE FROM tags WHERE tag = $1::VARCHAR", [("a",)])]) is None
    assert pg_batch.combine([("UPDATE tags SET tag = $1 WHERE tag = $2", [("a", "b")])]) is None
    assert pg_batch.combine([]) is None
