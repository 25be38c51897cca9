"""Lower-case the Message-ID column of events

The Events API's ``message-id`` filter is case-insensitive, like its other filters (contract
§3.3). The column it matches is lower-cased when an event is written, as ``recipient`` is, so
the filter stays an equality on ``ix_events_message_id`` (an equality on ``lower(message_id)``
could not use that index). This revision lower-cases the rows written before. Python's
``str.lower`` is the rule (what ``events.render.row`` applies): rows with ASCII capitals are
found by the database's ``lower``, rows with any non-ASCII character are checked in Python,
since SQLite's ``lower`` folds ASCII only. Generated ids are lower case already, so only ids
a sender set with ``h:Message-Id`` change. The payload keeps the id as it was sent.

Downgrade does nothing: the original case is still in each payload, and a lower-cased column
matches the old, case-sensitive filter for lower-case terms as before.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 1000

_events = sa.table(
    "events",
    sa.column("domain_id", sa.Integer),
    sa.column("ts_us", sa.BigInteger),
    sa.column("id", sa.String),
    sa.column("message_id", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    c = _events.c
    key = sa.tuple_(c.domain_id, c.ts_us, c.id)
    if bind.dialect.name == "postgresql":
        non_ascii = sa.func.octet_length(c.message_id) != sa.func.length(c.message_id)
    else:
        blob = sa.cast(c.message_id, sa.LargeBinary)
        non_ascii = sa.func.length(blob) != sa.func.length(c.message_id)
    maybe_upper = sa.or_(c.message_id != sa.func.lower(c.message_id), non_ascii)
    update = (
        sa.update(_events)
        .where(
            c.domain_id == sa.bindparam("k_domain"),
            c.ts_us == sa.bindparam("k_ts"),
            c.id == sa.bindparam("k_id"),
        )
        .values(message_id=sa.bindparam("k_mid"))
    )
    after: tuple[int, int, str] | None = None
    while True:
        query = sa.select(c.domain_id, c.ts_us, c.id, c.message_id).where(
            c.message_id.is_not(None), maybe_upper
        )
        if after is not None:
            query = query.where(key > sa.tuple_(*after))
        rows = bind.execute(query.order_by(c.domain_id, c.ts_us, c.id).limit(_BATCH)).all()
        if not rows:
            return
        changes = [
            {"k_domain": r.domain_id, "k_ts": r.ts_us, "k_id": r.id, "k_mid": r.message_id.lower()}
            for r in rows
            if r.message_id != r.message_id.lower()
        ]
        if changes:
            bind.execute(update, changes)
        last = rows[-1]
        after = (last.domain_id, last.ts_us, last.id)


def downgrade() -> None:
    pass
