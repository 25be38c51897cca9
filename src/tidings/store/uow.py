"""The transaction boundary: one unit of work per request or job. Repos never commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that commits on success and rolls back on error."""
    async with engine.begin() as conn:
        yield conn


@asynccontextmanager
async def reader(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only (no transaction is committed)."""
    async with engine.connect() as conn:
        yield conn
