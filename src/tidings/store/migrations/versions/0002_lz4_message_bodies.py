"""PostgreSQL: compress stored message bodies with lz4 instead of pglz

Every send stores its MIME twice (the message, the captured copy); pglz compression of 20 KB
of HTML costs more CPU in PostgreSQL than the rest of the insert. lz4 is several times faster
for a similar ratio on HTML. SQLite stores the bytes as they are, so nothing changes there.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (("messages", "mime"), ("captured", "mime"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION pglz")
