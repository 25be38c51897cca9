"""Tags per domain: the first and last time each was seen, and Mailgun's per-domain limit.

Sends carry tags on the hot path, so a process remembers each domain's tags and writes a row
only for a tag it has not seen, or whose ``last_seen_us`` is over a minute old. Mailgun keeps
at most 20,000 tags per domain; a tag past that limit is left off the message's events (the
message is still sent) and a warning is logged. Several processes may each admit a few tags
at the limit at once: the limit is approximate by that much.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from tidings.store.tables import tags

log = logging.getLogger(__name__)

TAGS_PER_DOMAIN = 20_000
REFRESH_US = 60 * 1_000_000


def upsert_statement(dialect: str) -> Executable:
    """Insert a tag, or move its ``last_seen_us`` forward (one parameter set per tag)."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(tags).values(
        domain_id=bindparam("t_domain"),
        tag=bindparam("t_tag"),
        description="",
        first_seen_us=bindparam("t_seen"),
        last_seen_us=bindparam("t_seen"),
    )
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=[tags.c.domain_id, tags.c.tag],
        set_={"last_seen_us": stmt.excluded.last_seen_us},
    )
    return upsert


class TagBook:
    def __init__(self, engine: AsyncEngine, *, limit: int = TAGS_PER_DOMAIN) -> None:
        self.engine = engine
        self.limit = limit
        self.upsert = upsert_statement(engine.dialect.name)
        self._seen: dict[int, dict[str, int]] = {}

    async def _domain(self, domain_id: int) -> dict[str, int]:
        known = self._seen.get(domain_id)
        if known is None:
            async with self.engine.connect() as conn:
                rows = await conn.execute(
                    select(tags.c.tag, tags.c.last_seen_us).where(tags.c.domain_id == domain_id)
                )
                known = {r.tag: r.last_seen_us for r in rows}
            self._seen[domain_id] = known
        return known

    async def admit(
        self, domain_id: int, wanted: Sequence[str], now_us: int
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """The tags a send keeps (in order) and the tag rows to upsert with it."""
        if not wanted:
            return [], []
        known = await self._domain(domain_id)
        kept: list[str] = []
        rows: list[dict[str, Any]] = []
        for tag in wanted:
            key = tag.lower()
            seen = known.get(key)
            if seen is None and len(known) >= self.limit:
                log.warning(
                    "domain %d has %d tags, the most it may have: tag %r left off",
                    domain_id,
                    self.limit,
                    tag,
                )
                continue
            kept.append(tag)
            if seen is None or now_us - seen > REFRESH_US:
                known[key] = now_us
                rows.append({"t_domain": domain_id, "t_tag": key, "t_seen": now_us})
        return kept, rows

    def forget(self, domain_id: int) -> None:
        self._seen.pop(domain_id, None)
