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
