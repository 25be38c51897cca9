"""HTTP load for the send benchmark: wrk with a Lua script, or a Python client without it.

Both keep ``connections`` keep-alive connections busy for a fixed time and count only 200
responses as accepted; latency percentiles are over every response.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import percentile

_LUA = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  ok = 0
  other = 0
  bad = ""
  local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end
function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    other = other + 1
    if bad == "" then bad = status .. " " .. string.sub(body or "", 1, 300) end
  end
end
function done(summary, latency, requests)
  local n_ok, n_other = 0, 0
  for _, t in ipairs(threads) do
    n_ok = n_ok + t:get("ok")
    n_other = n_other + t:get("other")
    local b = t:get("bad")
    if b ~= "" then io.write("BENCH_BAD " .. b:gsub("\n", " ") .. "\n") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%.0f,"ok":%d,"non_200":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, n_ok, n_other, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass
class LoadResult:
    client: str
    seconds: float
    requests: int
    ok: int
    non_200: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    client_cpu_s: float
    first_bad: str = ""

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def find_wrk(install: bool = True) -> str | None:
    """The wrk binary; when absent, one ``apt-get install -y wrk`` attempt (as root only)."""
    path = shutil.which("wrk")
    if path or not install:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    print("wrk is absent: trying `apt-get install -y wrk` ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_wrk = ["apt-get", "install", "-y", "wrk"]
    for argv in (install_wrk, ["apt-get", "update"], install_wrk):
        try:
            subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            return None
        path = shutil.which("wrk")
        if path:
            return path
    return None


def _children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def run_wrk(
    wrk: str, url: str, body: bytes, auth: str, *, seconds: float, connections: int
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp:
        script = Path(tmp, "send.lua")
        script.write_text(_LUA)
        body_file = Path(tmp, "body")
        body_file.write_bytes(body)
        env = {**os.environ, "BENCH_BODY_FILE": str(body_file), "BENCH_AUTH": auth}
        cpu0 = _children_cpu()
        proc = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
        cpu = _children_cpu() - cpu0
    lines = proc.stdout.splitlines()
    summary = next((ln for ln in lines if ln.startswith("BENCH {")), None)
    if summary is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    data = json.loads(summary[len("BENCH ") :])
    bad = next((ln[len("BENCH_BAD ") :] for ln in lines if ln.startswith("BENCH_BAD ")), "")
    return LoadResult(
        client="wrk",
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        ok=data["ok"],
        non_200=data["non_200"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        client_cpu_s=cpu,
        first_bad=bad,
    )


async def _python_load(
    url: str, body: bytes, auth: str, seconds: float, connections: int
) -> LoadResult:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth}
    latencies: list[float] = []
    counts = {"ok": 0, "non_200": 0, "errors": 0}
    bad: list[str] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    cpu0 = time.process_time()
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    resp = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    counts["errors"] += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                if resp.status_code == 200:
                    counts["ok"] += 1
                else:
                    counts["non_200"] += 1
                    if not bad:
                        bad.append(f"{resp.status_code} {resp.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return LoadResult(
        client="python-httpx",
        seconds=elapsed,
        requests=len(latencies),
        ok=counts["ok"],
        non_200=counts["non_200"],
        socket_errors=counts["errors"],
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        client_cpu_s=time.process_time() - cpu0,
        first_bad=bad[0] if bad else "",
    )


def run_load(
    wrk: str | None, url: str, body: bytes, auth: str, *, seconds: float, connections: int
) -> LoadResult:
    if wrk:
        return run_wrk(wrk, url, body, auth, seconds=seconds, connections=connections)
    return asyncio.run(_python_load(url, body, auth, seconds, connections))
