"""``GET /healthz``: ready and the database answers, or 503 saying what is wrong."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import BASE_URL
from tidings import __version__
from tidings.api.health import DatabaseCheck
from tidings.config import Settings
from tidings.runtime import Runtime
from tidings.store.engine import make_engine

PASSWORD = "s3cret-hunter2"


async def _get(rt: Runtime) -> httpx.Response:
    transport = httpx.ASGITransport(app=rt.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        return await c.get("/healthz")  # no key: health checks carry none


@asynccontextmanager
async def _engine(rt: Runtime, engine: AsyncEngine) -> AsyncIterator[None]:
    """Point the API's services at ``engine`` for the block."""
    good = rt.services.engine
    rt.services.engine = engine
    try:
        yield
    finally:
        rt.services.engine = good
        await engine.dispose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens there now: connections are refused


async def test_ready_and_database_answers(runtime: Runtime) -> None:
    r = await _get(runtime)
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": __version__}


async def test_not_ready_is_starting(runtime: Runtime) -> None:
    runtime.fastapi.state.ready = False
    r = await _get(runtime)
    assert r.status_code == 503
    assert r.json() == {"status": "starting"}


class _Lifespan:
    """Drives an ASGI app's lifespan as a server does: startup, then shutdown."""

    def __init__(self, app: Any) -> None:
        self._to_app: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(app(scope, self._to_app.get, self._from_app.put))

    async def _step(self, event: str) -> None:
        await self._to_app.put({"type": f"lifespan.{event}"})
        answer = await asyncio.wait_for(self._from_app.get(), 30)
        assert answer["type"] == f"lifespan.{event}.complete", answer

    async def startup(self) -> None:
        await self._step("startup")

    async def shutdown(self) -> None:
        await self._step("shutdown")
        await asyncio.wait_for(self.task, 30)


async def test_not_ready_until_started_and_from_the_start_of_shutdown(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app uvicorn serves (``Runtime.asgi()``) says 503 before its runtime has started
    and as soon as shutdown begins, while the runtime (and the database) still run."""
    rt = Runtime(settings)
    app = rt.asgi()
    transport = httpx.ASGITransport(app=app)  # HTTP only: the lifespan is ours to drive
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
        before = await c.get("/healthz")
        assert before.status_code == 503
        assert before.json() == {"status": "starting"}

        lifespan = _Lifespan(app)
        await lifespan.startup()
        try:
            started = await c.get("/healthz")
            assert started.status_code == 200, started.text
            assert started.json()["status"] == "ok"
        finally:
            seen: list[httpx.Response] = []
            stop = rt.stop

            async def stop_and_look() -> None:
                seen.append(await c.get("/healthz"))  # the runtime has not stopped yet
                await stop()

            monkeypatch.setattr(rt, "stop", stop_and_look)
            await lifespan.shutdown()
        assert len(seen) == 1
        assert seen[0].status_code == 503, seen[0].text
        assert seen[0].json() == {"status": "stopping"}
        after = await c.get("/healthz")
        assert after.status_code == 503 and after.json() == {"status": "stopping"}


async def test_unreachable_database_is_503_without_secrets(
    runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if runtime.settings.is_sqlite:
        # A folder where the database file should be: SQLite cannot open it.
        bad_url, kind = f"sqlite+aiosqlite:///{tmp_path}", "OperationalError"
    else:
        bad_url = f"postgresql+asyncpg://postgres:{PASSWORD}@127.0.0.1:{_closed_port()}/test"
        kind = "ConnectionRefusedError"
    caplog.set_level(logging.INFO, logger="tidings.api")
    async with _engine(runtime, make_engine(bad_url, pool_size=1)):
        r = await _get(runtime)
    assert r.status_code == 503, r.text
    assert r.json() == {
        "status": "unavailable",
        "message": f"the database check failed ({kind})",
    }
    for secret in (PASSWORD, str(tmp_path), "127.0.0.1"):
        assert secret not in r.text
    assert PASSWORD not in caplog.text
    assert f"health: the database check failed ({kind})" in caplog.text

    # The next poll after the answer's time is up sees the database back.
    runtime.fastapi.state.health.ttl = 0
    r = await _get(runtime)
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert "health: the database answers again" in caplog.text


@asynccontextmanager
async def _silent_server() -> AsyncIterator[int]:
    """A TCP listener that accepts connections and never says a word."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_database_that_does_not_answer_in_time_is_503(runtime: Runtime) -> None:
    runtime.fastapi.state.health = DatabaseCheck(timeout=0.3, ttl=0)
    want = {"status": "unavailable", "message": "the database did not answer within 0.3 s"}
    if runtime.settings.is_sqlite:
        # Every connection of the pool is in use and none is given back.
        engine = make_engine(runtime.settings.database_url, pool_size=1)
        async with _engine(runtime, engine), engine.connect():
            started = time.monotonic()
            r = await _get(runtime)
    else:
        async with _silent_server() as port:
            url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test"
            async with _engine(runtime, make_engine(url, pool_size=1)):
                started = time.monotonic()
                r = await _get(runtime)
    assert time.monotonic() - started < 1.5
    assert r.status_code == 503
    assert r.json() == want


async def test_polls_share_one_query(runtime: Runtime) -> None:
    runtime.fastapi.state.health = DatabaseCheck(ttl=60)
    asked: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement == "SELECT 1":
            asked.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    try:
        transport = httpx.ASGITransport(app=runtime.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as c:
            answers = await asyncio.gather(*(c.get("/healthz") for _ in range(10)))
            answers += [await c.get("/healthz") for _ in range(10)]
            assert [r.status_code for r in answers] == [200] * 20
            assert len(asked) == 1
            runtime.fastapi.state.health.ttl = 0
            assert (await c.get("/healthz")).status_code == 200
            assert len(asked) == 2
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)


async def test_head_is_answered(runtime: Runtime) -> None:
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.head("/healthz")
    assert r.status_code == 200
