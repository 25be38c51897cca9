"""A worker whose leases fail (the store is down) keeps trying without flooding the log, and
carries on once leasing works again."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tidings.queue.worker import Worker


class FlakyWorker(Worker[int]):
    def __init__(self, failures: int) -> None:
        super().__init__(concurrency=4, poll_seconds=0.001)
        self.failures = failures
        self.calls = 0
        self.queue = list(range(10))
        self.done: list[int] = []

    async def lease(self, limit: int) -> list[int]:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionRefusedError("[Errno 111] Connect call failed")
        got, self.queue = self.queue[:limit], self.queue[limit:]
        return got

    async def handle(self, job: int) -> None:
        self.done.append(job)


async def test_failing_leases_log_one_traceback_then_recover(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = FlakyWorker(failures=6)
    with caplog.at_level(logging.INFO, logger="tidings.queue.worker"):
        worker.start()
        for _ in range(500):
            if len(worker.done) == 10:
                break
            await asyncio.sleep(0.01)
        await worker.stop()
    assert sorted(worker.done) == list(range(10))
    assert worker.lease_failures == 0
    records = [r for r in caplog.records if r.name == "tidings.queue.worker"]
    with_traceback = [r for r in records if r.exc_info]
    assert len(with_traceback) == 1, [r.getMessage() for r in records]
    assert "lease failed" in with_traceback[0].getMessage()
    assert any("works again after 6 failures" in r.getMessage() for r in records)
    # six failures, one line each would have been six; the later ones are held back
    assert len([r for r in records if "fail" in r.getMessage()]) <= 3
