"""A real tidings server on 127.0.0.1 (port 0) in a background thread, for real clients."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from tidings.config import Settings
from tidings.domains import service
from tidings.runtime import Runtime
from tidings.store.repos import keys as key_repo


@dataclass
class LiveServer:
    url: str
    domain: str
    key: str
    settings: Settings


@contextmanager
def live_server(settings: Settings, domain: str = "example.test") -> Iterator[LiveServer]:
    """Serve ``settings``' store over HTTP on a fresh loopback port until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"public_url": url, "http_listen": f"127.0.0.1:{port}"})
    ready = threading.Event()
    state: dict[str, object] = {}

    async def main() -> None:
        async with Runtime(settings) as rt:
            async with rt.engine.begin() as conn:
                await service.add(conn, settings, domain)
                _, secret = await key_repo.create(conn)
            state["key"] = secret
            config = uvicorn.Config(rt.app, log_level="warning", access_log=False, lifespan="off")
            server = uvicorn.Server(config)
            state["server"] = server
            serve = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not serve.done():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            ready.set()
            await serve

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test thread
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="tidings-live", daemon=True)
    thread.start()
    if not ready.wait(60) or "error" in state:
        raise RuntimeError(f"live server did not start: {state.get('error')!r}")
    try:
        yield LiveServer(url=url, domain=domain, key=str(state["key"]), settings=settings)
    finally:
        server = state.get("server")
        if isinstance(server, uvicorn.Server):
            server.should_exit = True
        thread.join(30)
        sock.close()
