"""Named dependencies: the services a request needs, the caller's key, the path's domain."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from tidings.config import Settings
from tidings.core.load import RequestLoad
from tidings.errors import Forbidden, NotFound, Unauthorized
from tidings.events.record import Recorder
from tidings.store.repos import domains as domain_repo
from tidings.store.repos import keys as key_repo
from tidings.store.repos.domains import Domain
from tidings.store.repos.keys import ApiKey
from tidings.store.repos.tags import TagBook

CACHE_SECONDS = 5.0
T = TypeVar("T")


class TtlCache(Generic[T]):
    """Positive lookups remembered for a few seconds (keys and domains on the hot path).

    Concurrent misses of one key share a single load: when an entry expires under load, the
    requests that find it missing wait for one query instead of each running their own.
    """

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._items: dict[str, tuple[float, T]] = {}
        self._loading: dict[str, asyncio.Future[T | None]] = {}

    def get(self, key: str) -> T | None:
        hit = self._items.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def put(self, key: str, value: T) -> None:
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        self._items.clear()
        self._loading.clear()

    def forget(self, key: str) -> None:
        self._items.pop(key, None)
        self._loading.pop(key, None)  # a load in flight may have read the old row

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[T | None]]) -> T | None:
        """The cached value, or ``load()``'s (remembered when it found something)."""
        value = self.get(key)
        if value is not None:
            return value
        while (pending := self._loading.get(key)) is not None:
            await asyncio.wait([pending])
            if not pending.cancelled():
                return pending.result()
            # The shared load failed (its caller got the error): the next one is shared again.
        value = self.get(key)
        if value is not None:
            return value
        fut: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = fut
        try:
            value = await load()
        except BaseException:
            fut.cancel()
            raise
        finally:
            forgotten = self._loading.get(key) is not fut  # forget() ran while loading
            if not forgotten:
                del self._loading[key]
        if value is not None and not forgotten:
            self.put(key, value)
        fut.set_result(value)
        return value


@dataclass
class Services:
    """What the API layer is handed by ``runtime`` (it never builds these itself)."""

    settings: Settings
    engine: AsyncEngine
    recorder: Recorder
    tagbook: TagBook
    on_submit: Callable[[], None] | None = None
    load: RequestLoad = field(default_factory=RequestLoad)
    _keys: TtlCache[ApiKey] = field(default_factory=TtlCache)
    _domains: TtlCache[Domain] = field(default_factory=TtlCache)

    async def authenticate(self, secret: str) -> ApiKey | None:
        async def load() -> ApiKey | None:
            async with self.engine.connect() as conn:
                return await key_repo.find(conn, secret=secret)

        return await self._keys.get_or_load(key_repo.digest(secret), load)

    async def domain(self, name: str) -> Domain | None:
        name = name.lower()
        if "\x00" in name:  # no domain has one, and PostgreSQL text cannot hold it
            return None

        async def load() -> Domain | None:
            async with self.engine.connect() as conn:
                return await domain_repo.get_by_name(conn, name=name)

        return await self._domains.get_or_load(name, load)

    def forget_domain(self, name: str, domain_id: int | None = None) -> None:
        self._domains.forget(name.lower())
        if domain_id is not None:  # deleted: its tags and keys went with it
            self.tagbook.forget(domain_id)
            self._keys.clear()


async def services(request: Request) -> Services:
    # async on purpose: FastAPI runs plain-def dependencies in a thread pool.
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


def secret_of(request: Request) -> str:
    """The API key from HTTP Basic auth (any user name; the password is the key)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("missing credentials")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed credentials") from None
    # Any user name is accepted (mailgun.js lets users pick one); the password is the key.
    _, sep, password = decoded.partition(":")
    if not sep or not password:
        raise Unauthorized("missing key")
    return password


async def api_key(request: Request, svc: Svc) -> ApiKey:
    key = await svc.authenticate(secret_of(request))
    if key is None:
        raise Unauthorized("unknown key")
    return key


Key = Annotated[ApiKey, Depends(api_key)]


async def domain_for(name: str, svc: Services, key: ApiKey, *, sending: bool) -> Domain:
    if key.domain_id is not None and not sending:
        raise Forbidden("Forbidden: this key may only send messages")
    found = await svc.domain(name)
    if found is None:
        raise NotFound(f"Domain not found: {name}", domain=name)
    # A domain key made before its domain was made belongs to a deleted domain whose id the
    # store gave out again (SQLite reuses the highest rowid); another process may still have
    # it cached for a few seconds.
    if key.domain_id is not None and (
        key.domain_id != found.id or key.created_us < found.created_us
    ):
        raise Forbidden("Forbidden: this key may not send for this domain")
    if not sending and not key.may_read():
        raise Forbidden("Forbidden: this key may only send messages")
    return found


async def sending_domain(domain: str, svc: Svc, key: Key) -> Domain:
    """The path's domain, for a key allowed to send for it."""
    return await domain_for(domain, svc, key, sending=True)


async def path_domain(domain: str, svc: Svc, key: Key) -> Domain:
    """The path's domain, for a key allowed to read and manage it."""
    return await domain_for(domain, svc, key, sending=False)


async def account_key(key: Key) -> ApiKey:
    """A key allowed to manage the account (not a sending-only key)."""
    if key.domain_id is not None or not key.may_read():
        raise Forbidden("Forbidden")
    return key


SendingDomain = Annotated[Domain, Depends(sending_domain)]
PathDomain = Annotated[Domain, Depends(path_domain)]
AccountKey = Annotated[ApiKey, Depends(account_key)]
