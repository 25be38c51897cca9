"""Scheduled sends wait for their time; temporary failures are retried on the schedule."""

from __future__ import annotations

import asyncio
from email.utils import formatdate

import httpx

from tests.conftest import Account
from tests.support.polling import events_for
from tidings.core import clock
from tidings.delivery.transport import DeliveryOutcome, Envelope, Outcome
from tidings.queue.schedule import DELIVERY_RETRIES
from tidings.runtime import Runtime


async def test_deliverytime_is_honoured(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, shifted_clock: list[float]
) -> None:
    at = clock.now() + 3600
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={
            "from": "s@example.test",
            "to": "later@example.org",
            "text": "x",
            "o:deliverytime": formatdate(at, usegmt=True),
        },
    )
    assert r.status_code == 200, r.text
    mid = r.json()["id"][1:-1]
    (acc,) = await events_for(client, account.domain, want=1, **{"message-id": mid})
    assert acc["message"]["scheduled-for"] == int(at)
    assert runtime.worker is not None
    runtime.worker.wake()
    items = (await client.get(f"/v3/{account.domain}/events", params={"message-id": mid})).json()
    assert [e["event"] for e in items["items"]] == ["accepted"]  # not yet
    shifted_clock[0] = 3601
    runtime.worker.wake()
    (dlv,) = await events_for(
        client, account.domain, want=1, event="delivered", **{"message-id": mid}
    )
    assert dlv["recipient"] == "later@example.org"


class FlakyTransport:
    """Answers 451 a given number of times, then takes the message."""

    sending_ip = "127.0.0.1"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def send(self, envelope: Envelope, data: bytes) -> DeliveryOutcome:
        self.calls += 1
        if self.calls <= self.failures:
            return DeliveryOutcome(
                outcome=Outcome.TEMPORARY,
                code=451,
                message="4.7.1 Try again later",
                enhanced_code="4.7.1",
                mx_host="mx.example.org",
            )
        return DeliveryOutcome(outcome=Outcome.DELIVERED, code=250, message="OK")


async def test_temporary_failure_is_retried(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, shifted_clock: list[float]
) -> None:
    assert runtime.worker is not None
    flaky = FlakyTransport(failures=1)
    runtime.worker.transport = flaky
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={"from": "s@example.test", "to": "retry@example.org", "text": "x"},
    )
    mid = r.json()["id"][1:-1]
    (failed,) = await events_for(
        client, account.domain, want=1, event="failed", **{"message-id": mid}
    )
    assert failed["severity"] == "temporary"
    assert failed["log-level"] == "warn"
    status = failed["delivery-status"]
    assert status["code"] == 451 and status["attempt-no"] == 1
    assert status["retry-seconds"] == DELIVERY_RETRIES[0]
    assert status["enhanced-code"] == "4.7.1"
    shifted_clock[0] = DELIVERY_RETRIES[0] + 1
    runtime.worker.wake()
    (dlv,) = await events_for(
        client, account.domain, want=1, event="delivered", **{"message-id": mid}
    )
    assert dlv["delivery-status"]["attempt-no"] == 2
    assert flaky.calls == 2


async def test_permanent_failure_after_the_last_retry(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, shifted_clock: list[float]
) -> None:
    assert runtime.worker is not None
    runtime.worker.transport = FlakyTransport(failures=len(DELIVERY_RETRIES) + 1)
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={"from": "s@example.test", "to": "never@example.org", "text": "x"},
    )
    mid = r.json()["id"][1:-1]
    for attempt, delay in enumerate(DELIVERY_RETRIES, start=1):
        await events_for(
            client, account.domain, want=attempt, event="failed", **{"message-id": mid}
        )
        shifted_clock[0] += delay + 1
        runtime.worker.wake()
    items = await events_for(
        client,
        account.domain,
        want=1,
        event="failed",
        severity="permanent",
        **{"message-id": mid},
    )
    assert items[0]["reason"] == "old"
    assert items[0]["log-level"] == "error"
    assert items[0]["delivery-status"]["attempt-no"] == len(DELIVERY_RETRIES) + 1


class BrokenTransport:
    """Raises instead of reporting an outcome (a bug in a transport)."""

    sending_ip = "127.0.0.1"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, envelope: Envelope, data: bytes) -> DeliveryOutcome:
        self.calls += 1
        raise RuntimeError("transport bug")


async def test_a_raising_transport_is_retried_on_the_schedule_then_fails(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, shifted_clock: list[float]
) -> None:
    assert runtime.worker is not None
    broken = BrokenTransport()
    runtime.worker.transport = broken
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={"from": "s@example.test", "to": "bug@example.org", "text": "x"},
    )
    mid = r.json()["id"][1:-1]
    (first,) = await events_for(
        client, account.domain, want=1, event="failed", **{"message-id": mid}
    )
    assert first["severity"] == "temporary"
    assert first["delivery-status"]["retry-seconds"] == DELIVERY_RETRIES[0]
    assert "RuntimeError" in first["delivery-status"]["description"]
    for attempt, delay in enumerate(DELIVERY_RETRIES, start=1):
        await events_for(
            client, account.domain, want=attempt, event="failed", **{"message-id": mid}
        )
        shifted_clock[0] += delay + 1
        runtime.worker.wake()
    (last,) = await events_for(
        client,
        account.domain,
        want=1,
        event="failed",
        severity="permanent",
        **{"message-id": mid},
    )
    assert last["delivery-status"]["attempt-no"] == len(DELIVERY_RETRIES) + 1
    assert broken.calls == len(DELIVERY_RETRIES) + 1


class StallingTransport:
    """Its first send outlives the delivery's lease (as a process stalled mid-send would)."""

    sending_ip = "127.0.0.1"

    def __init__(self, clock_shift: list[float], stall: float) -> None:
        self.clock_shift = clock_shift
        self.stall = stall
        self.calls = 0

    async def send(self, envelope: Envelope, data: bytes) -> DeliveryOutcome:
        self.calls += 1
        if self.calls == 1:
            self.clock_shift[0] += self.stall
        return DeliveryOutcome(outcome=Outcome.DELIVERED, code=250, message="OK")


async def test_an_outcome_after_the_lease_ran_out_is_left_to_the_next_attempt(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, shifted_clock: list[float]
) -> None:
    """The row may be another worker's once the lease is over: the late holder records
    nothing, and the delivery is made and recorded once, by the next lease."""
    worker = runtime.worker
    assert worker is not None
    stalling = StallingTransport(shifted_clock, stall=worker.lease_us / 1_000_000 + 1)
    worker.transport = stalling
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={"from": "s@example.test", "to": "stall@example.org", "text": "x"},
    )
    mid = r.json()["id"][1:-1]
    for _ in range(200):
        if worker.outlived_leases:
            break
        await asyncio.sleep(0.01)
    assert worker.outlived_leases == 1
    worker.wake()
    (dlv,) = await events_for(
        client, account.domain, want=1, event="delivered", **{"message-id": mid}
    )
    assert dlv["delivery-status"]["attempt-no"] == 2
    assert stalling.calls == 2
    items = (await client.get(f"/v3/{account.domain}/events", params={"message-id": mid})).json()
    assert sorted(e["event"] for e in items["items"]) == ["accepted", "delivered"]
