"""Appending events: through the group committer, listeners called after commit.

``runtime`` registers listeners (webhook fan-out, stats); ``events`` never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from tidings.events import render
from tidings.store.committer import GroupCommitter, WriteUnit
from tidings.store.tables import events

log = logging.getLogger(__name__)

Listener = Callable[[int, list[dict[str, Any]]], None]


class Recorder:
    """Adds event rows to write units and tells listeners once they have committed."""

    def __init__(self, committer: GroupCommitter) -> None:
        self.committer = committer
        self.listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def attach(self, unit: WriteUnit, domain_id: int, payloads: list[dict[str, Any]]) -> None:
        """Write ``payloads`` as part of ``unit`` (all or nothing with the unit's other rows)."""
        if not payloads:
            return
        unit.insert(events, *(render.row(domain_id, p) for p in payloads))
        if self.listeners:
            unit.after.append(lambda: self._notify(domain_id, payloads))

    async def record(self, domain_id: int, payloads: list[dict[str, Any]]) -> None:
        """Append events on their own and wait until they are durable."""
        unit = WriteUnit()
        self.attach(unit, domain_id, payloads)
        await self.committer.submit(unit)

    def _notify(self, domain_id: int, payloads: list[dict[str, Any]]) -> None:
        for listener in self.listeners:
            try:
                listener(domain_id, payloads)
            except Exception:
                log.exception("event listener failed")
