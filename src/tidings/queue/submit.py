"""Accepting a composed message: message, one delivery per recipient and ``accepted`` events,
written as one unit (all or nothing) and acknowledged only once committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidings.core import clock, ids
from tidings.core.model import Composed
from tidings.core.vocab import DeliveryState, Method
from tidings.events import render
from tidings.events.record import Recorder
from tidings.store.committer import WriteUnit
from tidings.store.repos.domains import Domain
from tidings.store.repos.tags import TagBook
from tidings.store.tables import deliveries, messages


def storage_url(base_url: str, domain: str, key: str) -> str:
    return f"{base_url}/v3/domains/{domain}/messages/{key}"


def message_meta(
    composed: Composed,
    *,
    domain: Domain,
    method: Method,
    key: str,
    base_url: str,
    tags: list[str],
) -> dict[str, Any]:
    """What every event of this message repeats (kept with the message)."""
    req = composed.request
    return {
        "headers": composed.headers,
        "attachments": composed.attachments,
        "size": composed.size,
        "recipients": [c.recipient for c in composed.recipients],
        "tags": tags,
        "user-variables": dict(req.variables),
        "flags": {"is-test-mode": req.testmode},
        "envelope-sender": composed.envelope_sender,
        "method": method.value,
        "storage": {"url": storage_url(base_url, domain.name, key), "key": key},
        "scheduled-for": req.deliver_at,
        # A batch's stored MIME keeps its %recipient.*% placeholders (filled in per copy).
        **({"batch": True} if req.is_batch else {}),
        "options": {
            "dkim": req.dkim,
            "tracking": req.tracking,
            "tracking-clicks": req.tracking_clicks,
            "tracking-opens": req.tracking_opens,
            "tracking-pixel-location-top": req.tracking_pixel_top,
            "require-tls": req.require_tls,
            "skip-verification": req.skip_verification,
            **req.options,
        },
    }


async def submit(
    composed: Composed,
    *,
    domain: Domain,
    method: Method,
    base_url: str,
    recorder: Recorder,
    tagbook: TagBook,
    on_commit: Callable[[], None] | None = None,
) -> str:
    """Store and queue ``composed``; returns its storage key once everything is durable."""
    now = clock.now()
    now_us = round(now * 1_000_000)
    key = ids.storage_key()
    tags, tag_rows = await tagbook.admit(domain.id, composed.request.tags, now_us)
    meta = message_meta(
        composed, domain=domain, method=method, key=key, base_url=base_url, tags=tags
    )
    deliver_at = composed.request.deliver_at
    due_us = round(deliver_at * 1_000_000) if deliver_at else now_us
    unit = WriteUnit()
    unit.insert(
        messages,
        {
            "domain_id": domain.id,
            "storage_key": key,
            "message_id": composed.message_id,
            "created_us": now_us,
            "expires_us": due_us + domain.message_ttl * 1_000_000,
            "size": composed.size,
            "mime": composed.mime,
            "meta": meta,
        },
    )
    rows = []
    payloads = []
    for copy in composed.recipients:
        dmeta = {
            "message-id": copy.message_id,
            "headers": copy.headers,
            "user-variables": copy.variables,
            "substitutions": copy.substitutions,
        }
        rows.append(
            {
                "domain_id": domain.id,
                "id": ids.event_id(),
                "storage_key": key,
                "recipient": copy.recipient,
                "state": DeliveryState.QUEUED.value,
                "attempts": 0,
                "due_us": due_us,
                "lease_until_us": 0,
                "created_us": now_us,
                "meta": dmeta,
            }
        )
        payloads.append(render.accepted(ts=now, msg=meta, dlv=dmeta, recipient=copy.recipient))
    unit.insert(deliveries, *rows)
    unit.many.extend((tagbook.upsert, row) for row in tag_rows)
    recorder.attach(unit, domain.id, payloads)
    if on_commit is not None:
        unit.after.append(on_commit)
    await recorder.committer.submit(unit)
    return key
