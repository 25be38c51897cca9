"""SMTP credentials: password hashing, login rules, and ``verify`` for SMTP submission.

Passwords are kept only as ``scrypt$<log2 n>$<r>$<p>$<salt>$<hash>`` (salt and hash in
unpadded URL-safe base64): the parameters travel with each hash, so they can be raised
later without invalidating stored passwords. Neither passwords nor hashes are ever logged
or returned by the API.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import re
import secrets

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tidings.errors import BadRequest
from tidings.store.repos import credentials as repo
from tidings.store.repos.domains import Domain

#: scrypt cost: n = 2**14, r = 8, p = 1 takes 16 MB and some tens of milliseconds.
LOG2_N, R, P = 14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
MIN_PASSWORD, MAX_PASSWORD = 5, 32  # Mailgun's bounds (contract §12.3)
_MAXMEM = 64 * 1024 * 1024
#: A local part: RFC 5321 dot-atom, at most 64 characters.
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PASSWORD_RANGE = f"It must be between {MIN_PASSWORD} and {MAX_PASSWORD} characters."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=2**log2_n, r=r, p=p, maxmem=_MAXMEM, dklen=size
    )


def hash_password(password: str) -> str:
    """A new salted scrypt hash of ``password`` (slow on purpose; run it off the event loop)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, LOG2_N, R, P, HASH_BYTES)
    return f"scrypt${LOG2_N}${R}${P}${_b64(salt)}${_b64(digest)}"


def check(stored: str, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (compared in constant time)."""
    try:
        scheme, log2_n, r, p, salt, want = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(want)
        got = _scrypt(password, _unb64(salt), int(log2_n), int(r), int(p), len(expected))
    except ValueError:  # a malformed hash or parameters scrypt refuses: never a match
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def _decoy() -> str:
    """Checked against when a login is unknown, so an unknown login costs as much as a wrong
    password and answer times do not tell which logins exist."""
    return hash_password(secrets.token_urlsafe(16))


async def verify(engine: AsyncEngine, login: str, password: str) -> bool:
    """Whether ``login`` (``user@domain``) exists and ``password`` is its password."""
    local, at, domain = login.lower().rpartition("@")
    stored = None
    if at and _LOCAL.fullmatch(local) and "\x00" not in domain and len(login) <= 320:
        async with engine.connect() as conn:
            stored = await repo.hash_of(conn, domain=domain, login=login.lower())
    ok = await asyncio.to_thread(check, stored or _decoy(), password)
    return ok and stored is not None


def login_for(raw: str, domain: str) -> str | None:
    """The whole, lower-cased login for ``raw`` on ``domain``: a bare local part gets
    ``@domain`` appended (the official Python SDK puts bare local parts in credential paths).
    None if ``raw`` is not a valid local part or address; :class:`BadRequest` if it is an
    address at another domain."""
    local, at, host = raw.rpartition("@")
    if not at:
        local = raw
    elif host.lower() != domain:
        raise BadRequest(f"Login '{raw}' must be an address at {domain}")
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        return None
    return f"{local}@{domain}".lower()


def check_password(password: str | None) -> str:
    """``password`` if Mailgun would accept it, else :class:`BadRequest` saying why."""
    if password is None:
        raise BadRequest("Parameter 'password' is missing")
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"Password is too short. {_PASSWORD_RANGE}")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"Password is too long. {_PASSWORD_RANGE}")
    return password


async def set_postmaster(conn: AsyncConnection, domain: Domain, password_hash: str) -> None:
    """Give ``postmaster@<domain>`` (the domain's ``smtp_login``) this password, creating the
    credential when it does not exist (``smtp_password`` on domain create and update)."""
    login = f"postmaster@{domain.name}"
    if not await repo.set_hash(conn, domain_id=domain.id, login=login, password_hash=password_hash):
        await repo.insert_many(conn, domain_id=domain.id, hashes=[(login, password_hash)])
