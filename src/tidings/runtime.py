"""The composition root: builds the engine, the writer, the workers and the apps; wires listeners.

Nothing imports this module but ``cli`` and tests.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from fastapi import FastAPI
from sqlalchemy import delete, select
from starlette.types import ASGIApp

from tidings.api.app import create_fastapi
from tidings.api.deps import Services
from tidings.api.routes.messages import SendPath
from tidings.config import ROLES_AVAILABLE, Role, Settings
from tidings.core import clock
from tidings.core.load import RequestLoad
from tidings.core.vocab import DeliveryMode
from tidings.delivery.capture import CaptureTransport
from tidings.delivery.transport import Transport
from tidings.delivery.worker import DeliveryWorker
from tidings.events.record import Recorder
from tidings.store.committer import GroupCommitter
from tidings.store.engine import make_engine
from tidings.store.repos.tags import TagBook
from tidings.store.tables import captured, domains, events

log = logging.getLogger("tidings")


class Runtime:
    """Everything one process runs, for ``role``; ``async with Runtime(settings) as rt``."""

    def __init__(self, settings: Settings, role: Role = "all") -> None:
        if role not in ROLES_AVAILABLE:
            raise ValueError(
                f"role {role!r} is not available yet: this build serves "
                + ", ".join(ROLES_AVAILABLE)
            )
        self.settings = settings
        self.role = role
        # SQLite has one writer (the group committer) and few readers; PostgreSQL serves many.
        self.engine = make_engine(settings.database_url, pool_size=6 if settings.is_sqlite else 20)
        self.committer = GroupCommitter(
            self.engine, max_units=settings.commit_max_rows, window_ms=settings.commit_window_ms
        )
        self.recorder = Recorder(self.committer)
        self.load = RequestLoad()
        self.worker: DeliveryWorker | None = None
        if role in ("worker", "all"):
            self.worker = DeliveryWorker(
                engine=self.engine,
                recorder=self.recorder,
                transport=self._transport(),
                concurrency=settings.worker_concurrency,
                poll_seconds=settings.worker_poll_seconds,
                lease_seconds=settings.lease_seconds,
                # Only a worker beside the API in this process has requests to yield to.
                load=self.load if role == "all" else None,
                busy_rate=settings.worker_busy_rate,
            )
            self.worker.add_chore(3600.0, self.purge_old_events)
            self.worker.add_chore(3600.0, self.refresh_statistics)
        self.services = Services(
            settings=settings,
            engine=self.engine,
            recorder=self.recorder,
            tagbook=TagBook(self.engine),
            on_submit=self.worker.wake if self.worker else None,
            load=self.load,
        )
        self.fastapi: FastAPI = create_fastapi(self.services)
        self.app: ASGIApp = SendPath(self.fastapi, self.services)

    def _transport(self) -> Transport:
        mode = self.settings.delivery_mode
        if mode is DeliveryMode.CAPTURE:
            return CaptureTransport()
        raise ValueError(
            f"delivery mode {mode.value!r} arrives with real SMTP delivery; use 'capture' for now"
        )

    async def refresh_statistics(self) -> None:
        """SQLite plans queries from statistics only ANALYZE collects (PostgreSQL's autovacuum
        keeps its own). A sampled ANALYZE takes milliseconds on any table size."""
        if not self.settings.is_sqlite:
            return
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            await conn.exec_driver_sql("ANALYZE")

    async def purge_old_events(self) -> None:
        """Events, and the capture inbox with them, are kept ``events_retention_days``."""
        cutoff = clock.now_us() - self.settings.events_retention_days * 86400 * 1_000_000
        async with self.engine.connect() as conn:
            domain_ids = (await conn.execute(select(domains.c.id))).scalars().all()
        # Domain by domain, so each delete is a range of an index that leads with domain_id.
        for domain_id in domain_ids:
            async with self.engine.begin() as conn:
                await conn.execute(
                    delete(events).where(events.c.domain_id == domain_id, events.c.ts_us < cutoff)
                )
                await conn.execute(
                    delete(captured).where(
                        captured.c.domain_id == domain_id, captured.c.received_us < cutoff
                    )
                )

    async def start(self) -> None:
        await self.committer.start()
        if self.worker is not None:
            self.worker.start()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        await self.committer.stop()
        await self.engine.dispose()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def asgi(self) -> ASGIApp:
        """The app with a lifespan that starts and stops this runtime (for uvicorn).

        ``/healthz`` answers 503 ``starting`` until :meth:`start` has returned, and 503
        ``stopping`` from the first moment of shutdown, before anything is stopped.
        """
        state = self.fastapi.state
        state.ready = False

        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            await self.start()
            state.ready = True
            try:
                yield
            finally:
                state.stopping = True
                state.ready = False
                await self.stop()

        self.fastapi.router.lifespan_context = lifespan
        return self.app


#: Allocations between two young-generation collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 20_000


def tune_process() -> None:
    """Process-wide settings for a long-running server, before its threads start.

    glibc gives each thread that allocates its own malloc arena; with the database threads
    that costs tens of MB of resident memory for nothing. One arena keeps it bounded.

    The cyclic garbage collector ran a young collection every 700 allocations, about every
    dozen sends, and a full one every few thousand sends that walked every object of the
    process (SQLAlchemy's and FastAPI's included) for ~50 ms while the event loop stood
    still. Nearly everything a request allocates is freed by reference counting, so young
    collections can be rarer; :func:`freeze_heap` takes what start-up built out of the full
    ones. In process, 6,000 sends: 371 ms of collection before, 56 ms after; 6-13% less CPU
    per send.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_arena_max = -8
        libc.mallopt(m_arena_max, 1)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def freeze_heap() -> None:
    """Once start-up has built the app: its objects live as long as the process, so the
    collector need not look at them again (``gc.freeze``)."""
    gc.collect()
    gc.freeze()


def stop_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT: a process without uvicorn (role ``worker``) then
    stops as uvicorn's do, finishing the deliveries in hand instead of leaving them leased
    until their lease runs out."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def until_signalled(stop: asyncio.Event) -> None:
    await stop.wait()
    log.info("stopping: finishing the deliveries in hand")
