"""Expired messages go with their finished deliveries; a message with a queued copy stays."""

from __future__ import annotations

import httpx
from sqlalchemy import Table, func, select, update

from tests.conftest import Account
from tests.support.polling import events_for
from tidings.core import clock
from tidings.runtime import Runtime
from tidings.store.tables import deliveries, messages


async def _count(runtime: Runtime, table: Table) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_purge_expired_messages(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, shifted_clock: list[float]
) -> None:
    assert runtime.worker is not None
    for i in range(5):
        r = await client.post(
            f"/v3/{account.domain}/messages",
            data={"from": "s@example.test", "to": f"p{i}@example.org", "text": "x"},
        )
        assert r.status_code == 200
    accepted = await events_for(client, account.domain, want=5, event="accepted")
    urls = [e["storage"]["url"] for e in accepted]
    await events_for(client, account.domain, want=5, event="delivered")
    # one copy back in the queue, as if a retry were waiting
    waiting_key = accepted[0]["storage"]["key"]
    async with runtime.engine.begin() as conn:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.storage_key == waiting_key)
            .values(state="queued", due_us=clock.now_us() + 10**12)
        )
    assert await runtime.worker.purge_expired() == 0  # nothing has expired yet
    shifted_clock[0] = runtime.settings.message_ttl + 60  # past every message's retention
    assert await runtime.worker.purge_expired(chunk=2) == 4  # chunks of 2 walk past the kept one
    assert await _count(runtime, messages) == 1
    assert await _count(runtime, deliveries) == 1
    async with runtime.engine.connect() as conn:
        left = (await conn.execute(select(messages.c.storage_key))).scalars().all()
    assert left == [waiting_key]
    # past its retention the kept body is no longer served, though a queued copy still needs it
    for url in urls:
        assert (await client.get(url)).status_code == 404
