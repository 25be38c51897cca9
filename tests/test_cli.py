"""The operator interface of design.md §7: commands, their output, and /healthz."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

TIDINGS = [sys.executable, "-m", "tidings"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env["TIDINGS_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    env["TIDINGS_DKIM_KEY_BITS"] = "1024"
    env.update(extra)
    return env


def run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TIDINGS, *args],
        env=_env(tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _server_setup(tmp_path: Path, domain: str) -> tuple[int, dict[str, str], str]:
    """A free port, the settings to serve on it, and a key for ``domain``, created by the CLI."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"TIDINGS_HTTP_LISTEN": f"127.0.0.1:{port}", "TIDINGS_LOG_LEVEL": "warning"}
    run(tmp_path, "domain", "add", domain, **env)
    key = run(tmp_path, "key", "create", **env).stdout.strip().splitlines()[-1]
    return port, env, key


def test_migrate_domain_add_and_key_create(tmp_path: Path) -> None:
    migrated = run(tmp_path, "migrate")
    assert migrated.returncode == 0
    output = migrated.stdout + migrated.stderr
    assert "Running upgrade" in output and "setup plugin" not in output  # alembic's chatter
    added = run(tmp_path, "domain", "add", "mail.example.org")
    assert added.returncode == 0, added.stderr
    assert "mail.example.org" in added.stdout and "_domainkey" in added.stdout
    assert "MX and CNAME records must name a host" in added.stdout  # served on 127.0.0.1
    again = run(
        tmp_path, "domain", "add", "mail.example.org", TIDINGS_MAIL_HOSTNAME="mx.example.org"
    )
    assert "already exists" in again.stdout
    assert "mx.example.org" in again.stdout and "must name a host" not in again.stdout
    bad = run(tmp_path, "domain", "add", "not a domain")
    assert bad.returncode != 0 and "not a valid domain" in bad.stderr
    created = run(tmp_path, "key", "create")
    assert created.returncode == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("key-") and len(key) == 36
    sending = run(tmp_path, "key", "create", "--domain", "mail.example.org")
    assert sending.returncode == 0
    assert sending.stdout.strip().splitlines()[-1] != key
    missing = run(tmp_path, "key", "create", "--domain", "nowhere.example")
    assert missing.returncode == 1 and "Domain not found" in missing.stderr


