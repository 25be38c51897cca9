"""The SQLite side of group commit: one hand-over per batch, and WAL checkpoints off the path.

Through the async driver each statement of a batch (BEGIN, an executemany per table, COMMIT)
is a hand-over to the driver's thread and back, and under load each return waits for the event
loop to get through the requests it queued meanwhile, so the loop and SQLite take turns instead
of working side by side. :class:`SQLiteWriter` sends the whole batch, already compiled to SQL
and parameter tuples, to a thread and connection of its own in one hand-over.

SQLite's automatic checkpoint runs inside whichever commit crosses the threshold: with a
20 KB message per send that was one commit in ten, each held up for 50-100 ms (copying the WAL
into the database file and two fsyncs) while every request in the batch waited. Here a second
thread runs a ``PASSIVE`` checkpoint, which never blocks the writer, at most every
:data:`CHECKPOINT_EVERY` seconds while there are commits; the automatic one stays as a safety
net at :data:`engine.WAL_AUTOCHECKPOINT_PAGES`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import time

from sqlalchemy.exc import DBAPIError

from tidings.store.plans import Work

log = logging.getLogger(__name__)

#: Seconds between background checkpoints while commits go on.
CHECKPOINT_EVERY = 0.2


class SQLiteWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.checkpoints = 0
        self._write_thread = concurrent.futures.ThreadPoolExecutor(1, "sqlite-writer")
        self._ckpt_thread = concurrent.futures.ThreadPoolExecutor(1, "sqlite-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._ckpt_conn: sqlite3.Connection | None = None
        self._ckpt_busy = False
        self._ckpt_last = 0.0

    async def write(self, work: Work) -> None:
        """Run ``work`` as one transaction; SQLite errors are raised as SQLAlchemy's
        (``IntegrityError`` and the rest), as the async engine would raise them."""
        await asyncio.get_running_loop().run_in_executor(self._write_thread, self._write, work)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._write_thread, self._close_writer)
        self._write_thread.shutdown(wait=True)
        await loop.run_in_executor(self._ckpt_thread, self._close_checkpointer)
        self._ckpt_thread.shutdown(wait=True)

    def _connect(self) -> sqlite3.Connection:
        from tidings.store.engine import sqlite_pragmas

        # Autocommit mode: the transaction is ours to begin and end.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        sqlite_pragmas(conn, None)
        return conn

    def _write(self, work: Work) -> None:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        sql, params = "BEGIN IMMEDIATE", None
        try:
            # IMMEDIATE takes the write lock now (waiting out busy_timeout), not halfway in.
            conn.execute(sql)
            for sql, rows in work:
                params = rows
                conn.executemany(sql, rows)
            sql, params = "COMMIT", None
            conn.execute(sql)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
        now = time.monotonic()
        if not self._ckpt_busy and now - self._ckpt_last >= CHECKPOINT_EVERY:
            self._ckpt_busy = True
            self._ckpt_last = now
            self._ckpt_thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._ckpt_conn is None:
                self._ckpt_conn = self._connect()
            self._ckpt_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error:
            log.exception("WAL checkpoint failed")
        finally:
            self._ckpt_busy = False

    def _close_writer(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _close_checkpointer(self) -> None:
        if self._ckpt_conn is not None:
            self._ckpt_conn.close()
            self._ckpt_conn = None
