"""CPU per send, in process: the send benchmark's requests straight into the ASGI app.

No sockets and no load client: ``N`` sends of the same 20 KB form go through
``Runtime.app`` at 64 concurrent, with the delivery worker running in the same event loop as
in ``tidings serve``. What is measured is the CPU time the process spends per accepted send
(all threads, so SQLite's own work counts) and, separately, that of the event loop's thread.
On a shared machine this is steadier than a rate under wrk, which is why the send path's
optimisations are judged on it. The reference is ``bench.ceiling.app`` (parse the form and
answer) driven the same way in the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import DOMAIN, free_port, pg_database, prepare_store, server_env, sqlite_url
from bench.send import basic_auth, form_body

CONCURRENCY = 64
App = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


@dataclass
class CpuResult:
    name: str
    sends: int
    seconds: float
    cpu_ms: float
    """Process CPU per accepted send (every thread)."""
    loop_ms: float
    """CPU of the event loop's thread per accepted send."""

    @property
    def rate(self) -> float:
        return self.sends / self.seconds


async def _drive(app: App, key: str, n: int) -> tuple[int, float, float, float]:
    body = form_body()
    path = f"/v3/{DOMAIN}/messages"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"authorization", basic_auth(key).encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    ok = 0

    async def one() -> None:
        nonlocal ok
        delivered = False
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:  # the app never asks again once the body is read
                await asyncio.Event().wait()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(dict(scope), receive, send)
        if status == [200]:
            ok += 1

    left = n

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    for _ in range(200):  # warm-up: caches, compiled statements, the pools
        await one()
    ok = 0
    t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    t1, c1, m1 = time.perf_counter(), time.process_time(), time.thread_time()
    return ok, t1 - t0, c1 - c0, m1 - m0


def _result(name: str, ok: int, wall: float, cpu: float, loop: float) -> CpuResult:
    if ok == 0:
        raise RuntimeError(f"{name}: no send was accepted")
    return CpuResult(name, ok, wall, 1000 * cpu / ok, 1000 * loop / ok)


def _ceiling(n: int) -> CpuResult:
    from bench.ceiling import app

    return _result("ceiling", *asyncio.run(_drive(app, "unused", n)))


def _tidings(db: str, n: int) -> CpuResult:
    from tidings.config import Settings
    from tidings.runtime import Runtime

    with contextlib.ExitStack() as stack:
        if db == "sqlite":
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="tidings-cpu-"))
            url = sqlite_url(Path(folder) / "cpu.db")
        else:
            url = stack.enter_context(pg_database("cpu"))
        env = server_env(url, free_port())
        key = prepare_store(env)
        settings = Settings(
            database_url=url,
            delivery_mode="capture",
            log_level="WARNING",
            http_listen="127.0.0.1:1",
        )

        async def go() -> tuple[int, float, float, float]:
            async with Runtime(settings) as runtime:
                return await _drive(runtime.app, key, n)

        return _result(f"tidings-{db}", *asyncio.run(go()))


def run(args: Any) -> list[CpuResult]:
    n = args.sends
    print(
        f"== cpu: {n} sends in process, {CONCURRENCY} at once, worker running; "
        f"best of {args.rounds} rounds",
        flush=True,
    )
    results = []
    for name, measure in [
        ("ceiling", lambda: _ceiling(n)),
        *[(f"tidings-{db}", lambda db=db: _tidings(db, n)) for db in args.db],
    ]:
        rounds = [measure() for _ in range(args.rounds)]
        best = min(rounds, key=lambda r: r.cpu_ms)
        rates = statistics.median(r.rate for r in rounds)
        print(
            f"  {name:18s} {best.cpu_ms:6.3f} ms CPU/send (event loop {best.loop_ms:.3f})  "
            f"median {rates:5.0f} sends/s  rounds: " + ", ".join(f"{r.cpu_ms:.3f}" for r in rounds),
            flush=True,
        )
        results.append(best)
    return results


def table(results: list[CpuResult]) -> list[str]:
    ceiling = next(r for r in results if r.name == "ceiling")
    lines = [
        "",
        "| cpu (in process) | ms CPU per send | event loop ms | sends/s | ceiling / this |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ratio = "" if r is ceiling else f"{ceiling.cpu_ms / r.cpu_ms:.2f}x"
        lines.append(f"| {r.name} | {r.cpu_ms:.3f} | {r.loop_ms:.3f} | {r.rate:.0f} | {ratio} |")
    return lines