def test_demo_prints_key_only_once(tmp_path: Path) -> None:
    first = run(tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    assert "demo.tidings.test" in first.stdout and "key-" in first.stdout
    # the README's three curl lines: send, events, capture
    for path in ("/messages", "/events", "/capture"):
        assert f"/v3/demo.tidings.test{path}" in first.stdout, path
    second = run(tmp_path, "demo")
    assert "key-" not in second.stdout


def test_serve_answers_healthz_and_sends(tmp_path: Path) -> None:
    port, env, key = _server_setup(tmp_path, "serve.example.org")
    proc = subprocess.Popen(
        [*TIDINGS, "serve"],
        env=_env(tmp_path, **env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base)
        r = httpx.post(
            f"{base}/v3/serve.example.org/messages",
            auth=("api", key),
            data={"from": "a@serve.example.org", "to": "b@example.org", "text": "hi"},
        )
        assert r.status_code == 200 and r.json()["message"] == "Queued. Thank you."
        unknown = httpx.get(f"{base}/v3/nothing/here/at/all", auth=("api", key))
        assert unknown.status_code == 404 and unknown.json() == {"message": "Not Found"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert key not in out  # the key is never logged


def test_unavailable_role_is_refused(tmp_path: Path) -> None:
    r = run(tmp_path, "serve", "--role", "tracking")
    assert r.returncode == 2 and "not available" in r.stderr


def test_unavailable_delivery_mode_is_refused(tmp_path: Path) -> None:
    r = run(tmp_path, "serve", TIDINGS_DELIVERY_MODE="mx")
    assert r.returncode == 2
    assert "delivery mode 'mx' is not available" in r.stderr
    assert "Traceback" not in r.stderr


def test_log_level_applies_to_our_loggers(tmp_path: Path) -> None:
    quiet = run(tmp_path, "domain", "add", "quiet.test", TIDINGS_LOG_LEVEL="warning")
    assert quiet.returncode == 0, quiet.stderr
    assert " INFO " not in quiet.stderr
    chatty = run(tmp_path, "domain", "add", "chatty.test", TIDINGS_LOG_LEVEL="debug")
    assert chatty.returncode == 0, chatty.stderr
    assert " INFO " in chatty.stderr or " DEBUG " in chatty.stderr
    bad = run(tmp_path, "domain", "add", "x.test", TIDINGS_LOG_LEVEL="loud")
    assert bad.returncode == 2 and "bad setting TIDINGS_LOG_LEVEL" in bad.stderr
    assert "Traceback" not in bad.stderr and "loud" not in bad.stderr


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def _wait_healthy(base: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not come up"
        time.sleep(0.1)


def _serve_two_processes(tmp_path: Path, domain: str) -> tuple[subprocess.Popen[str], int, str]:
    """``tidings serve --workers 2`` for ``domain``: the process, its port and an API key."""
    port, env, key = _server_setup(tmp_path, domain)
    proc = subprocess.Popen(
        [*TIDINGS, "serve", "--workers", "2"],
        env=_env(tmp_path, **env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, port, key


def test_serve_several_processes_under_a_small_parent(tmp_path: Path) -> None:
    """``--workers 2``: a small parent, two servers on its sockets, a dead one replaced, and
    SIGINT stops them all."""
    import signal

    proc, port, key = _serve_two_processes(tmp_path, "multi.example.org")
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base)
        first = _children(proc.pid)
        assert len(first) == 2
        with open(f"/proc/{proc.pid}/cmdline", "rb") as f:
            assert b"tidings.supervise" in f.read()  # the parent is the small supervisor
        ids = set()
        for i in range(6):
            r = httpx.post(
                f"{base}/v3/multi.example.org/messages",
                auth=("api", key),
                data={"from": "a@multi.example.org", "to": f"r{i}@example.org", "text": "hi"},
            )
            assert r.status_code == 200, r.text
            ids.add(r.json()["id"])
        assert len(ids) == 6
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            now = _children(proc.pid)
            if len(now) == 2 and first[0] not in now:
                break
            assert time.monotonic() < deadline, f"no replacement for {first[0]}: {now}"
            time.sleep(0.1)
        _wait_healthy(base)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out
    assert "starting another" in out
    assert key not in out
    assert not any(os.path.exists(f"/proc/{pid}") for pid in now)  # stopped and reaped


def _established_by_process(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to ``port`` each process holds (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":
                    inodes.add(cols[9])
    counts = {}
    for pid in pids:
        held = 0
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
        counts[pid] = held
    return counts


def test_several_processes_share_keep_alive_connections_evenly(tmp_path: Path) -> None:
    """Each server process has a socket of its own in one SO_REUSEPORT group, so a burst of
    keep-alive connections is spread over them (on one shared socket the first process to wake
    took most of them)."""
    import signal

    proc, port, _ = _serve_two_processes(tmp_path, "spread.example.org")
    conns: list[socket.socket] = []
    try:
        _wait_healthy(f"http://127.0.0.1:{port}")
        children = _children(proc.pid)
        for _ in range(64):
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            conns.append(c)
        for c in conns:  # an answer on each: every connection has been accepted
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        counts = _established_by_process(children, port)
        assert sum(counts.values()) == 64, counts
        # An even split by hash: fewer than 12 of 64 on one side has odds below 1 in 10^6.
        assert min(counts.values()) >= 12, counts
    finally:
        for c in conns:
            c.close()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out


def test_several_processes_on_a_busy_port_fail_clearly(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = run(tmp_path, "serve", "--workers", "2", TIDINGS_HTTP_LISTEN=f"127.0.0.1:{port}")
    assert r.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("notaurl", "TIDINGS_DATABASE_URL is not a database URL"),
        ("postgresql+asyncpg://bob:sekrit@127.0.0.1:1/db", "Connect call failed"),
    ],
)
def test_an_unusable_database_is_one_line(tmp_path: Path, url: str, reason: str) -> None:
    for args in (("migrate",), ("key", "create"), ("domain", "add", "x.test")):
        r = run(tmp_path, *args, TIDINGS_DATABASE_URL=url)
        assert r.returncode == 1, (args, r.stderr)
        assert "tidings: the database cannot be used: " in r.stderr and reason in r.stderr
        assert "Traceback" not in r.stderr and "sekrit" not in r.stderr


def test_key_create_for_an_empty_or_unknown_domain_is_refused(tmp_path: Path) -> None:
    assert run(tmp_path, "domain", "add", "keys.test").returncode == 0
    for name in ("", "nope.test"):
        r = run(tmp_path, "key", "create", "--domain", name)
        assert r.returncode == 1 and "tidings: " in r.stderr, (name, r.stdout, r.stderr)
        assert "created an API key" not in r.stdout
    ok = run(tmp_path, "key", "create", "--domain", "Keys.Test.")
    assert ok.returncode == 0, ok.stderr
    assert "sending key for keys.test" in ok.stdout


@pytest.mark.parametrize("workers", ["0", "-1", "65"])
def test_serve_refuses_a_bad_process_count(tmp_path: Path, workers: str) -> None:
    r = run(tmp_path, "serve", "--workers", workers)
    assert r.returncode == 2, r.stderr
    assert "bad setting TIDINGS_HTTP_WORKERS" in r.stderr and "Traceback" not in r.stderr


def test_a_worker_process_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    """SIGTERM lets a role-worker process finish the deliveries in hand (it had killed it at
    once, leaving them leased for the whole lease)."""
    assert run(tmp_path, "migrate").returncode == 0
    proc = subprocess.Popen(
        [*TIDINGS, "serve", "--role", "worker"],
        env=_env(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "tidings delivering (role worker" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopping: finishing the deliveries in hand" in err


def test_servers_die_with_a_killed_parent(tmp_path: Path) -> None:
    """SIGKILL on the supervisor leaves no orphaned server holding the port."""
    proc, port, _ = _serve_two_processes(tmp_path, "orphans.example.org")
    children: list[int] = []
    try:
        _wait_healthy(f"http://127.0.0.1:{port}")
        children = _children(proc.pid)
        assert len(children) == 2
        proc.kill()
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 30
        while alive := [c for c in children if _running(c)]:
            assert time.monotonic() < deadline, f"orphaned servers still running: {alive}"
            time.sleep(0.1)
    finally:
        for child in children:
            if _running(child):
                os.kill(child, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
