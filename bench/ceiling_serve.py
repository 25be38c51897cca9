"""The ceiling on several processes, spread as ``tidings serve --workers N`` spreads them.

``python -m bench.ceiling_serve HOST PORT N`` binds N listening sockets in one
``SO_REUSEPORT`` group with ``tidings.supervise.listeners`` (the function the tidings
supervisor uses) and serves ``bench.ceiling:app`` with uvicorn on each, one process per socket,
with the options of ``tidings serve``. uvicorn's own ``--workers`` has every process accept
from one shared socket, which spread 64 keep-alive connections unevenly (55/9 seen); the
reference must get the same spread as the server it is compared with. SIGINT or SIGTERM stops
the children.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys

from tidings.supervise import listeners


def serve_child(fd: int) -> None:
    import uvicorn

    config = uvicorn.Config(
        "bench.ceiling:app", log_level="warning", access_log=False, server_header=False
    )
    # uvicorn raises the signal again once it has shut down: a stop asked for, not an error.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


def main(argv: list[str]) -> int:
    if argv[0] == "--child":
        serve_child(int(argv[1]))
        return 0
    host, port, processes = argv[0], int(argv[1]), int(argv[2])
    socks = listeners(host, port, processes)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.ceiling_serve", "--child", str(s.fileno())],
            pass_fds=(s.fileno(),),
        )
        for s in dict.fromkeys(socks)
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    return max(child.wait() for child in children)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
