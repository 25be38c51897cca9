"""The retention chore: events and captured messages older than the retention go, newer stay."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from tests.conftest import Account
from tests.support.polling import events_for
from tidings.core import clock
from tidings.runtime import Runtime
from tidings.store.tables import captured, events


async def _counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.engine.connect() as conn:
        n_events = (await conn.execute(select(func.count()).select_from(events))).scalar_one()
        n_captured = (await conn.execute(select(func.count()).select_from(captured))).scalar_one()
    return int(n_events), int(n_captured)


async def test_old_events_and_captures_are_purged(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    import time

    days = runtime.settings.events_retention_days
    try:
        clock.set_clock(lambda: time.time() - (days + 1) * 86400)  # sent long ago
        r = await client.post(
            f"/v3/{account.domain}/messages",
            data={"from": "s@example.test", "to": "old@example.org", "text": "x"},
        )
        assert r.status_code == 200
        await events_for(client, account.domain, want=1, event="delivered", ascending="yes")
    finally:
        clock.set_clock(None)
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={"from": "s@example.test", "to": "new@example.org", "text": "x"},
    )
    assert r.status_code == 200
    await events_for(client, account.domain, want=2, event="delivered", ascending="yes")
    assert await _counts(runtime) == (4, 2)
    await runtime.purge_old_events()
    assert await _counts(runtime) == (2, 1)
    left = (await client.get(f"/v3/{account.domain}/capture")).json()["items"]
    assert [i["recipient"] for i in left] == ["new@example.org"]
