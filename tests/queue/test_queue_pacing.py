"""A worker beside the HTTP API yields to it: while requests are waiting it starts at most
``busy_rate`` jobs a second, and once they stop it is back to its full concurrency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from tests.conftest import BASE_URL, make_account
from tests.support.polling import events_for
from tidings.config import Settings
from tidings.core.load import BUSY_AT, RequestLoad
from tidings.queue.worker import PACE_SECONDS, Worker
from tidings.runtime import Runtime


class ListWorker(Worker[int]):
    """Jobs from a list; each lease is recorded with how many it asked for and got."""

    def __init__(self, jobs: int, poll_seconds: float = 0.01, **kw: Any) -> None:
        super().__init__(poll_seconds=poll_seconds, **kw)
        self.queue = list(range(jobs))
        self.leases: list[tuple[int, int]] = []
        self.done: list[int] = []

    async def lease(self, limit: int) -> list[int]:
        got, self.queue = self.queue[:limit], self.queue[limit:]
        self.leases.append((limit, len(got)))
        return got

    async def handle(self, job: int) -> None:
        await asyncio.sleep(0)
        self.done.append(job)


async def _until(cond: Any, wait: float = 10.0) -> None:
    deadline = time.monotonic() + wait
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_busy_api_paces_the_worker_then_releases_it() -> None:
    load = RequestLoad()
    load.in_flight = BUSY_AT
    worker = ListWorker(500, concurrency=64, load=load, busy_rate=100)
    quota = round(100 * PACE_SECONDS)
    worker.start()
    try:
        await _until(lambda: worker.paced_slices >= 4)
        started = 500 - len(worker.queue)
        # Every lease while busy asked for one slice's quota at most, and jobs kept flowing.
        assert worker.leases and all(asked <= quota for asked, _ in worker.leases)
        assert 0 < started <= quota * worker.paced_slices
        load.in_flight = 0
        await _until(lambda: len(worker.done) == 500)
        assert max(asked for asked, _ in worker.leases) == 64  # full concurrency again
    finally:
        await worker.stop()


async def test_busy_api_and_nothing_due_waits_for_a_wake_up_or_the_poll() -> None:
    """Pacing bounds what is leased; with nothing due the worker does not lease every slice."""
    load = RequestLoad()
    load.in_flight = BUSY_AT
    worker = ListWorker(0, poll_seconds=0.25, concurrency=64, load=load, busy_rate=100)
    worker.start()
    try:
        await asyncio.sleep(0.6)
        # About three polls in 0.6 s; a lease every 50 ms slice would be twelve.
        assert 1 <= len(worker.leases) <= 5, worker.leases
        assert worker.paced_slices == 0
    finally:
        await worker.stop()


@pytest.mark.parametrize("busy_rate, in_flight", [(0, 100), (100, BUSY_AT - 1)])
async def test_no_pacing_when_off_or_not_busy(busy_rate: int, in_flight: int) -> None:
    load = RequestLoad()
    load.in_flight = in_flight
    worker = ListWorker(200, concurrency=64, load=load, busy_rate=busy_rate)
    worker.start()
    try:
        await _until(lambda: len(worker.done) == 200)
        assert worker.leases[0] == (64, 64)
        assert worker.paced_slices == 0
    finally:
        await worker.stop()


async def test_only_a_worker_beside_the_api_yields(settings: Settings) -> None:
    both = Runtime(settings, role="all")
    alone = Runtime(settings, role="worker")
    try:
        assert both.worker is not None and both.worker.load is both.services.load
        assert both.worker.busy_rate == settings.worker_busy_rate > 0
        assert alone.worker is not None and alone.worker.load is None
    finally:
        await both.engine.dispose()
        await alone.engine.dispose()


async def test_requests_in_flight_are_counted_and_always_released(runtime: Runtime) -> None:
    seen: list[int] = []
    load = runtime.services.load

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(load.in_flight)
        if scope["path"] == "/boom":
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    from tidings.api.routes.messages import SendPath

    app = SendPath(inner, runtime.services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=BASE_URL
    ) as c:
        assert (await c.get("/ok")).status_code == 204
        assert (await c.get("/boom")).status_code == 500
        # The send path itself, accepted and refused.
        r = await c.post("/v3/nowhere.test/messages", data={"from": "a@b.c"})
        assert r.status_code == 401
    assert seen == [1, 1]
    assert load.in_flight == 0


async def test_deliveries_go_on_while_the_api_is_busy(settings: Settings) -> None:
    settings = settings.model_copy(update={"worker_busy_rate": 20})
    async with Runtime(settings) as rt:
        account = await make_account(rt)
        assert rt.worker is not None
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=rt.app), base_url=BASE_URL, auth=account.auth
        ) as c:
            rt.load.in_flight += 100  # as if 100 requests were waiting
            for i in range(10):
                r = await c.post(
                    f"/v3/{account.domain}/messages",
                    data={"from": "a@example.test", "to": f"r{i}@example.com", "text": "hi"},
                )
                assert r.status_code == 200, r.text
            # Paced, not stopped: deliveries still go out while the API is busy.
            await events_for(c, account.domain, want=1, event="delivered")
            assert rt.worker.paced_slices > 0
            rt.load.in_flight -= 100
            await events_for(c, account.domain, want=10, event="delivered")
