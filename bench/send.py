"""Send benchmark: ``POST /v3/bench.test/messages`` at 64 connections, on SQLite and PostgreSQL.

Each request is one message to one recipient with a ~20 KB HTML body, tags and open and click
tracking on, urlencoded as most SDKs send it, with Basic auth. The reference ("ceiling") is
``bench.ceiling``, a bare ASGI app that only parses the same form, served by uvicorn with the
same options and as many processes (spread over sockets as tidings spreads them:
``bench.ceiling_serve``) and loaded by the same client in the same run. The delivery worker
runs inside the served process (capture mode) while the load runs, as in ``tidings serve``,
and so it is paced while the API is busy (``TIDINGS_WORKER_BUSY_RATE``, docs/queue.md): how
many messages were delivered when the load stopped, and how long the rest took, is printed
next to each rate.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import (
    DOMAIN,
    HOST,
    OUT,
    Server,
    free_port,
    pg_database,
    prepare_store,
    process_tree,
    server_env,
    sqlite_url,
    tidings_server,
)
from bench.load import LoadResult, find_wrk, run_load

CONNECTIONS = 64
TARGET_PER_S = 1500
TARGET_RATIO = 0.3
TARGET_RSS_MB = 250

_WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "while",
    "newsletter",
    "readers",
    "scroll",
    "through",
    "another",
    "issue",
    "about",
    "gardening",
    "tools",
    "weekend",
    "markets",
    "local",
    "bands",
    "city",
    "council",
    "notes",
    "and",
    "recipes",
]


def html_body(size: int = 20_000) -> str:
    """A newsletter-like HTML body of about ``size`` bytes with ~40 tracked links."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Weekly issue</title>"
        "<style>body{font-family:Georgia,serif;color:#15212a}a{color:#ff1a75}</style>"
        "</head><body><table role='presentation' width='100%'><tr><td>"
    ]
    i = 0
    while sum(map(len, parts)) < size - 200:
        words = " ".join(_WORDS[(i * 7 + k) % len(_WORDS)] for k in range(60))
        parts.append(
            f"<h2 style='margin:24px 0 8px'>Section {i}</h2>"
            f"<p style='line-height:1.6;font-size:17px'>{words} &amp; more. "
            f"<a href='https://example.com/posts/{i}?utm_source=newsletter&amp;ref={i}'>"
            f"Read section {i}</a> or "
            f"<a href='https://shop.example.org/item/{i * 13}'>see item {i}</a>.</p>"
        )
        i += 1
    parts.append(
        "<p><a href='%unsubscribe_url%'>Unsubscribe</a></p></td></tr></table></body></html>"
    )
    return "".join(parts)


def form_body() -> bytes:
    fields = [
        ("from", "Bench Weekly <newsletter@bench.test>"),
        ("to", "reader@example.com"),
        ("subject", "Bench Weekly: issue 42"),
        ("html", html_body()),
        ("o:tag", "bulk-email"),
        ("o:tag", "ghost-email"),
        ("o:tracking", "yes"),
        ("o:tracking-clicks", "htmlonly"),
        ("o:tracking-opens", "yes"),
        ("v:email-id", "65f1c0ffee0000000000bench"),
        ("h:Reply-To", "editor@bench.test"),
    ]
    return urlencode(fields).encode("ascii")


def basic_auth(key: str) -> str:
    return "Basic " + base64.b64encode(f"api:{key}".encode()).decode("ascii")


@dataclass
class SendResult:
    name: str
    load: LoadResult
    peak_rss_mb: float | None = None
    peak_pss_mb: float | None = None
    processes: int = 1
    server_cpu_s: float | None = None
    stored_at_end: int | None = None
    stored: int | None = None
    delivered_at_end: int | None = None
    delivered_after_drain: int | None = None
    drain_s: float | None = None


