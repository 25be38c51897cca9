"""Making the async engine: SQLite pragmas (WAL, foreign keys) and PostgreSQL pool options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


# JSON columns through orjson: several are written per message on the hot path.
_JSON: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": orjson.loads}


#: SQLite's own checkpoint threshold (pages of 16 KB): well past what the background
#: checkpoint lets the WAL reach, so that commits on the hot path do not checkpoint.
WAL_AUTOCHECKPOINT_PAGES = 10_000


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # 16 KB pages for a new database file (an existing file keeps the size it was made with):
    # a 20 KB message body then spans two overflow pages instead of six, and a send costs the
    # SQLite thread about a third less CPU. It must come before WAL mode writes the header.
    cur.execute("PRAGMA page_size=16384")
    # WAL lets readers run beside the one writer; NORMAL is durable across process crashes
    # in WAL mode (only a power loss can drop the last commits).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # The group committer checkpoints in the background (``sqlite_writer``); this is the net.
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    # A WAL that grew (readers holding a checkpoint back) is cut down when it next restarts.
    cur.execute("PRAGMA journal_size_limit=67108864")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA temp_store=MEMORY")
    # 2 MB a connection: the OS page cache holds the hot file anyway; RSS stays bounded.
    cur.execute("PRAGMA cache_size=-2048")
    cur.close()


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine for ``url``; SQLite files get their folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, **_JSON)
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        return engine
    # A steady pool: overflow connections opened and closed under load cost more than waiting
    # for a pooled one, and a pre-ping per checkout is a round trip on the hot path (a broken
    # connection is invalidated when it fails instead).
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=4,
        pool_recycle=1800,
        **_JSON,
    )


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"
