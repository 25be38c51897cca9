"""Index deliveries by their message

Purging an expired message looks up its deliveries by ``(domain_id, storage_key)``; without an
index that was a walk over every delivery of the domain for each expired message. The index
leads with ``storage_key``, unlike the others: led by ``domain_id`` it offered PostgreSQL's
planner a second domain-wide path, which it took for hot per-delivery statements (PostgreSQL's
CPU per send doubled in the send benchmark).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_message", ["storage_key", "domain_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_message")
