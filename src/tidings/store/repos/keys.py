"""API keys: stored as SHA-256 digests of the secret, found by digest, compared in constant time.

Secrets are 128-bit random values, so a plain digest is enough (no password stretching needed)
and lets a lookup go straight to the row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core import clock
from tidings.core.vocab import KeyKind, KeyRole
from tidings.store.tables import api_keys


@dataclass(frozen=True)
class ApiKey:
    id: str
    kind: str
    role: str
    domain_id: int | None
    description: str
    created_us: int
    expires_us: int | None
    is_disabled: bool

    def may_read(self) -> bool:
        """Sending keys may only send."""
        return self.kind == KeyKind.USER.value and self.role != KeyRole.SENDING.value


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def new_secret() -> str:
    return "key-" + secrets.token_hex(16)


def new_key_id() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(4)}"


async def create(
    conn: AsyncConnection,
    *,
    kind: KeyKind = KeyKind.USER,
    role: KeyRole = KeyRole.ADMIN,
    domain_id: int | None = None,
    description: str = "",
) -> tuple[ApiKey, str]:
    """Create a key; returns the record and the secret (shown once, never stored)."""
    secret = new_secret()
    key = ApiKey(
        id=new_key_id(),
        kind=kind.value,
        role=role.value,
        domain_id=domain_id,
        description=description,
        created_us=clock.now_us(),
        expires_us=None,
        is_disabled=False,
    )
    await conn.execute(api_keys.insert().values(secret_hash=digest(secret), **key.__dict__))
    return key, secret


async def find(conn: AsyncConnection, *, secret: str) -> ApiKey | None:
    """The active key whose secret is ``secret``, or None."""
    want = digest(secret)
    row = (
        (await conn.execute(select(api_keys).where(api_keys.c.secret_hash == want)))
        .mappings()
        .first()
    )
    if row is None or not hmac.compare_digest(row["secret_hash"], want):
        return None
    if row["is_disabled"] or (row["expires_us"] and row["expires_us"] < clock.now_us()):
        return None
    return ApiKey(**{k: row[k] for k in ApiKey.__dataclass_fields__})


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.count()).select_from(api_keys))).scalar_one())
