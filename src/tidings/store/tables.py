"""SQLAlchemy tables. No business logic.

Every per-domain table carries ``domain_id`` and leads its primary key and indexes with it
(``ix_deliveries_message`` aside, see there),
so the store can later be distributed by domain (Citus) without a rewrite. Times that are
used for ordering or leasing are integer epoch microseconds (``*_us``): they sort and compare
the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TAG_SEP = "\x1f"
"""Separator of the ``events.tags`` column: ``\\x1fa\\x1fb\\x1f`` (tags never hold it)."""

domains = Table(
    "domains",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(253), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("type", String(16), nullable=False, default="custom"),
    Column("created_us", BigInteger, nullable=False),
    Column("spam_action", String(16), nullable=False, default="disabled"),
    Column("wildcard", Boolean, nullable=False, default=False),
    Column("web_prefix", String(63), nullable=False, default="email"),
    Column("web_scheme", String(5), nullable=False, default="http"),
    Column("require_tls", Boolean, nullable=False, default=False),
    Column("skip_verification", Boolean, nullable=False, default=False),
    Column("message_ttl", Integer, nullable=False),
    Column("dkim_selector", String(63), nullable=False),
    Column("dkim_private_key", Text, nullable=False),
    Column("dkim_public_key", Text, nullable=False),
    Column("settings", JSON, nullable=False, default=dict),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("domain_id", Integer, ForeignKey("domains.id", ondelete="CASCADE"), nullable=True),
    Column("description", String(255), nullable=False, default=""),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=True),
    Column("is_disabled", Boolean, nullable=False, default=False),
)

smtp_credentials = Table(
    "smtp_credentials",
    metadata,
    Column("domain_id", Integer, ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True),
    Column("login", String(320), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("storage_key", String(40), primary_key=True),
    Column("message_id", String(255), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),
    Column("mime", LargeBinary, nullable=True),
    Column("meta", JSON, nullable=False),
    Index("ix_messages_expires", "expires_us"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("id", String(24), primary_key=True),
    Column("storage_key", String(40), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_us", BigInteger, nullable=False),
    Column("lease_until_us", BigInteger, nullable=False, default=0),
    Column("created_us", BigInteger, nullable=False),
    Column("meta", JSON, nullable=False),
    # The worker's lease scan: due, unclaimed, still queued.
    Index("ix_deliveries_due", "state", "due_us"),
    # A message's copies (the purge of expired messages). storage_key first: an index led by
    # domain_id gave PostgreSQL's planner a domain-wide path it took for per-delivery updates.
    Index("ix_deliveries_message", "storage_key", "domain_id"),
)

events = Table(
    "events",
    metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("ts_us", BigInteger, primary_key=True),
    Column("id", String(24), primary_key=True),
    Column("event", String(16), nullable=False),
    Column("recipient", String(320), nullable=True),
    Column("message_id", String(255), nullable=True),
    Column("severity", String(16), nullable=True),
    Column("tags", Text, nullable=False, default=""),
    Column("from_hdr", Text, nullable=True),
    Column("to_hdr", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("size", Integer, nullable=True),
    Column("attachments", Text, nullable=True),
    Column("recipients", Text, nullable=True),
    Column("list", String(320), nullable=True),
    Column("payload", Text, nullable=False),
    # Each filter index ends with the page order (ts_us, id), so a filtered page is one range
    # scan that needs no sort, and planners choose it even without statistics.
    Index("ix_events_event", "domain_id", "event", "ts_us", "id"),
    Index("ix_events_recipient", "domain_id", "recipient", "ts_us", "id"),
    Index("ix_events_message_id", "domain_id", "message_id", "ts_us", "id"),
)

captured = Table(
    "captured",
    metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("id", String(24), primary_key=True),
    Column("received_us", BigInteger, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text, nullable=False, default=""),
    Column("mime", LargeBinary, nullable=False),
    Index("ix_captured_received", "domain_id", "received_us"),
)

tags = Table(
    "tags",
    metadata,
    Column("domain_id", Integer, primary_key=True),
    Column("tag", String(128), primary_key=True),
    Column("description", String(255), nullable=False, default=""),
    Column("first_seen_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
)
