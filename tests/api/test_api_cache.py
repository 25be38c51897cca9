"""The key and domain cache: concurrent misses share one load; failures are not shared."""

from __future__ import annotations

import asyncio

import pytest

from tidings.api.deps import TtlCache


async def test_concurrent_misses_share_one_load() -> None:
    cache: TtlCache[str] = TtlCache(seconds=60)
    calls = 0
    gate = asyncio.Event()

    async def load() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "row"

    tasks = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == ["row"] * 20
    assert calls == 1
    assert await cache.get_or_load("k", load) == "row"
    assert calls == 1


async def test_a_miss_is_shared_but_not_remembered() -> None:
    cache: TtlCache[str] = TtlCache(seconds=60)
    calls = 0

    async def load() -> str | None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return None

    assert await asyncio.gather(*[cache.get_or_load("k", load) for _ in range(5)]) == [None] * 5
    assert calls == 1
    assert await cache.get_or_load("k", load) is None
    assert calls == 2


async def test_a_failed_load_fails_its_caller_and_the_waiters_load_again() -> None:
    cache: TtlCache[str] = TtlCache(seconds=60)
    calls = 0

    async def load() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise ConnectionError("database went away")
        return "row"

    first = asyncio.create_task(cache.get_or_load("k", load))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(cache.get_or_load("k", load)) for _ in range(3)]
    with pytest.raises(ConnectionError):
        await first
    assert await asyncio.gather(*waiters) == ["row"] * 3
    assert calls == 2


async def test_forget_drops_the_entry() -> None:
    cache: TtlCache[str] = TtlCache(seconds=60)
    values = iter(["old", "new"])

    async def load() -> str:
        return next(values)

    assert await cache.get_or_load("k", load) == "old"
    cache.forget("k")
    assert await cache.get_or_load("k", load) == "new"
