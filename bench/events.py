"""Events API benchmark: filtered pages of 300 over a large stored log, SQLite and PostgreSQL.

The log (``bench.eventdata``) is loaded straight into the store, then ``tidings serve`` answers
sequential ``GET /v3/bench.test/events`` requests of the kinds clients send: Ghost's poll
(five event types, ``tags=bulk-email``, ``begin``, ``ascending=yes``, ``limit=300``) and the
``next`` pages it follows, one recipient, one message id, and permanent failures. The reference
is the same server's ``GET /healthz`` in the same run: the ratio is the cost above a trivial
request.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    DOMAIN,
    OUT,
    free_port,
    percentile,
    pg_database,
    prepare_store,
    server_env,
    sqlite_url,
    tidings_server,
)
from bench.eventdata import Dataset, copy_to_postgres, recipient, sqlite_cache

TARGET_P95_MS = 50.0
GHOST_EVENTS = "delivered OR opened OR failed OR unsubscribed OR complained"
REQUEST_TIMEOUT = 30.0
KIND_BUDGET_S = 60.0
"""Most seconds one kind of request may take (its count is cut short past it)."""


@dataclass
class Kind:
    name: str
    latencies: list[float] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def _time(client: httpx.Client, kind: Kind, url: str, params: Any = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    resp = client.get(url, params=params)
    body = resp.content
    kind.latencies.append(time.perf_counter() - t0)
    if resp.status_code != 200:
        kind.errors += 1
        if not kind.first_error:
            kind.first_error = f"{resp.status_code} {body[:200]!r}"
        return {}
    data: dict[str, Any] = resp.json()
    if "items" in data:
        kind.items.append(len(data["items"]))
    return data


def _bounded(n: int, kind: Kind, step: Callable[[int], None]) -> None:
    deadline = time.monotonic() + KIND_BUDGET_S
    for i in range(n):
        if time.monotonic() > deadline:
            break
        step(i)


def measure(base: str, key: str, ds: Dataset, n: int) -> list[Kind]:
    rng = random.Random(7)
    url = f"{base}/v3/{DOMAIN}/events"
    span = ds.t_end - ds.t_start
    kinds: list[Kind] = []
    with httpx.Client(auth=("api", key), timeout=REQUEST_TIMEOUT) as client:
        for _ in range(20):  # warm the connection, the pool and the page cache a little
            client.get(f"{base}/healthz")
            client.get(url, params={"limit": "300"})

        health = Kind("healthz (reference)")
        _bounded(n, health, lambda i: _time(client, health, f"{base}/healthz"))
        kinds.append(health)

        ghost = Kind("ghost poll")

        def ghost_step(i: int) -> None:
            begin = ds.t_start + rng.random() * span * 0.95
            params = {
                "event": GHOST_EVENTS,
                "tags": "bulk-email",
                "begin": f"{begin:.0f}",
                "ascending": "yes",
                "limit": "300",
            }
            _time(client, ghost, url, params)

        _bounded(n, ghost, ghost_step)
        kinds.append(ghost)

        follow = Kind("ghost next pages")
        params = {
            "event": GHOST_EVENTS,
            "tags": "bulk-email",
            "begin": f"{ds.t_start:.0f}",
            "ascending": "yes",
            "limit": "300",
        }
        page = _time(client, follow, url, params)  # the poll itself; only its pages count
        follow.latencies.clear()
        follow.items.clear()
        state = {"next": (page.get("paging") or {}).get("next")}

        def follow_step(i: int) -> None:
            nxt = state["next"]
            if nxt:
                state["next"] = (_time(client, follow, nxt).get("paging") or {}).get("next")

        _bounded(n, follow, follow_step)
        kinds.append(follow)

        by_rcpt = Kind("recipient")
        _bounded(
            n,
            by_rcpt,
            lambda i: _time(
                client,
                by_rcpt,
                url,
                {"recipient": recipient(rng.randrange(ds.recipients)), "limit": "300"},
            ),
        )
        kinds.append(by_rcpt)

        by_mid = Kind("message-id")
        _bounded(
            n,
            by_mid,
            lambda i: _time(
                client,
                by_mid,
                url,
                {"message-id": ds.message_ids[i % len(ds.message_ids)], "limit": "300"},
            ),
        )
        kinds.append(by_mid)

        failed = Kind("failed permanent")

        def failed_step(i: int) -> None:
            begin = ds.t_start + rng.random() * span * 0.9
            params = {
                "event": "failed",
                "severity": "permanent",
                "begin": f"{begin:.0f}",
                "ascending": "yes",
                "limit": "300",
            }
            _time(client, failed, url, params)

        _bounded(n, failed, failed_step)
        kinds.append(failed)
    return kinds


def _report(name: str, kinds: list[Kind], rss: float) -> None:
    ref = kinds[0].p(50)
    print(f"  {name}: server peak RSS {rss:.0f} MB")
    for k in kinds:
        items = f"{sum(k.items) / len(k.items):5.0f} items/page" if k.items else " " * 16
        verdict = ""
        if k is not kinds[0]:
            verdict = f"  {k.p(50) / ref:6.1f}x healthz p50  " + (
                "PASS" if k.p(95) < TARGET_P95_MS else "MISS"
            )
        err = f"  errors {k.errors}: {k.first_error}" if k.errors else ""
        print(
            f"    {k.name:<20} n={len(k.latencies):3d}  p50 {k.p(50):7.2f} ms  "
            f"p95 {k.p(95):7.2f} ms  {items}{verdict}{err}",
            flush=True,
        )


@dataclass
class EventsResult:
    db: str
    kinds: list[Kind]
    peak_rss_mb: float


def _serve_and_measure(name: str, url: str, ds: Dataset, n: int) -> EventsResult:
    port = free_port()
    # The log's timestamps are fixed when it is built: keep the retention chore off them.
    env = server_env(url, port, TIDINGS_EVENTS_RETENTION_DAYS="36500")
    key = prepare_store(env)
    with tidings_server(env, port, OUT / "logs" / f"events-{name}.log") as server:
        kinds = measure(server.base, key, ds, n)
        rss = server.peak_rss_mb()
    _report(name, kinds, rss)
    return EventsResult(name, kinds, rss)


def run(args: Any) -> list[EventsResult]:
    print(
        f"== events: GET /v3/{DOMAIN}/events, limit=300, {args.events:,} stored events, "
        f"{args.requests} sequential requests per kind",
        flush=True,
    )
    path, ds = sqlite_cache(args.events, rebuild=args.rebuild)
    print(
        f"  log: {ds.count:,} events over {(ds.t_end - ds.t_start) / 86400:.1f} days, "
        f"{ds.recipients:,} recipients, {len(ds.message_ids)} sample message ids",
        flush=True,
    )
    results: list[EventsResult] = []
    for db in args.db:
        try:
            if db == "sqlite":
                results.append(_serve_and_measure("sqlite", sqlite_url(path), ds, args.requests))
            else:
                with pg_database("events") as pg_url:
                    prepare_store(server_env(pg_url, 1))
                    seconds = asyncio.run(copy_to_postgres(Path(path), pg_url))
                    print(f"  postgres: copied {ds.count:,} events in {seconds:.0f} s", flush=True)
                    results.append(_serve_and_measure("postgres", pg_url, ds, args.requests))
        except RuntimeError as exc:
            print(f"  {db}: FAILED: {exc}", flush=True)
    return results


def table(results: list[EventsResult]) -> list[str]:
    """The Events API figures as Markdown table rows."""
    out = [
        "",
        "| events (limit=300) | kind | n | p50 ms | p95 ms | items/page | p50 vs healthz |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ref = r.kinds[0].p(50)
        for k in r.kinds:
            items = f"{sum(k.items) / len(k.items):.0f}" if k.items else ""
            out.append(
                f"| {r.db} | {k.name} | {len(k.latencies)} | {k.p(50):.2f} | {k.p(95):.2f} | "
                f"{items} | {k.p(50) / ref:.1f}x |"
            )
    return out
