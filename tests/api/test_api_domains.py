"""Domains API (v3 and v4), DNS records, verify against a local DNS stub, bad input."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Account
from tests.support.dnsstub import DnsStub
from tidings.runtime import Runtime


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

    dup = await client.post(f"/{version}/domains", data={"name": "news.example.org"})
    assert dup.status_code == 409

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


async def test_list_paging_params(client: httpx.AsyncClient, account: Account) -> None:
    assert (await client.get("/v4/domains", params={"limit": "0"})).status_code == 400
    assert (await client.get("/v4/domains", params={"skip": "-1"})).status_code == 400
    assert (await client.get("/v4/domains/unknown.example")).status_code == 404


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
    from tidings.core.vocab import KeyKind, KeyRole
    from tidings.store.repos import domains as repo
    from tidings.store.repos import keys as key_repo

    async with runtime.engine.begin() as conn:
        d = await repo.get_by_name(conn, name=account.domain)
        assert d is not None
        _, secret = await key_repo.create(
            conn, kind=KeyKind.DOMAIN, role=KeyRole.SENDING, domain_id=d.id
        )
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", auth=("api", secret)
    ) as c:
        sent = await c.post(
            f"/v3/{account.domain}/messages",
            data={"from": "a@example.test", "to": "b@example.org", "text": "x"},
        )
        assert sent.status_code == 200, sent.text
        assert (await c.get(f"/v3/{account.domain}/events")).status_code == 403
        assert (await c.get("/v4/domains")).status_code == 403
