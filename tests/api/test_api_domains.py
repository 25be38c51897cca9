"""Domains API (v3 and v4), DNS records, verify against a local DNS stub, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.conftest import Account, sending_key_client
from tests.support.dnsstub import DnsStub
from tidings.runtime import Runtime
from tidings.store.tables import api_keys


@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_create_get_list_delete(
    client: httpx.AsyncClient, account: Account, version: str
) -> None:
    r = await client.post(f"/{version}/domains", data={"name": "News.Example.Org"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["message"] == "Domain DNS records have been created"
    d = body["domain"]
    assert d["name"] == "news.example.org"
    assert d["state"] == "unverified"
    assert d["smtp_login"] == "postmaster@news.example.org"
    assert isinstance(d["require_tls"], bool) and isinstance(d["message_ttl"], int)
    kinds = {(rec["record_type"], rec["name"]) for rec in body["sending_dns_records"]}
    assert ("TXT", "news.example.org") in kinds
    assert ("CNAME", "email.news.example.org") in kinds
    dkim = [rec for rec in body["sending_dns_records"] if "_domainkey" in rec["name"]]
    assert dkim and dkim[0]["value"].startswith("k=rsa; p=")
    assert body["receiving_dns_records"][0]["priority"] == "10"

    got = await client.get(f"/{version}/domains/news.example.org")
    assert got.status_code == 200
    assert got.json()["domain"]["name"] == "news.example.org"
    listed = (await client.get(f"/{version}/domains")).json()
    assert listed["total_count"] == 2
    assert listed["items"][0]["name"] == "news.example.org"  # newest first

    dup = await client.post(f"/{version}/domains", data={"name": "News.Example.org."})
    assert dup.status_code == 400
    assert dup.json() == {"message": "Domain news.example.org already exists"}

    upd = await client.put(f"/{version}/domains/news.example.org", data={"require_tls": "true"})
    assert upd.status_code == 200
    assert upd.json()["message"] == "Domain has been updated"
    assert upd.json()["domain"]["require_tls"] is True

    gone = await client.delete(f"/{version}/domains/news.example.org")
    assert gone.status_code == 200
    assert (await client.get(f"/{version}/domains/news.example.org")).status_code == 404


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({}, "name"),
        ({"name": "no_dots"}, "not a valid domain"),
        ({"name": "bad..example.org"}, "not a valid domain"),
        ({"name": "127.0.0.1"}, "not a valid domain"),
        ({"name": "10.20.30.40."}, "not a valid domain"),
        ({"name": "ok.example.org", "dkim_key_size": "512"}, "dkim_key_size"),
        ({"name": "ok.example.org", "spam_action": "explode"}, "spam_action"),
        ({"name": "ok.example.org", "wildcard": "perhaps"}, "wildcard"),
    ],
)
async def test_create_bad_input(
    client: httpx.AsyncClient, account: Account, data: dict[str, str], text: str
) -> None:
    r = await client.post("/v4/domains", data=data)
    assert r.status_code == 400, r.text
    assert text in r.json()["message"]
    listed = (await client.get("/v4/domains")).json()
    assert listed["total_count"] == 1


LIMIT_TEXT = "'limit' must be an integer between 1 and 1000"
SKIP_TEXT = "'skip' must be a non-negative integer"


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"limit": "0"}, LIMIT_TEXT),
        ({"limit": "1001"}, LIMIT_TEXT),
        ({"limit": "-1"}, LIMIT_TEXT),
        ({"limit": "ten"}, LIMIT_TEXT),
        ({"limit": "1.5"}, LIMIT_TEXT),
        ({"limit": ""}, LIMIT_TEXT),
        ({"limit": "\u00b2"}, LIMIT_TEXT),  # superscript two: str.isdigit() says yes
        ({"limit": "9" * 5000}, LIMIT_TEXT),  # past int()'s 4,300 digits
        ({"skip": "-1"}, SKIP_TEXT),
        ({"skip": "x"}, SKIP_TEXT),
        ({"skip": "1e3"}, SKIP_TEXT),
        ({"skip": "\u0663"}, SKIP_TEXT),  # Arabic-Indic three
        ({"skip": str(2**63)}, SKIP_TEXT),  # more than either database's integers hold
        ({"skip": "9" * 30}, SKIP_TEXT),
    ],
)
@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_list_bad_paging_params(
    client: httpx.AsyncClient, account: Account, version: str, params: dict[str, str], text: str
) -> None:
    r = await client.get(f"/{version}/domains", params=params)
    assert r.status_code == 400, r.text
    assert r.json() == {"message": text}


STATE_TEXT = "'state' must be one of active, unverified, disabled"


@pytest.mark.parametrize("state", ["bogus", "Active", "verified", "active,unverified"])
@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_list_unknown_state_is_400(
    client: httpx.AsyncClient, account: Account, version: str, state: str
) -> None:
    """An unknown state was an empty list, which reads as "no such domains"."""
    r = await client.get(f"/{version}/domains", params={"state": state})
    assert r.status_code == 400, r.text
    assert r.json() == {"message": STATE_TEXT}


@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_list_each_known_state(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, version: str
) -> None:
    from tidings.core.vocab import DomainState
    from tidings.store.repos import domains as repo

    for name in PAGED[:2]:
        assert (await client.post(f"/{version}/domains", data={"name": name})).status_code == 200
    async with runtime.engine.begin() as conn:
        for name, state in zip(PAGED[:2], (DomainState.ACTIVE, DomainState.DISABLED), strict=True):
            found = await repo.get_by_name(conn, name=name)
            assert found is not None
            await repo.update_fields(conn, domain_id=found.id, values={"state": state.value})
    path = f"/{version}/domains"
    assert await _names(client, path, state="active") == (1, [PAGED[0]])
    assert await _names(client, path, state="disabled") == (1, [PAGED[1]])
    assert await _names(client, path, state="unverified") == (1, [account.domain])
    # An empty value is no filter, as an absent one.
    assert await _names(client, path, state="") == (3, [PAGED[1], PAGED[0], account.domain])


async def test_unknown_domain_is_404(client: httpx.AsyncClient, account: Account) -> None:
    r = await client.get("/v4/domains/unknown.example")
    assert r.status_code == 404
    assert r.json() == {"message": "Domain not found"}


PAGED = [f"d{i}.paging.example" for i in range(5)]


async def _names(client: httpx.AsyncClient, path: str, **params: str) -> tuple[int, list[str]]:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    return body["total_count"], [d["name"] for d in body["items"]]


@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_list_pages_with_limit_and_skip(
    client: httpx.AsyncClient, account: Account, version: str
) -> None:
    for name in PAGED:
        assert (await client.post(f"/{version}/domains", data={"name": name})).status_code == 200
    path = f"/{version}/domains"
    whole = (await client.get(path)).json()  # the defaults: limit 100, skip 0
    assert whole["total_count"] == 6
    newest_first = [*reversed(PAGED), account.domain]
    assert [d["name"] for d in whole["items"]] == newest_first
    for limit in (1, 2, 4, 6, 7):
        for skip in range(8):
            r = await client.get(path, params={"limit": str(limit), "skip": str(skip)})
            assert r.status_code == 200, r.text
            # The same items, field for field, as the matching slice of the whole list.
            assert r.json() == {
                "total_count": 6,
                "items": whole["items"][skip : skip + limit],
            }
    # Skipping past the end (up to the largest integer we take) is an empty page.
    assert await _names(client, path, skip=str(2**63 - 1)) == (6, [])
    assert await _names(client, path, skip="0006", limit="0002") == (6, [])


async def test_list_filters_page_and_count_together(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    from tidings.core.vocab import DomainState
    from tidings.store.repos import domains as repo

    for name in PAGED:
        assert (await client.post("/v4/domains", data={"name": name})).status_code == 200
    async with runtime.engine.begin() as conn:
        d1 = await repo.get_by_name(conn, name=PAGED[1])
        assert d1 is not None
        await repo.update_fields(conn, domain_id=d1.id, values={"state": DomainState.ACTIVE.value})
    newest_first = list(reversed(PAGED))
    path = "/v4/domains"
    assert await _names(client, path, search="PAGING", limit="2", skip="1") == (
        5,
        newest_first[1:3],
    )
    assert await _names(client, path, search="paging", skip="4") == (5, newest_first[4:])
    # LIKE's wildcards are taken literally: "d_" would match every one of them otherwise.
    assert await _names(client, path, search="d_.paging") == (0, [])
    assert await _names(client, path, search="%") == (0, [])
    assert await _names(client, path, state="active") == (1, [PAGED[1]])
    unverified = [n for n in [*newest_first, account.domain] if n != PAGED[1]]
    assert await _names(client, path, state="unverified", limit="3") == (5, unverified[:3])
    assert await _names(client, path, state="unverified", skip="3") == (5, unverified[3:])


async def test_verify_with_dns(runtime: Runtime, account: Account) -> None:
    async with DnsStub() as dns:
        runtime.services.settings = runtime.settings.model_copy(
            update={"dns_nameservers": f"127.0.0.1:{dns.port}"}
        )
        transport = httpx.ASGITransport(app=runtime.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", auth=account.auth
        ) as c:
            info = (await c.get(f"/v4/domains/{account.domain}")).json()
            r = await c.put(f"/v4/domains/{account.domain}/verify")
            assert r.status_code == 200
            assert r.json()["domain"]["state"] == "unverified"
            assert all(rec["valid"] == "invalid" for rec in r.json()["sending_dns_records"])
            for rec in info["sending_dns_records"]:
                dns.add(rec["name"], rec["record_type"], rec["value"])
            r = await c.put(f"/v4/domains/{account.domain}/verify")
            body = r.json()
            assert body["message"] == "Domain DNS records have been updated"
            assert body["domain"]["state"] == "active"
            assert all(rec["valid"] == "valid" for rec in body["sending_dns_records"])
            assert body["receiving_dns_records"][0]["valid"] == "invalid"


async def test_sending_key_may_only_send(runtime: Runtime, account: Account) -> None:
    async with await sending_key_client(runtime, account.domain) as c:
        sent = await c.post(
            f"/v3/{account.domain}/messages",
            data={"from": "a@example.test", "to": "b@example.org", "text": "x"},
        )
        assert sent.status_code == 200, sent.text
        assert (await c.get(f"/v3/{account.domain}/events")).status_code == 403
        assert (await c.get("/v4/domains")).status_code == 403


async def test_list_is_paged_by_the_database(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    """The page is cut with LIMIT/OFFSET and counted with COUNT, not loaded whole."""
    from sqlalchemy import event

    for name in PAGED:
        assert (await client.post("/v4/domains", data={"name": name})).status_code == 200
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM domains" in statement:
            seen.append((" ".join(statement.split()), params))

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    try:
        assert await _names(client, "/v4/domains", limit="2", skip="3") == (
            6,
            list(reversed(PAGED))[3:5],
        )
        count, page = seen
        assert count[0].startswith("SELECT count(*)")
        assert "LIMIT" in page[0] and "OFFSET" in page[0], page[0]
        assert tuple(page[1])[-2:] == (2, 3)
        seen.clear()
        assert await _names(client, "/v4/domains", skip="6") == (6, [])
        assert [s for s, _ in seen] == [count[0]]  # past the end: the count alone
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)


async def test_a_deleted_domains_key_cannot_send_for_a_new_domain(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    send = {"from": "a@z3.example.org", "to": "x@example.org", "text": "hi"}
    assert (await client.post("/v4/domains", data={"name": "z3.example.org"})).status_code == 200
    old = await sending_key_client(runtime, "z3.example.org")
    assert (await old.post("/v3/z3.example.org/messages", data=send)).status_code == 200
    assert (await client.delete("/v3/domains/z3.example.org")).status_code == 200
    made = await client.post("/v4/domains", data={"name": "victim.example.org"})
    assert made.status_code == 200
    r = await old.post("/v3/victim.example.org/messages", data=send)
    assert r.status_code in (401, 403), r.text


async def test_a_domain_key_older_than_its_domain_is_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """Another process may hold a deleted domain's key in its cache for a few seconds while
    the domain's id is given out again: a key made before its domain is not the domain's."""
    assert (await client.post("/v4/domains", data={"name": "v2.example.org"})).status_code == 200
    keyed = await sending_key_client(runtime, "v2.example.org")
    send = {"from": "a@v2.example.org", "to": "x@example.org", "text": "hi"}
    assert (await keyed.post("/v3/v2.example.org/messages", data=send)).status_code == 200
    async with runtime.engine.begin() as conn:
        await conn.execute(update(api_keys).values(created_us=api_keys.c.created_us - 10**9))
    runtime.services._keys.clear()
    r = await keyed.post("/v3/v2.example.org/messages", data=send)
    assert r.status_code == 403, r.text


@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_list_sorted_by_name(
    client: httpx.AsyncClient, account: Account, version: str
) -> None:
    for name in ("b.example.org", "c.example.org", "a.example.org"):
        assert (await client.post("/v4/domains", data={"name": name})).status_code == 200
    everyone = sorted(["a.example.org", "b.example.org", "c.example.org", account.domain])

    async def names(**params: str) -> list[str]:
        r = await client.get(f"/{version}/domains", params=params)
        assert r.status_code == 200, r.text
        assert r.json()["total_count"] == 4
        return [d["name"] for d in r.json()["items"]]

    assert await names(sort="name") == everyone
    assert await names(sort="name:asc", limit="2", skip="1") == everyone[1:3]
    assert await names(sort="name:desc") == everyone[::-1]
    assert await names() == ["a.example.org", "c.example.org", "b.example.org", account.domain]
    bad = await client.get(f"/{version}/domains", params={"sort": "created"})
    assert bad.status_code == 400
    assert bad.json() == {"message": "'sort' must be one of name, name:asc, name:desc"}


@pytest.mark.parametrize("version", ["v3", "v4"])
async def test_smtp_password_sets_the_postmaster_credential(
    runtime: Runtime, client: httpx.AsyncClient, version: str
) -> None:
    from tidings.domains.credentials import verify

    short = await client.post(
        f"/{version}/domains", data={"name": "pw.example.org", "smtp_password": "abc"}
    )
    assert short.status_code == 400
    assert short.json() == {
        "message": "Password is too short. It must be between 5 and 32 characters."
    }
    assert (await client.get(f"/{version}/domains/pw.example.org")).status_code == 404

    made = await client.post(
        f"/{version}/domains", data={"name": "pw.example.org", "smtp_password": "first-secret"}
    )
    assert made.status_code == 200, made.text
    assert made.json()["domain"]["smtp_login"] == "postmaster@pw.example.org"
    listed = (await client.get("/v3/domains/pw.example.org/credentials")).json()
    assert [c["login"] for c in listed["items"]] == ["postmaster@pw.example.org"]
    assert await verify(runtime.engine, "postmaster@pw.example.org", "first-secret")

    changed = await client.put(
        f"/{version}/domains/pw.example.org", data={"smtp_password": "second-secret"}
    )
    assert changed.status_code == 200, changed.text
    assert await verify(runtime.engine, "postmaster@pw.example.org", "second-secret")
    assert not await verify(runtime.engine, "postmaster@pw.example.org", "first-secret")
    long = await client.put(f"/{version}/domains/pw.example.org", data={"smtp_password": "x" * 33})
    assert long.status_code == 400 and "too long" in long.json()["message"]
    assert await verify(runtime.engine, "postmaster@pw.example.org", "second-secret")
