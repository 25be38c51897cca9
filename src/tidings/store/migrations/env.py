"""Alembic environment: runs migrations over the async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from tidings.store.engine import make_engine
from tidings.store.tables import metadata

config = context.config
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", pool_size=1)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


def _in_thread() -> None:
    asyncio.run(_main())


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
try:
    asyncio.get_running_loop()
except RuntimeError:
    asyncio.run(_main())
else:
    # Called from inside a running loop (tests, serve): run on a fresh loop in a thread.
    import threading

    t = threading.Thread(target=_in_thread)
    t.start()
    t.join()
