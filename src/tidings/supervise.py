"""Several HTTP server processes on one listening socket, watched by a small parent.

``tidings serve --workers N`` execs this module after it has read the settings and migrated:
the parent binds the socket once, starts ``N`` children (``tidings serve`` with one process
each, handed the socket's file descriptor), forwards SIGINT/SIGTERM to them, and starts a
child again when one dies. It imports nothing but the standard library, so it costs ~10 MB
where uvicorn's own supervisor (spawn, plus multiprocessing's resource tracker) cost ~50 MB
beside the servers. The kernel spreads connections over the children sharing the socket.

Usage (internal): ``python -m tidings.supervise HOST PORT N``; the environment is passed on.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

FD_ENV = "TIDINGS_INHERITED_FD"
"""Tells a child ``tidings serve`` to serve the inherited socket with this descriptor."""

_RESTART_PAUSE = 1.0
_STOP_GRACE = 30.0


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    def __init__(self, sock: socket.socket, processes: int) -> None:
        self.sock = sock
        self.processes = processes
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping = 0  # the signal that asked us to stop

    def _start_child(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, FD_ENV: str(self.sock.fileno()), "TIDINGS_HTTP_WORKERS": "1"}
        return subprocess.Popen(
            [sys.executable, "-m", "tidings", "serve"], env=env, pass_fds=(self.sock.fileno(),)
        )

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = signum

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        self.children = [self._start_child() for _ in range(self.processes)]
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
                    self.children[i] = self._start_child()
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
        self.sock.close()
        return 0


def main(argv: list[str]) -> int:
    host, port, processes = argv[0], int(argv[1]), int(argv[2])
    try:
        sock = bind(host, port)
    except OSError as exc:
        print(f"tidings: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return Supervisor(sock, processes).run()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
