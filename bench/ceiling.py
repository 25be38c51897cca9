"""The send benchmark's reference: a bare ASGI app that only parses the form.

It reads the whole urlencoded body, parses it the way tidings does (``parse_qsl`` with blank
values and repeats kept), and answers a small JSON like Mailgun's. No framework, no store, no
authentication: what uvicorn on one process can serve for the same requests is the ceiling a
real send path is compared with. Served by ``python -m uvicorn bench.ceiling:app`` with the
options ``tidings serve`` uses, and on several processes by ``bench.ceiling_serve``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_HEADERS = [(b"content-type", b"application/json")]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    if scope["method"] == "POST":
        fields = parse_qsl(b"".join(chunks).decode("utf-8"), keep_blank_values=True)
        to = sum(1 for k, _ in fields if k == "to")
        body = orjson.dumps({"id": f"<ceiling.{to}@bench.test>", "message": "Queued. Thank you."})
    else:
        body = b'{"status":"ok"}'
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": body})
