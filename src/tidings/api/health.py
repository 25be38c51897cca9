"""What ``GET /healthz`` checks besides readiness: that the database answers.

A trivial query under a short timeout. Health checks are polled (load balancers, container
runtimes, ``make bench``), so the answer is kept for ``ttl`` seconds and concurrent polls
share one query: however often it is asked, the database sees about one query a second.
What goes wrong is told by kind only (``OperationalError``, ``ConnectionRefusedError``, a
timeout): the endpoint needs no key, so it names no host, path or user, and never the URL.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("tidings.api")

#: How long the database may take to hand out a connection and answer ``SELECT 1``.
TIMEOUT_SECONDS = 2.0
#: How long an answer is reused before the database is asked again.
TTL_SECONDS = 1.0


def _root(exc: Exception) -> BaseException:
    """The driver's own exception, which SQLAlchemy wraps (``InvalidPasswordError`` ...)."""
    return exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc


class DatabaseCheck:
    """``await check.problem(engine)``: ``None`` when the database answers, else what is wrong."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS, ttl: float = TTL_SECONDS) -> None:
        self.timeout = timeout
        self.ttl = ttl
        self._problem: str | None = None
        self._checked = float("-inf")
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return time.monotonic() - self._checked < self.ttl

    async def problem(self, engine: AsyncEngine) -> str | None:
        if self._fresh():
            return self._problem
        async with self._lock:  # the polls that arrive meanwhile wait for this answer
            if not self._fresh():
                problem = await self._ask(engine)
                if problem is None and self._problem is not None:
                    log.info("health: the database answers again")
                self._problem, self._checked = problem, time.monotonic()
        return self._problem

    async def _ask(self, engine: AsyncEngine) -> str | None:
        try:
            async with asyncio.timeout(self.timeout):
                async with engine.connect() as conn:
                    await conn.exec_driver_sql("SELECT 1")
        except TimeoutError:
            problem = f"the database did not answer within {self.timeout:g} s"
            if problem != self._problem:
                log.warning("health: %s", problem)
            return problem
        except Exception as exc:
            problem = f"the database check failed ({type(_root(exc)).__name__})"
            if problem != self._problem:
                log.warning("health: %s: %s", problem, _detail(exc, engine))
            return problem
        return None


def _detail(exc: Exception, engine: AsyncEngine) -> str:
    """The driver's first line of text, for the log: it may name the host or the user, and
    the password is masked should a driver ever repeat it."""
    text = (str(_root(exc)).splitlines() or [""])[0][:300]
    password = engine.url.password
    return text.replace(password, "***") if password else text
