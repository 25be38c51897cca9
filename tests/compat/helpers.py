"""Plain-HTTP helpers for the compatibility tests: read events and captured mail back."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.live import LiveServer

Event = dict[str, Any]
MAX_PAGES = 50


def http(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=("api", server.key), timeout=10)


def all_events(server: LiveServer, **params: str) -> list[Event]:
    """Every event matching ``params``: follow ``paging.next`` (absolute URLs) to an empty page."""
    items: list[Event] = []
    with http(server) as c:
        r = c.get(f"/v3/{server.domain}/events", params={"ascending": "yes", **params})
        for _ in range(MAX_PAGES):
            assert r.status_code == 200, r.text
            body = r.json()
            if not body["items"]:
                return items
            items.extend(body["items"])
            nxt = body["paging"]["next"]
            assert nxt.startswith(f"{server.url}/v3/{server.domain}/events/"), nxt
            r = c.get(nxt)
    raise AssertionError(f"events paging did not end within {MAX_PAGES} pages")


def wait_events(
    server: LiveServer,
    done: Callable[[list[Event]], bool],
    *,
    timeout: float = 10.0,
    **params: str,
) -> list[Event]:
    """Poll ``all_events(**params)`` until ``done(events)``; fail with what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        events = all_events(server, **params)
        if done(events):
            return events
        if time.monotonic() > deadline:
            seen = sorted((e.get("event"), e.get("recipient")) for e in events)
            raise AssertionError(f"timed out waiting for events; saw {seen}")
        time.sleep(0.1)


def has_each(kinds: set[str], recipients: set[str]) -> Callable[[list[Event]], bool]:
    """``done`` for ``wait_events``: every (kind, recipient) pair has appeared."""
    want = {(k, r) for k in kinds for r in recipients}

    def done(events: list[Event]) -> bool:
        return want <= {(e.get("event"), e.get("recipient")) for e in events}

    return done


def one(events: list[Event], kind: str, recipient: str) -> Event:
    found = [e for e in events if e["event"] == kind and e["recipient"] == recipient]
    assert len(found) == 1, (kind, recipient, found)
    return found[0]


def captured_mime(server: LiveServer, recipient: str, message_id: str) -> bytes:
    """The raw MIME the capture inbox received for ``recipient`` (exactly one expected)."""
    with http(server) as c:
        r = c.get(
            f"/v3/{server.domain}/capture",
            params={"recipient": recipient, "message-id": message_id},
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert len(items) == 1, items
        raw = c.get(f"/v3/{server.domain}/capture/{items[0]['id']}")
        assert raw.status_code == 200, raw.text
        return raw.content
