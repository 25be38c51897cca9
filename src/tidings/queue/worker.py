"""The generic worker loop: lease, handle, sleep; periodic chores.

A worker implements ``lease(limit)`` and ``handle(job)``; the loop keeps up to ``concurrency``
jobs running, wakes at once when ``wake()`` is called (a local submit) and otherwise polls.
A crash inside ``handle`` is logged and the job's lease simply runs out, so another pass
retries it: nothing is lost.

Pacing: a worker that shares its process with the HTTP API (role ``all``) is handed that
API's :class:`~tidings.core.load.RequestLoad`. While the API is busy, the worker starts at
most ``busy_rate`` jobs a second (in slices of :data:`PACE_SECONDS`) instead of filling its
concurrency, so requests keep the loop and a burst is delivered behind it. ``busy_rate`` 0
turns pacing off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from tidings.core.load import RequestLoad

log = logging.getLogger(__name__)

J = TypeVar("J")

#: While paced, the worker leases once per slice of this many seconds.
PACE_SECONDS = 0.05
#: Longest wait between leases while they keep failing (the store is down, say).
FAILING_WAIT_MAX = 5.0
#: While leases keep failing, one line at most this often (the first failure has its traceback).
FAILING_LOG_EVERY = 30.0


class Worker(Generic[J]):
    name = "worker"

    def __init__(
        self,
        *,
        concurrency: int,
        poll_seconds: float,
        load: RequestLoad | None = None,
        busy_rate: int = 0,
    ) -> None:
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.load = load
        self.busy_rate = busy_rate
        self.paced_slices = 0
        """Slices in which the worker leased its paced share and held back for the API."""
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[Any]] = set()
        self._task: asyncio.Task[None] | None = None
        self._chores: list[tuple[float, Callable[[], Awaitable[object]]]] = []
        self._chore_due: list[float] = []
        self._stopping = False
        self.lease_failures = 0
        """Leases failed in a row (0 once one succeeds)."""
        self._failure_logged = 0.0

    async def lease(self, limit: int) -> list[J]:
        raise NotImplementedError

    async def handle(self, job: J) -> None:
        raise NotImplementedError

    def add_chore(self, every_seconds: float, chore: Callable[[], Awaitable[object]]) -> None:
        self._chores.append((every_seconds, chore))
        self._chore_due.append(0.0)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Stop leasing, then wait for the jobs in hand.

        The loop is asked to stop, never cancelled: a lease cancelled half-way through its
        transaction leaves that connection holding its locks (a write lock on SQLite, row
        locks on PostgreSQL), and every writer after it waits on them.
        """
        if self._task is not None:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    def _paced(self) -> bool:
        return self.busy_rate > 0 and self.load is not None and self.load.busy

    async def _loop(self) -> None:
        while not self._stopping:
            await self._run_chores()
            free = self.concurrency - len(self._running)
            paced = self._paced()
            if paced:
                free = min(free, max(1, round(self.busy_rate * PACE_SECONDS)))
            jobs: list[J] = []
            if free > 0:
                try:
                    jobs = await self.lease(free)
                except Exception:
                    await self._lease_failed()
                    continue
                self._lease_worked()
            for job in jobs:
                task = asyncio.create_task(self._handle(job))
                self._running.add(task)
                task.add_done_callback(self._done)
            if paced and jobs:
                # More may be due: the next slice's share, once this slice is over.
                self.paced_slices += 1
                await asyncio.sleep(PACE_SECONDS)
                continue
            if jobs and len(jobs) == free:
                await asyncio.sleep(0)
                continue
            if self._stopping:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _lease_failed(self) -> None:
        """Log the first failure whole, then a line now and then; wait longer each time."""
        self.lease_failures += 1
        now = time.monotonic()
        if self.lease_failures == 1:
            log.exception("%s: lease failed; retrying", self.name)
            self._failure_logged = now
        elif now - self._failure_logged >= FAILING_LOG_EVERY:
            log.error("%s: lease still failing (%d in a row)", self.name, self.lease_failures)
            self._failure_logged = now
        wait = min(self.poll_seconds * 2 ** min(self.lease_failures, 16), FAILING_WAIT_MAX)
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait)

    def _lease_worked(self) -> None:
        if self.lease_failures:
            log.warning("%s: leasing works again after %d failures", self.name, self.lease_failures)
            self.lease_failures = 0

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        self._wake.set()

    async def _handle(self, job: J) -> None:
        try:
            await self.handle(job)
        except Exception:
            log.exception(
                "%s: job failed; its lease will run out and it will be retried", self.name
            )

    async def _run_chores(self) -> None:
        now = time.monotonic()
        for i, (every, chore) in enumerate(self._chores):
            if now >= self._chore_due[i]:
                self._chore_due[i] = now + every
                try:
                    await chore()
                except Exception:
                    log.exception("%s: chore failed", self.name)
