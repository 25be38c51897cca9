"""Domains API: v4 (mailgun.js) and the v3 paths older SDKs still use."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tidings.api.deps import AccountKey, Svc
from tidings.api.forms import parse_count, read_form, refuse_nul
from tidings.core.model import Upload
from tidings.core.vocab import DomainState
from tidings.domains import credentials as creds
from tidings.domains import service
from tidings.errors import BadRequest, NotFound
from tidings.store.repos import domains as repo
from tidings.store.repos.domains import Domain

router = APIRouter()

_BOOL = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_UPDATABLE_BOOLS = ("require_tls", "skip_verification", "wildcard")
#: The most domains one list page holds (Mailgun: ``limit`` up to 1000, default 100).
MAX_LIST_LIMIT = 1000
#: The ``state`` values the list filters on (contract §12.1: active, unverified, disabled).
_STATE_TEXT = "'state' must be one of " + ", ".join(s.value for s in DomainState)


def _fields(pairs: list[tuple[str, str | Upload]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in pairs:
        if isinstance(v, str):
            out.setdefault(k, v)
    return out


def _bool(name: str, value: str) -> bool:
    try:
        return _BOOL[value.strip().lower()]
    except KeyError:
        raise BadRequest(f"'{name}' must be true or false, got {value!r}") from None


def _options(form: dict[str, str]) -> dict[str, Any]:
    """The settable domain fields of a create or update form, validated."""
    opts: dict[str, Any] = {}
    for name in _UPDATABLE_BOOLS:
        if name in form:
            opts[name] = _bool(name, form[name])
    if "spam_action" in form:
        if form["spam_action"] not in ("disabled", "block", "tag"):
            raise BadRequest("'spam_action' must be one of disabled, block, tag")
        opts["spam_action"] = form["spam_action"]
    if "web_scheme" in form:
        if form["web_scheme"] not in ("http", "https"):
            raise BadRequest("'web_scheme' must be http or https")
        opts["web_scheme"] = form["web_scheme"]
    if "web_prefix" in form:
        prefix = form["web_prefix"].strip().lower()
        if not prefix or not service._LABEL.match(prefix):
            raise BadRequest("'web_prefix' must be a single DNS label")
        opts["web_prefix"] = prefix
    if "message_ttl" in form:
        if not form["message_ttl"].isdigit() or not 1 <= int(form["message_ttl"]) <= 7 * 86400:
            raise BadRequest("'message_ttl' must be a number of seconds up to 604800")
        opts["message_ttl"] = int(form["message_ttl"])
    return opts


def _state(raw: str) -> DomainState | None:
    """The list's ``state`` filter; empty means no filter. Any other value is a 400: Mailgun
    documents only the three states, and an empty list would read as "no such domains"."""
    if not raw:
        return None
    try:
        return DomainState(raw)
    except ValueError:
        raise BadRequest(_STATE_TEXT) from None


async def _get(svc: Svc, name: str) -> Domain:
    found = await svc.domain(name)
    if found is None:
        raise NotFound("Domain not found")
    return found


@router.get("/v4/domains")
@router.get("/v3/domains")
async def list_domains(request: Request, svc: Svc, key: AccountKey) -> JSONResponse:
    p = request.query_params
    refuse_nul(p.multi_items())
    limit = parse_count(p.get("limit", "100"))
    if limit is None or not 1 <= limit <= MAX_LIST_LIMIT:
        raise BadRequest(f"'limit' must be an integer between 1 and {MAX_LIST_LIMIT}")
    skip = parse_count(p.get("skip", "0"))
    if skip is None:
        raise BadRequest("'skip' must be a non-negative integer")
    state = _state(p.get("state", ""))
    sort = p.get("sort", "")
    if sort not in _SORTS:
        raise BadRequest("'sort' must be one of name, name:asc, name:desc")
    async with svc.engine.connect() as conn:
        total, items = await repo.list_page(
            conn,
            limit=limit,
            skip=skip,
            state=state,
            search=p.get("search") or None,
            by_name=_SORTS[sort],
        )
    return JSONResponse(
        {"total_count": total, "items": [service.describe(d, svc.settings) for d in items]}
    )


#: ``sort`` values (contract §12.1) and their order: by name ascending, descending, or newest
#: first when no sort is asked for.
_SORTS: dict[str, bool | None] = {"": None, "name": True, "name:asc": True, "name:desc": False}


@router.post("/v4/domains")
@router.post("/v3/domains")
async def create_domain(request: Request, svc: Svc, key: AccountKey) -> JSONResponse:
    form = _fields(await read_form(request, max_bytes=1024 * 1024))
    if not form.get("name"):
        raise BadRequest("Missing parameter: 'name'")
    opts = _options(form)
    if "dkim_key_size" in form:
        if form["dkim_key_size"] not in ("1024", "2048"):
            raise BadRequest("'dkim_key_size' must be 1024 or 2048")
        opts["dkim_key_size"] = int(form["dkim_key_size"])
    if form.get("dkim_selector"):
        if not service._LABEL.match(form["dkim_selector"].lower()):
            raise BadRequest("'dkim_selector' must be a single DNS label")
        opts["dkim_selector"] = form["dkim_selector"].lower()
    postmaster = await _postmaster_hash(form)
    async with svc.engine.begin() as conn:
        domain = await service.add(conn, svc.settings, form["name"], opts)
        if postmaster is not None:
            await creds.set_postmaster(conn, domain, postmaster)
    body = {"message": "Domain DNS records have been created", **service.full(domain, svc.settings)}
    return JSONResponse(body)


async def _postmaster_hash(form: dict[str, str]) -> str | None:
    """The hash of ``smtp_password`` when the form sets one (checked as Mailgun checks SMTP
    passwords: a 400 before anything is stored), else None."""
    if "smtp_password" not in form:
        return None
    password = creds.check_password(form["smtp_password"])
    return await asyncio.to_thread(creds.hash_password, password)


@router.get("/v4/domains/{name}")
@router.get("/v3/domains/{name}")
async def get_domain(svc: Svc, key: AccountKey, name: str) -> JSONResponse:
    return JSONResponse(service.full(await _get(svc, name), svc.settings))


@router.put("/v4/domains/{name}")
@router.put("/v3/domains/{name}")
async def update_domain(request: Request, svc: Svc, key: AccountKey, name: str) -> JSONResponse:
    domain = await _get(svc, name)
    form = _fields(await read_form(request, max_bytes=1024 * 1024))
    opts = _options(form)
    postmaster = await _postmaster_hash(form)
    async with svc.engine.begin() as conn:
        await repo.update_fields(conn, domain_id=domain.id, values=opts)
        if postmaster is not None:
            await creds.set_postmaster(conn, domain, postmaster)
        updated = await repo.get_by_id(conn, domain_id=domain.id)
    svc.forget_domain(domain.name)
    assert updated is not None
    return JSONResponse(
        {"message": "Domain has been updated", **service.full(updated, svc.settings)}
    )


@router.put("/v4/domains/{name}/verify")
@router.put("/v3/domains/{name}/verify")
async def verify_domain(svc: Svc, key: AccountKey, name: str) -> JSONResponse:
    domain = await _get(svc, name)
    state, seen = await service.verify(domain, svc.settings)
    async with svc.engine.begin() as conn:
        await repo.update_fields(conn, domain_id=domain.id, values={"state": state})
        updated = await repo.get_by_id(conn, domain_id=domain.id)
    svc.forget_domain(domain.name)
    assert updated is not None
    body = {
        "message": "Domain DNS records have been updated",
        **service.full(updated, svc.settings, seen),
    }
    return JSONResponse(body)


@router.delete("/v3/domains/{name}")
@router.delete("/v4/domains/{name}")
async def delete_domain(svc: Svc, key: AccountKey, name: str) -> JSONResponse:
    domain = await _get(svc, name)
    async with svc.engine.begin() as conn:
        await repo.delete_domain(conn, domain_id=domain.id)
    svc.forget_domain(domain.name, domain.id)
    return JSONResponse({"message": "Domain will be deleted in the background"})
