"""Several HTTP server processes on one listening socket, watched by a small parent.

``tidings serve --workers N`` execs this module after it has read the settings and migrated:
the parent binds the listening sockets, starts ``N`` children (``tidings serve`` with one
process each, handed a socket's file descriptor), forwards SIGINT/SIGTERM to them, and starts
a child again when one dies. It imports nothing but the standard library, so it costs ~10 MB
where uvicorn's own supervisor (spawn, plus multiprocessing's resource tracker) cost ~50 MB
beside the servers.

Each child gets a socket of its own in one ``SO_REUSEPORT`` group (see :func:`listeners`),
so the kernel spreads new connections evenly over the children; on one shared socket the
first child to wake accepted whole bursts. The parent keeps every socket open, so the
connections queued on a child that died wait for its replacement instead of being refused.

Usage (internal): ``python -m tidings.supervise HOST PORT N``; the environment is passed on.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

FD_ENV = "TIDINGS_INHERITED_FD"
"""Tells a child ``tidings serve`` to serve the inherited socket with this descriptor."""

_RESTART_PAUSE = 1.0
_STOP_GRACE = 30.0


def bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def listeners(host: str, port: int, processes: int) -> list[socket.socket]:
    """The listening socket of each server process.

    Where the kernel offers ``SO_REUSEPORT`` (Linux), one socket per process in a reuse-port
    group: the kernel hashes each new connection to one of them, so keep-alive clients end up
    spread evenly. On one shared socket, the first process to wake accepted a whole burst: 64
    benchmark connections split 55/9, 42/22 and 34/30 over two processes, and the busier one
    set the pace. Elsewhere every process shares one socket.

    A plain bind comes first, so a port already taken (by anyone, reuse-port or not) fails
    here instead of silently joining someone else's group.
    """
    first = bind(host, port)
    if processes < 2 or not hasattr(socket, "SO_REUSEPORT"):
        return [first] * processes
    port = first.getsockname()[1]
    first.close()
    return [bind(host, port, reuse_port=True) for _ in range(processes)]


class Supervisor:
    def __init__(self, socks: list[socket.socket]) -> None:
        self.socks = socks
        self.processes = len(socks)
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = 0  # the signal that asked us to stop

    def _start_child(self, i: int) -> subprocess.Popen[bytes]:
        fd = self.socks[i].fileno()
        env = {**os.environ, FD_ENV: str(fd), "TIDINGS_HTTP_WORKERS": "1"}
        return subprocess.Popen(
            [sys.executable, "-m", "tidings", "serve"],
            env=env,
            pass_fds=(fd,),
            preexec_fn=_die_with_parent(os.getpid()),
        )

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = signum

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        self.children = [self._start_child(i) for i in range(self.processes)]
        while not self.stopping:
            time.sleep(0.2)
            for i, child in enumerate(self.children):
                if child.poll() is not None and not self.stopping:
                    print(
                        f"tidings: server process {child.pid} exited with {child.returncode}; "
                        "starting another",
                        file=sys.stderr,
                        flush=True,
                    )
                    time.sleep(_RESTART_PAUSE)
                    self.children[i] = self._start_child(i)
        return self._stop()

    def _stop(self) -> int:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(self.stopping)
        deadline = time.monotonic() + _STOP_GRACE
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sock in set(self.socks):
            sock.close()
        return 0


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """For a child's ``preexec_fn``: the kernel sends it SIGTERM when this process dies, even
    by SIGKILL, so no orphaned server keeps the port (Linux; elsewhere nothing is done)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def arrange() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)

    return arrange


def main(argv: list[str]) -> int:
    host, port, processes = argv[0], int(argv[1]), int(argv[2])
    try:
        socks = listeners(host, port, processes)
    except OSError as exc:
        print(f"tidings: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return Supervisor(socks).run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
