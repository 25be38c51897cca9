"""The delivery worker: lease due deliveries, hand each to the transport, record the outcome.

Outcome and the delivery row's new state are written in one unit, so an event is never
recorded for a state that did not commit (and the reverse).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tidings.compose.mime import personalize
from tidings.core import clock
from tidings.core.load import RequestLoad
from tidings.core.model import RecipientCopy
from tidings.core.vocab import DeliveryState, Reason, Severity
from tidings.delivery.transport import DeliveryOutcome, Envelope, Outcome, Transport
from tidings.events import render
from tidings.events.record import Recorder
from tidings.queue.lease import lease_deliveries
from tidings.queue.schedule import retry_delay
from tidings.queue.worker import Worker
from tidings.store.committer import WriteUnit
from tidings.store.tables import deliveries, messages

log = logging.getLogger(__name__)

Row = dict[str, Any]

#: An outcome is recorded only while this much of its lease is left (at most a tenth of it).
_LEASE_MARGIN_US = 1_000_000

_d = deliveries.c
_ONE = and_(_d.domain_id == bindparam("k_domain"), _d.id == bindparam("k_id"))
# Shared statement objects: the group committer runs each once per batch (executemany).
MARK_DELIVERED = update(deliveries).where(_ONE).values(state=DeliveryState.DELIVERED.value)
MARK_FAILED = update(deliveries).where(_ONE).values(state=DeliveryState.FAILED.value)
RESCHEDULE = update(deliveries).where(_ONE).values(due_us=bindparam("k_due"), lease_until_us=0)


def bodies_query(domain_id: int, keys: list[str]) -> Select[Any]:
    """The stored messages ``keys`` of one domain, found through the primary key."""
    m = messages.c
    return select(m.domain_id, m.storage_key, m.mime, m.meta).where(
        m.domain_id == domain_id, m.storage_key.in_(keys)
    )


class _MessageCache:
    """Recently used messages, so a batch of copies loads its message once."""

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, str], tuple[bytes | None, Row]] = OrderedDict()

    def get(self, key: tuple[int, str]) -> tuple[bytes | None, Row] | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[int, str], value: tuple[bytes | None, Row]) -> None:
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)


class DeliveryWorker(Worker[Row]):
    name = "delivery"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        recorder: Recorder,
        transport: Transport,
        concurrency: int,
        poll_seconds: float,
        lease_seconds: int,
        load: RequestLoad | None = None,
        busy_rate: int = 0,
    ) -> None:
        super().__init__(
            concurrency=concurrency, poll_seconds=poll_seconds, load=load, busy_rate=busy_rate
        )
        self.engine = engine
        self.recorder = recorder
        self.transport = transport
        self.lease_us = lease_seconds * 1_000_000
        self.outlived_leases = 0
        """Outcomes dropped because their lease had run out before they were recorded."""
        self._cache = _MessageCache(size=2 * concurrency)
        self.add_chore(60.0, self.purge_expired)

    async def lease(self, limit: int) -> list[Row]:
        jobs = await lease_deliveries(
            self.engine, now_us=clock.now_us(), lease_us=self.lease_us, limit=limit
        )
        await self._prefetch(jobs)
        return jobs

    async def _prefetch(self, jobs: list[Row]) -> None:
        """Load the messages of a leased batch with one query (copies of one message share)."""
        wanted = {(j["domain_id"], j["storage_key"]) for j in jobs}
        missing = [k for k in wanted if self._cache.get(k) is None]
        if not missing:
            return
        by_domain: dict[int, list[str]] = {}
        for domain_id, key in missing:
            by_domain.setdefault(domain_id, []).append(key)
        async with self.engine.connect() as conn:
            # One domain per query, so that the primary key (domain_id, storage_key) serves
            # it; SQLite scans the table for a row-value IN list.
            for domain_id, keys in by_domain.items():
                for start in range(0, len(keys), 200):
                    rows = await conn.execute(bodies_query(domain_id, keys[start : start + 200]))
                    for r in rows:
                        self._cache.put((r.domain_id, r.storage_key), (r.mime, r.meta))

    async def _message(self, domain_id: int, key: str) -> tuple[bytes | None, Row] | None:
        cached = self._cache.get((domain_id, key))
        if cached is not None:
            return cached
        m = messages.c
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(m.mime, m.meta).where(
                        and_(m.domain_id == domain_id, m.storage_key == key)
                    )
                )
            ).first()
        if row is None:
            return None
        value = (row.mime, row.meta)
        self._cache.put((domain_id, key), value)
        return value

    async def handle(self, job: Row) -> None:
        try:
            await self._deliver(job)
        except Exception as exc:
            # A bug or a store hiccup while delivering counts as a temporary failure, so the
            # retry table bounds it like any other; without this the job would come back
            # every lease period for ever.
            log.exception("delivery %s failed inside tidings", job["id"])
            cached = self._cache.get((job["domain_id"], job["storage_key"]))
            outcome = DeliveryOutcome(
                outcome=Outcome.TEMPORARY,
                code=0,
                message="",
                description=f"Internal error while delivering: {type(exc).__name__}",
            )
            await self._record(
                job, cached[1] if cached else None, job["meta"], outcome, job["attempts"]
            )

    async def _deliver(self, job: Row) -> None:
        found = await self._message(job["domain_id"], job["storage_key"])
        dmeta: Row = job["meta"]
        attempt: int = job["attempts"]
        mime = found[0] if found else None
        if found is None or mime is None:
            msg = found[1] if found else None
            outcome = DeliveryOutcome(
                outcome=Outcome.PERMANENT,
                code=0,
                message="",
                description="The stored message expired before it could be delivered",
                reason=Reason.OLD.value,
            )
            await self._record(job, msg, dmeta, outcome, attempt)
            return
        msg = found[1]
        if msg.get("flags", {}).get("is-test-mode"):
            # o:testmode: processed but not sent; Mailgun reports code 650.
            outcome = DeliveryOutcome(outcome=Outcome.DELIVERED, code=650, message="Test mode")
            await self._record(job, msg, dmeta, outcome, attempt)
            return
        copy = RecipientCopy(
            recipient=job["recipient"],
            message_id=dmeta["message-id"],
            headers=dmeta["headers"],
            variables=dmeta["user-variables"],
            substitutions=dmeta.get("substitutions"),
        )
        data = personalize(mime, copy)
        envelope = Envelope(
            domain_id=job["domain_id"],
            sender=msg["envelope-sender"],
            recipient=job["recipient"],
            message_id=dmeta["message-id"],
            subject=(dmeta.get("headers") or msg["headers"]).get("subject", ""),
        )
        outcome = await self.transport.send(envelope, data)
        await self._record(job, msg, dmeta, outcome, attempt)

    async def _record(
        self, job: Row, msg: Row | None, dmeta: Row, outcome: DeliveryOutcome, attempt: int
    ) -> None:
        now = clock.now()
        if round(now * 1_000_000) > job["lease_until_us"] - min(
            _LEASE_MARGIN_US, self.lease_us // 10
        ):
            # Our lease has run out, or nearly: the row may be another worker's by now, and it
            # delivers and records it. Recording ours too would capture it twice (docs/queue.md,
            # Known limits: what is left is the moment between this check and the commit).
            log.warning(
                "delivery %s outlived its lease; its outcome is left to the next attempt",
                job["id"],
            )
            self.outlived_leases += 1
            return
        key = {"k_domain": job["domain_id"], "k_id": job["id"]}
        unit = WriteUnit()
        if outcome.writes is not None:
            unit.merge(outcome.writes)
        status = outcome.status(attempt)
        ip = self.transport.sending_ip
        payload: Row | None = None
        if outcome.outcome is Outcome.DELIVERED:
            unit.many.append((MARK_DELIVERED, key))
            if msg is not None:
                payload = render.delivered(
                    ts=now,
                    msg=msg,
                    dlv=dmeta,
                    recipient=job["recipient"],
                    status=status,
                    sending_ip=ip,
                )
        else:
            delay = retry_delay(attempt) if outcome.outcome is Outcome.TEMPORARY else None
            severity = Severity.TEMPORARY if delay is not None else Severity.PERMANENT
            reason = Reason(outcome.reason)
            if outcome.outcome is Outcome.TEMPORARY and delay is None:
                reason = Reason.OLD
            if delay is not None:
                status["retry-seconds"] = delay
                unit.many.append((RESCHEDULE, {**key, "k_due": round((now + delay) * 1_000_000)}))
            else:
                unit.many.append((MARK_FAILED, key))
            if msg is not None:
                payload = render.failed(
                    ts=now,
                    msg=msg,
                    dlv=dmeta,
                    recipient=job["recipient"],
                    status=status,
                    severity=severity,
                    reason=reason,
                    sending_ip=ip,
                )
        if payload is not None:
            self.recorder.attach(unit, job["domain_id"], [payload])
        await self.recorder.committer.submit(unit)

    async def purge_expired(self, chunk: int = 500) -> int:
        """Drop messages past their retention and the finished deliveries that point at them;
        a message that still has a queued copy stays until that copy is done. Works through
        the expired messages ``chunk`` at a time, one short transaction each, along the
        ``expires_us`` and ``(domain_id, storage_key)`` indexes. Returns how many it dropped."""
        now_us = clock.now_us()
        m, d = messages.c, deliveries.c
        after: tuple[int, int, str] = (-1, 0, "")
        dropped = 0
        while True:
            async with self.engine.begin() as conn:
                expired = (
                    await conn.execute(
                        select(m.expires_us, m.domain_id, m.storage_key)
                        .where(
                            m.expires_us < now_us,
                            tuple_(m.expires_us, m.domain_id, m.storage_key) > tuple_(*after),
                        )
                        .order_by(m.expires_us, m.domain_id, m.storage_key)
                        .limit(chunk)
                    )
                ).all()
                for _, domain_id, key in expired:
                    mine = and_(d.domain_id == domain_id, d.storage_key == key)
                    queued = await conn.execute(
                        select(d.id).where(mine, d.state == DeliveryState.QUEUED.value).limit(1)
                    )
                    if queued.first() is not None:
                        continue
                    await conn.execute(delete(deliveries).where(mine))
                    await conn.execute(
                        delete(messages).where(m.domain_id == domain_id, m.storage_key == key)
                    )
                    dropped += 1
            if len(expired) < chunk:
                return dropped
            last = expired[-1]
            after = (last.expires_us, last.domain_id, last.storage_key)
