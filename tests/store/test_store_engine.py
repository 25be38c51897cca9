"""SQLite connection settings: a new file gets 16 KB pages and WAL; an old file keeps its pages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tidings.store.migrations import migrate


def _pragmas(path: Path) -> tuple[int, str]:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0], conn.execute(
            "PRAGMA journal_mode"
        ).fetchone()[0]


def test_new_database_gets_large_pages_and_wal(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    migrate(f"sqlite+aiosqlite:///{db}")
    assert _pragmas(db) == (16384, "wal")


def test_existing_database_keeps_its_page_size(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE before_us (x)")
    migrate(f"sqlite+aiosqlite:///{db}")
    assert _pragmas(db) == (4096, "wal")
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"before_us", "messages", "events"} <= names


def test_every_connection_leaves_checkpoints_to_the_writer(tmp_path: Path) -> None:
    """The connection settings every SQLite connection gets (engine and writer alike): SQLite's
    own checkpoint only as a far safety net, and a bounded WAL file."""
    from tidings.store.engine import WAL_AUTOCHECKPOINT_PAGES, sqlite_pragmas

    conn = sqlite3.connect(tmp_path / "p.db")
    try:
        sqlite_pragmas(conn, None)
        got = {
            name: conn.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("wal_autocheckpoint", "journal_size_limit", "busy_timeout", "synchronous")
        }
    finally:
        conn.close()
    assert got == {
        "wal_autocheckpoint": WAL_AUTOCHECKPOINT_PAGES,
        "journal_size_limit": 64 * 1024 * 1024,
        "busy_timeout": 10000,
        "synchronous": 1,  # NORMAL
    }
