"""Tags per domain: recorded on send, case-insensitive, capped at the domain limit."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from tests.conftest import Account
from tests.support.polling import events_for
from tidings.runtime import Runtime
from tidings.store.tables import tags


async def _send(client: httpx.AsyncClient, domain: str, *tag: str) -> str:
    r = await client.post(
        f"/v3/{domain}/messages",
        data={"from": "s@example.test", "to": "t@example.org", "text": "x", "o:tag": list(tag)},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["id"][1:-1])


async def test_tags_are_recorded_once_per_domain(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    await _send(client, account.domain, "Newsletter", "weekly")
    await _send(client, account.domain, "newsletter")
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(select(tags.c.tag, tags.c.first_seen_us))).all()
    assert sorted(r.tag for r in rows) == ["newsletter", "weekly"]
    assert all(r.first_seen_us > 0 for r in rows)


async def test_tags_past_the_domain_limit_are_left_off(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    runtime.services.tagbook.limit = 2
    await _send(client, account.domain, "one", "two")
    mid = await _send(client, account.domain, "three", "one")
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": mid}
    )
    assert acc["tags"] == ["one"]  # the message went out; the tag over the limit did not stick
    async with runtime.engine.connect() as conn:
        names = sorted((await conn.execute(select(tags.c.tag))).scalars())
    assert names == ["one", "two"]
