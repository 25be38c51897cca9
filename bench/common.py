"""What both benchmarks share: the tidings CLI, a served process with its memory, databases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HOST = "127.0.0.1"
DOMAIN = "bench.test"
PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
"""Where the benchmark connects to create and drop its own PostgreSQL databases."""


def tidings_command() -> list[str]:
    """The ``tidings`` console script next to this interpreter (``python -m tidings`` else)."""
    script = Path(sys.executable).parent / "tidings"
    return [str(script)] if script.exists() else [sys.executable, "-m", "tidings"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def server_env(database_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of every tidings command of one benchmark: only 127.0.0.1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update(
        {
            "TIDINGS_DATABASE_URL": database_url,
            "TIDINGS_HTTP_LISTEN": f"{HOST}:{port}",
            "TIDINGS_SMTP_LISTEN": f"{HOST}:{free_port()}",
            "TIDINGS_INBOUND_LISTEN": f"{HOST}:{free_port()}",
            "TIDINGS_LOG_LEVEL": "warning",
            "TIDINGS_DELIVERY_MODE": "capture",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str, timeout: float = 120.0) -> str:
    """Run one ``tidings`` command; its standard output (raises with stderr on failure)."""
    proc = subprocess.run(
        [*tidings_command(), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"tidings {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


def prepare_store(env: dict[str, str]) -> str:
    """Migrate, add the bench domain and make an API key; the key."""
    cli(env, "migrate")
    cli(env, "domain", "add", DOMAIN)
    out = cli(env, "key", "create").strip().splitlines()
    return out[-1].strip()


def _status_kb(pid: int, field_name: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn's worker processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return out


def tree_rss_kb(pid: int) -> int:
    """Resident memory of the whole process tree, summed now."""
    return sum(_status_kb(p, "VmRSS") for p in process_tree(pid))


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        pass
    return 0


def tree_pss_kb(pid: int) -> int:
    """Proportional resident memory of the process tree: pages shared between the processes
    (libraries, the interpreter) count once in total instead of once per process."""
    return sum(_pss_kb(p) for p in process_tree(pid))


@dataclass
class Server:
    """A server subprocess on 127.0.0.1 whose resident memory is watched while it runs."""

    argv: Sequence[str]
    env: dict[str, str]
    port: int
    log: Path
    ready_path: str = "/healthz"
    proc: subprocess.Popen[bytes] | None = None
    peak_rss_kb: int = 0
    peak_pss_kb: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _watch: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        logf = self.log.open("wb")
        self.proc = subprocess.Popen(
            list(self.argv), env=self.env, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT
        )
        logf.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}; log {self.log}:\n"
                        + self.log.read_text(errors="replace")[-3000:]
                    )
                try:
                    if client.get(self.base + self.ready_path).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            else:
                self.stop()
                raise RuntimeError(f"server not ready after {timeout:.0f} s; log {self.log}")
        self._watch = threading.Thread(target=self._sample, daemon=True)
        self._watch.start()

    def _sample(self) -> None:
        assert self.proc is not None
        while not self._stop.wait(0.2):
            self.peak_rss_kb = max(self.peak_rss_kb, tree_rss_kb(self.proc.pid))
            self.peak_pss_kb = max(self.peak_pss_kb, tree_pss_kb(self.proc.pid))

    def peak_rss_mb(self) -> float:
        """Peak resident memory so far: the high-water mark of a single process, or the
        polled peak of the sum over the process tree (several worker processes)."""
        if self.proc is not None and self.proc.poll() is None:
            tree = process_tree(self.proc.pid)
            if len(tree) == 1:
                self.peak_rss_kb = max(self.peak_rss_kb, _status_kb(tree[0], "VmHWM"))
            else:
                self.peak_rss_kb = max(self.peak_rss_kb, tree_rss_kb(self.proc.pid))
        return self.peak_rss_kb / 1024

    def peak_pss_mb(self) -> float:
        """Peak of the polled proportional set size summed over the process tree."""
        if self.proc is not None and self.proc.poll() is None:
            self.peak_pss_kb = max(self.peak_pss_kb, tree_pss_kb(self.proc.pid))
        return self.peak_pss_kb / 1024

    def stop(self) -> None:
        self._stop.set()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.peak_rss_mb()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tidings_server(env: dict[str, str], port: int, log: Path) -> Server:
    return Server([*tidings_command(), "serve"], env, port, log)


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_database(purpose: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one benchmark, dropped afterwards; its SQLAlchemy URL."""
    name = f"tidings_bench_{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_ADMIN_DSN).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        # A send run leaves ~1 GB of WAL; without a checkpoint now, PostgreSQL writes it back
        # during whatever is measured next and slows that down.
        asyncio.run(_pg("CHECKPOINT"))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), nearest rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def machine_note() -> str:
    cpus = os.cpu_count() or 0
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpus} CPUs ({model or 'unknown model'}), load average {load}"


def disk_free_gb(path: Path) -> float:
    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free / 1e9
