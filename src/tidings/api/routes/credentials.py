"""SMTP credentials API: ``/v3/domains/{domain}/credentials[/{login}]`` (contract §12.3)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tidings.api.deps import AccountKey, PathDomain, Svc
from tidings.api.forms import parse_count, read_form, refuse_nul
from tidings.domains import credentials as creds
from tidings.errors import BadRequest, NotFound
from tidings.store.repos import credentials as repo
from tidings.store.repos.credentials import Credential

router = APIRouter()

PATH = "/v3/domains/{domain}/credentials"
#: The most credentials one list page holds (Mailgun: ``limit`` up to 1000, default 100).
MAX_LIST_LIMIT = 1000
#: The most logins one create request may name: each costs a slow password hash.
MAX_LOGINS = 100
_FORM_BYTES = 64 * 1024
_BOOL = {"true", "false", "yes", "no", "1", "0"}
_LIMIT_TEXT = f"'limit' must be an integer between 1 and {MAX_LIST_LIMIT}"


def _item(c: Credential) -> dict[str, object]:
    when = datetime.fromtimestamp(c.created_us / 1_000_000, UTC)
    return {
        "mailbox": c.login,
        "login": c.login,
        "created_at": format_datetime(when),  # RFC 2822, "+0000" as in Mailgun's example
        "size_bytes": None,
    }


def _not_found() -> NotFound:
    return NotFound("Credentials not found")


@router.get(PATH)
async def list_credentials(
    request: Request, svc: Svc, key: AccountKey, domain: PathDomain
) -> JSONResponse:
    p = request.query_params
    refuse_nul(p.multi_items())
    limit = parse_count(p.get("limit", "100"))
    if limit is not None and limit > MAX_LIST_LIMIT:
        raise BadRequest(f"Limit parameter can't be larger than {MAX_LIST_LIMIT}")
    if limit is None or limit < 1:
        raise BadRequest(_LIMIT_TEXT)
    skip = parse_count(p.get("skip", "0"))
    if skip is None:
        raise BadRequest("'skip' must be a non-negative integer")
    async with svc.engine.connect() as conn:
        total, items = await repo.list_page(conn, domain_id=domain.id, limit=limit, skip=skip)
    return JSONResponse({"items": [_item(c) for c in items], "total_count": total})


@router.post(PATH)
async def create_credentials(
    request: Request, svc: Svc, key: AccountKey, domain: PathDomain
) -> JSONResponse:
    form = [
        (k, v) for k, v in await read_form(request, max_bytes=_FORM_BYTES) if isinstance(v, str)
    ]
    raw = [v for k, v in form if k == "login"] or [v for k, v in form if k == "mailbox"]
    if not raw:
        raise BadRequest("Parameter 'login' is missing")
    if len(raw) > MAX_LOGINS:
        raise BadRequest(f"At most {MAX_LOGINS} logins may be created at once")
    logins: list[str] = []
    for value in raw:
        login = creds.login_for(value, domain.name)
        if login is None:
            raise BadRequest(
                f"Invalid login '{value}': expected a local part such as 'alice' "
                f"or an address such as 'alice@{domain.name}'"
            )
        if login in logins:
            raise BadRequest(f"Login '{login}' is given more than once")
        logins.append(login)
    passwords = [creds.check_password(v) for k, v in form if k == "password"]
    if not passwords:
        creds.check_password(None)
    if len(passwords) not in (1, len(logins)):
        raise BadRequest("Give one 'password' for all logins, or one per 'login' in order")
    system = [v for k, v in form if k == "system"]
    if any(v.strip().lower() not in _BOOL for v in system):
        raise BadRequest("'system' must be true or false")
    if len(passwords) == 1:
        passwords *= len(logins)
    # One thread, one hash at a time: each takes 16 MB, so many at once would spike memory.
    hashes = await asyncio.to_thread(lambda: [creds.hash_password(pw) for pw in passwords])
    try:
        async with svc.engine.begin() as conn:
            await repo.insert_many(
                conn, domain_id=domain.id, hashes=list(zip(logins, hashes, strict=True))
            )
    except repo.LoginTaken as exc:
        raise BadRequest(f"Credentials already exist: {exc.login}") from None
    return JSONResponse({"message": f"Created {len(logins)} credentials pair(s)"})


@router.put(PATH + "/{login}")
async def change_password(
    request: Request, svc: Svc, key: AccountKey, domain: PathDomain, login: str
) -> JSONResponse:
    spec = creds.login_for(login, domain.name)
    if spec is None:
        raise _not_found()
    form = await read_form(request, max_bytes=_FORM_BYTES)
    password = creds.check_password(
        next((v for k, v in form if k == "password" and isinstance(v, str)), None)
    )
    new_hash = await asyncio.to_thread(creds.hash_password, password)
    async with svc.engine.begin() as conn:
        found = await repo.set_hash(conn, domain_id=domain.id, login=spec, password_hash=new_hash)
    if not found:
        raise _not_found()
    return JSONResponse({"message": "Password changed"})


@router.delete(PATH + "/{login}")
async def delete_credentials(
    svc: Svc, key: AccountKey, domain: PathDomain, login: str
) -> JSONResponse:
    spec = creds.login_for(login, domain.name)
    if spec is None:
        raise _not_found()
    async with svc.engine.begin() as conn:
        found = await repo.delete_one(conn, domain_id=domain.id, login=spec)
    if not found:
        raise _not_found()
    return JSONResponse({"message": "Credentials have been deleted", "spec": spec})


@router.delete(PATH)
async def delete_all_credentials(svc: Svc, key: AccountKey, domain: PathDomain) -> JSONResponse:
    async with svc.engine.begin() as conn:
        count = await repo.delete_all(conn, domain_id=domain.id)
    return JSONResponse({"message": "All domain credentials have been deleted", "count": count})
