"""Shared fixtures: settings and a migrated store on SQLite and PostgreSQL, a running runtime,
an in-process API client, and a domain with an account key.

Every test that takes ``db_url`` runs once per database. PostgreSQL must be reachable: when it
is not, those tests fail (they never skip). Each test session gets its own PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text

from tidings.config import Settings
from tidings.runtime import Runtime
from tidings.store.engine import make_engine
from tidings.store.migrations import migrate
from tidings.store.repos import keys as key_repo
from tidings.store.tables import metadata

PG_ADMIN = os.environ.get("TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BASE_URL = "http://api.tidings.test"


def _pg_admin(sql: str) -> None:
    """Run one admin statement on its own loop in a thread (callers may be inside a loop)."""

    async def go() -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session (dropped afterwards)."""
    name = f"tidings_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    host = PG_ADMIN.rsplit("/", 1)[0].split("://", 1)[1]
    url = f"postgresql+asyncpg://{host}/{name}"
    try:
        migrate(url)
        yield url
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating once per session)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


async def _truncate(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "tidings.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_database")
    await _truncate(url)
    yield url


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        public_url=BASE_URL,
        worker_poll_seconds=0.05,
        commit_window_ms=0,
        dkim_key_bits=1024,
        mail_hostname="mail.tidings.test",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with Runtime(settings) as rt:
        yield rt


@dataclass
class Account:
    """A domain and an account key, ready for requests."""

    domain: str
    key: str

    @property
    def auth(self) -> tuple[str, str]:
        return ("api", self.key)

    @property
    def header(self) -> dict[str, str]:
        token = base64.b64encode(f"api:{self.key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


async def make_account(rt: Runtime, domain: str = "example.test") -> Account:
    from tidings.domains import service

    async with rt.engine.begin() as conn:
        await service.add(conn, rt.settings, domain)
        _, secret = await key_repo.create(conn)
    return Account(domain=domain, key=secret)


async def sending_key_client(rt: Runtime, domain: str) -> httpx.AsyncClient:
    """A client of ``rt``'s app authenticated with a new sending-only key of ``domain``."""
    from tidings.core.vocab import KeyKind, KeyRole
    from tidings.store.repos import domains as domain_repo

    async with rt.engine.begin() as conn:
        d = await domain_repo.get_by_name(conn, name=domain)
        assert d is not None
        _, secret = await key_repo.create(
            conn, kind=KeyKind.DOMAIN, role=KeyRole.SENDING, domain_id=d.id
        )
    transport = httpx.ASGITransport(app=rt.app)
    return httpx.AsyncClient(transport=transport, base_url="http://t", auth=("api", secret))


@pytest.fixture
async def account(runtime: Runtime) -> Account:
    return await make_account(runtime)


@pytest.fixture
async def client(runtime: Runtime, account: Account) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, auth=account.auth, timeout=30
    ) as c:
        yield c


@pytest.fixture
def shifted_clock() -> Iterator[list[float]]:
    """The clock runs real time plus ``offset[0]`` seconds."""
    import time

    from tidings.core import clock

    offset = [0.0]
    clock.set_clock(lambda: time.time() + offset[0])
    yield offset
    clock.set_clock(None)
