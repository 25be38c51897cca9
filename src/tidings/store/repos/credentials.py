"""SMTP credentials: one row per login of a domain, the password kept only as a hash.

Logins are stored whole (``alice@example.com``) and lower-cased by the caller; the hash
is opaque here (``tidings.domains.credentials`` makes and checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.core import clock
from tidings.store.tables import domains, smtp_credentials


@dataclass(frozen=True)
class Credential:
    login: str
    created_us: int


class LoginTaken(Exception):
    """An insert met a login that already exists for the domain."""

    def __init__(self, login: str) -> None:
        super().__init__(login)
        self.login = login


async def list_page(
    conn: AsyncConnection, *, domain_id: int, limit: int, skip: int
) -> tuple[int, list[Credential]]:
    """One page of a domain's credentials in login order, and how many it has in all.

    The page is cut by the database (``LIMIT``/``OFFSET`` along the primary key).
    """
    where = smtp_credentials.c.domain_id == domain_id
    total = int(
        (
            await conn.execute(select(func.count()).select_from(smtp_credentials).where(where))
        ).scalar_one()
    )
    if skip >= total:
        return total, []
    q = (
        select(smtp_credentials.c.login, smtp_credentials.c.created_us)
        .where(where)
        .order_by(smtp_credentials.c.login)
        .limit(limit)
        .offset(skip)
    )
    rows = (await conn.execute(q)).all()
    return total, [Credential(login=r.login, created_us=r.created_us) for r in rows]


async def insert_many(
    conn: AsyncConnection, *, domain_id: int, hashes: Sequence[tuple[str, str]]
) -> None:
    """Insert ``(login, password_hash)`` pairs; :class:`LoginTaken` if one exists already.

    The caller's transaction holds them all, so a refusal leaves none behind.
    """
    logins = [login for login, _ in hashes]
    taken = (
        await conn.execute(
            select(smtp_credentials.c.login)
            .where(smtp_credentials.c.domain_id == domain_id)
            .where(smtp_credentials.c.login.in_(logins))
            .order_by(smtp_credentials.c.login)
            .limit(1)
        )
    ).scalar_one_or_none()
    if taken is not None:
        raise LoginTaken(taken)
    now = clock.now_us()
    rows = [
        {"domain_id": domain_id, "login": login, "password_hash": h, "created_us": now}
        for login, h in hashes
    ]
    try:
        await conn.execute(smtp_credentials.insert(), rows)
    except IntegrityError:  # inserted by a concurrent request since the check above
        raise LoginTaken(logins[0]) from None


async def set_hash(
    conn: AsyncConnection, *, domain_id: int, login: str, password_hash: str
) -> bool:
    """Replace a login's password hash; False if the login does not exist."""
    result = await conn.execute(
        update(smtp_credentials)
        .where(smtp_credentials.c.domain_id == domain_id, smtp_credentials.c.login == login)
        .values(password_hash=password_hash)
    )
    return result.rowcount > 0


async def delete_one(conn: AsyncConnection, *, domain_id: int, login: str) -> bool:
    result = await conn.execute(
        delete(smtp_credentials).where(
            smtp_credentials.c.domain_id == domain_id, smtp_credentials.c.login == login
        )
    )
    return result.rowcount > 0


async def delete_all(conn: AsyncConnection, *, domain_id: int) -> int:
    result = await conn.execute(
        delete(smtp_credentials).where(smtp_credentials.c.domain_id == domain_id)
    )
    return int(result.rowcount)


async def hash_of(conn: AsyncConnection, *, domain: str, login: str) -> str | None:
    """The stored hash of ``login`` on the domain named ``domain``, or None."""
    q = (
        select(smtp_credentials.c.password_hash)
        .join(domains, domains.c.id == smtp_credentials.c.domain_id)
        .where(domains.c.name == domain, smtp_credentials.c.login == login)
    )
    found: str | None = (await conn.execute(q)).scalar_one_or_none()
    return found
