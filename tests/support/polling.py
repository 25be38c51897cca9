"""Waiting for asynchronous outcomes (the delivery worker) without fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx


async def events_for(
    client: httpx.AsyncClient, domain: str, *, want: int, wait: float = 15.0, **params: str
) -> list[dict[str, Any]]:
    """Poll the Events API until at least ``want`` items match ``params``."""
    deadline = time.monotonic() + wait
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        r = await client.get(f"/v3/{domain}/events", params={"limit": "300", **params})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if len(items) >= want:
            return items
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(items)} of {want} events for {params} after {wait}s")