def _cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its worker processes."""
    total = 0.0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


async def _counts(url: str) -> tuple[int, int]:
    from tidings.store.tables import captured, messages

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            # Captured copies first: a message is stored before its copy is, so counting in
            # this order never shows more deliveries than messages while both still grow.
            done = (await conn.execute(select(func.count()).select_from(captured))).scalar_one()
            stored = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
            return int(stored), int(done)
    finally:
        await engine.dispose()


def _measure(server: Server, auth: str, body: bytes, wrk: str | None, args: Any) -> SendResult:
    """Warm up, then load ``server`` for ``args.duration`` seconds; its CPU time meanwhile."""
    assert server.proc is not None
    url = f"{server.base}/v3/{DOMAIN}/messages"
    if args.warmup > 0:
        warm = run_load(wrk, url, body, auth, seconds=args.warmup, connections=CONNECTIONS)
        if warm.ok == 0:
            raise RuntimeError(f"no send was accepted during warm-up: {warm.first_bad}")
    cpu0 = _cpu_seconds(server.proc.pid)
    load = run_load(wrk, url, body, auth, seconds=args.duration, connections=CONNECTIONS)
    cpu = _cpu_seconds(server.proc.pid) - cpu0
    return SendResult(
        "",
        load,
        peak_rss_mb=server.peak_rss_mb(),
        peak_pss_mb=server.peak_pss_mb(),
        server_cpu_s=cpu,
    )


def run_ceiling(body: bytes, wrk: str | None, args: Any, label: str) -> SendResult:
    port = free_port()
    if args.workers > 1:
        # One socket per process in a reuse-port group, as ``tidings serve --workers N``.
        argv = [sys.executable, "-m", "bench.ceiling_serve", HOST, str(port), str(args.workers)]
    else:
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.ceiling:app",
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--no-server-header",
        ]
    with Server(argv, dict(os.environ), port, OUT / "logs" / f"{label}.log") as server:
        result = _measure(server, basic_auth("ceiling"), body, wrk, args)
    result.name = label
    result.processes = args.workers
    return result


def run_tidings(name: str, url: str, body: bytes, wrk: str | None, args: Any) -> SendResult:
    port = free_port()
    env = server_env(url, port, TIDINGS_HTTP_WORKERS=str(args.workers))
    key = prepare_store(env)
    with tidings_server(env, port, OUT / "logs" / f"send-{name}.log") as server:
        result = _measure(server, basic_auth(key), body, wrk, args)
        result.name = name
        result.processes = args.workers
        result.stored_at_end, result.delivered_at_end = asyncio.run(_counts(url))
        # Let the worker finish the backlog for a bounded while: its own throughput.
        started = time.monotonic()
        done = result.delivered_at_end
        stored = result.stored_at_end
        while done < stored and time.monotonic() - started < args.drain:
            time.sleep(1.0)
            stored, done = asyncio.run(_counts(url))
        result.stored = stored
        result.delivered_after_drain = done
        result.drain_s = time.monotonic() - started
        result.peak_rss_mb = server.peak_rss_mb()
        result.peak_pss_mb = server.peak_pss_mb()
    return result


def _fmt(r: SendResult, ceiling: float | None) -> str:
    ld = r.load
    ratio = f"  ratio {ld.ok_per_s / ceiling:.2f}x ceiling" if ceiling else ""
    cpu = f"  server CPU {r.server_cpu_s / ld.seconds:.2f} cores" if r.server_cpu_s else ""
    return (
        f"  {r.name:<16} {ld.ok_per_s:8.0f} accepted/s  p50 {ld.p50_ms:7.1f} ms  "
        f"p99 {ld.p99_ms:7.1f} ms  non-200 {ld.non_200}  socket errors {ld.socket_errors}  "
        f"peak RSS {r.peak_rss_mb or 0:.0f} MB (PSS {r.peak_pss_mb or 0:.0f} MB){cpu}{ratio}"
    )


def run(args: Any) -> list[SendResult]:
    """One round (ceiling, tidings on each database, ceiling again) per process count."""
    results: list[SendResult] = []
    for n in args.workers:
        one = argparse.Namespace(**{**vars(args), "workers": n})
        for r in run_round(one):
            r.name = f"{r.name} x{n}"
            results.append(r)
    return results


def run_round(args: Any) -> list[SendResult]:
    wrk = find_wrk()
    body = form_body()
    client = "wrk (1 thread)" if wrk else "python httpx asyncio (no wrk: client-bound, ratios only)"
    print(
        f"== send: POST /v3/{DOMAIN}/messages, {len(body) / 1024:.1f} KB urlencoded body "
        f"(HTML {len(html_body()) / 1024:.1f} KB, 1 recipient, tracking on), "
        f"{CONNECTIONS} connections, {args.warmup:.0f} s warm-up + {args.duration:.0f} s, "
        f"{args.workers} server process(es) for tidings and the ceiling alike, "
        f"client {client}",
        flush=True,
    )
    results: list[SendResult] = []
    first = run_ceiling(body, wrk, args, "ceiling")
    print(_fmt(first, None), flush=True)
    results.append(first)
    dbs = args.db
    with tempfile.TemporaryDirectory(prefix="tidings-bench-send-", dir=OUT) as tmp:
        for db in dbs:
            try:
                if db == "sqlite":
                    r = run_tidings(
                        "tidings-sqlite", sqlite_url(Path(tmp, "send.db")), body, wrk, args
                    )
                else:
                    with pg_database("send") as pg_url:
                        r = run_tidings("tidings-postgres", pg_url, body, wrk, args)
            except RuntimeError as exc:
                print(f"  tidings-{db}: FAILED: {exc}", flush=True)
                continue
            results.append(r)
            print(_fmt(r, first.load.ok_per_s), flush=True)
            if r.load.first_bad:
                print(f"    first non-200 answer: {r.load.first_bad[:200]}")
            print(
                f"    delivery worker (same process, capture): {r.delivered_at_end:,} of "
                f"{r.stored_at_end:,} accepted messages delivered when the load stopped, "
                f"{r.delivered_after_drain:,} of {r.stored:,} after {r.drain_s:.0f} s more",
                flush=True,
            )
    last = run_ceiling(body, wrk, args, "ceiling-again")
    print(_fmt(last, None), flush=True)
    results.append(last)
    ceiling = (first.load.ok_per_s + last.load.ok_per_s) / 2
    print(f"  ceiling (mean of both runs): {ceiling:.0f}/s")
    for r in results:
        if r.name.startswith("tidings"):
            ok = r.load.ok_per_s
            verdict = [
                f"{'PASS' if ok >= TARGET_PER_S else 'MISS'} >={TARGET_PER_S}/s",
                f"{'PASS' if ok / ceiling >= TARGET_RATIO else 'MISS'} >={TARGET_RATIO}x "
                f"({ok / ceiling:.2f}x)",
                f"{'PASS' if _memory_mb(r) < TARGET_RSS_MB else 'MISS'} "
                f"memory <{TARGET_RSS_MB} MB ({_memory_mb(r):.0f} MB {_memory_kind(r)})",
            ]
            print(f"  {r.name}: " + ", ".join(verdict))
    return results


def _memory_kind(r: SendResult) -> str:
    return "PSS" if r.processes > 1 else "RSS"


def _memory_mb(r: SendResult) -> float:
    """The figure the memory target is judged on: a single process's peak RSS; for several
    processes the peak of their summed PSS, since summed RSS counts the interpreter and the
    libraries they share once per process."""
    if r.processes > 1 and r.peak_pss_mb:
        return r.peak_pss_mb
    return r.peak_rss_mb or 0.0


def _ceiling_for(results: list[SendResult], name: str) -> float:
    """Mean ceiling of the round ``name`` belongs to (same process count, suffix `` xN``)."""
    suffix = name.rsplit(" ", 1)[-1]
    ceilings = [
        r.load.ok_per_s
        for r in results
        if r.name.startswith("ceiling") and r.name.rsplit(" ", 1)[-1] == suffix
    ]
    return sum(ceilings) / len(ceilings) if ceilings else 0.0


def table(results: list[SendResult]) -> list[str]:
    """The send figures as Markdown table rows."""
    out = [
        "",
        "| send (64 conn.) | accepted/s | p50 ms | p99 ms | non-200 | vs ceiling "
        "| peak RSS MB (sum) | peak PSS MB (sum) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ld = r.load
        ceiling = _ceiling_for(results, r.name)
        ratio = f"{ld.ok_per_s / ceiling:.2f}x" if ceiling and r.name.startswith("tidings") else ""
        out.append(
            f"| {r.name} | {ld.ok_per_s:.0f} | {ld.p50_ms:.1f} | {ld.p99_ms:.1f} | "
            f"{ld.non_200 + ld.socket_errors} | {ratio} | {r.peak_rss_mb or 0:.0f} "
            f"| {r.peak_pss_mb or 0:.0f} |"
        )
    return out
