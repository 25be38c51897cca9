"""SMTP credentials API (contract §12.3): list, create, change password, delete, bad input."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Account, sending_key_client
from tidings.domains import credentials
from tidings.runtime import Runtime
from tidings.store.tables import smtp_credentials

RFC2822 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$")
PATH = "/v3/domains/example.test/credentials"


async def _create(client: httpx.AsyncClient, **data: str | list[str]) -> httpx.Response:
    return await client.post(PATH, data=data)


async def _count(client: httpx.AsyncClient) -> int:
    r = await client.get(PATH)
    assert r.status_code == 200, r.text
    total: int = r.json()["total_count"]
    return total


async def test_create_list_change_delete(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    r = await _create(client, login="alice@example.test", password="s3cret-pw")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Created 1 credentials pair(s)"}
    # A bare local part gets the path's domain; several logins in one request.
    r = await _create(client, login=["bob", "Carol@Example.Test"], password="another-pw")
    assert r.json() == {"message": "Created 2 credentials pair(s)"}

    body = (await client.get(PATH)).json()
    assert set(body) == {"items", "total_count"}
    assert body["total_count"] == 3
    logins = [i["login"] for i in body["items"]]
    assert logins == ["alice@example.test", "bob@example.test", "carol@example.test"]
    for item in body["items"]:
        assert set(item) == {"mailbox", "login", "created_at", "size_bytes"}
        assert item["mailbox"] == item["login"]
        assert RFC2822.match(item["created_at"]), item["created_at"]
        assert item["size_bytes"] is None

    engine = runtime.engine
    assert await credentials.verify(engine, "alice@example.test", "s3cret-pw")
    assert await credentials.verify(engine, "CAROL@example.test", "another-pw")

    r = await client.put(f"{PATH}/alice@example.test", data={"password": "new-pass"})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Password changed"}
    assert await credentials.verify(engine, "alice@example.test", "new-pass")
    assert not await credentials.verify(engine, "alice@example.test", "s3cret-pw")

    r = await client.delete(f"{PATH}/bob")  # the Python SDK sends bare local parts
    assert r.json() == {"message": "Credentials have been deleted", "spec": "bob@example.test"}
    assert (await client.delete(f"{PATH}/bob")).json() == {"message": "Credentials not found"}
    assert await _count(client) == 2

    r = await client.delete(PATH)
    assert r.status_code == 200
    assert r.json() == {"message": "All domain credentials have been deleted", "count": 2}
    assert await _count(client) == 0
    assert not await credentials.verify(engine, "alice@example.test", "new-pass")


async def test_paging_limit_and_skip(client: httpx.AsyncClient, account: Account) -> None:
    names = [f"user{i:02d}" for i in range(5)]
    assert (await _create(client, login=names, password="paged-pw")).status_code == 200
    r = await client.get(PATH, params={"limit": "2", "skip": "1"})
    body = r.json()
    assert body["total_count"] == 5
    assert [i["login"] for i in body["items"]] == ["user01@example.test", "user02@example.test"]
    past = (await client.get(PATH, params={"skip": "10"})).json()
    assert past == {"items": [], "total_count": 5}


async def test_password_is_stored_hashed(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    await _create(client, login="hashed", password="plain-text")
    async with runtime.engine.connect() as conn:
        stored = (await conn.execute(select(smtp_credentials.c.password_hash))).scalar_one()
    assert "plain-text" not in stored
    assert stored.startswith("scrypt$")
    assert credentials.check(stored, "plain-text")
    assert not credentials.check(stored, "plain-texT")
    listed = (await client.get(PATH)).text
    assert "plain-text" not in listed and stored not in listed


async def test_verify_refuses_wrong_and_unknown(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    await _create(client, login="dana", password="right-pw")
    engine = runtime.engine
    assert await credentials.verify(engine, "dana@example.test", "right-pw")
    assert not await credentials.verify(engine, "dana@example.test", "wrong-pw")
    assert not await credentials.verify(engine, "nobody@example.test", "right-pw")
    assert not await credentials.verify(engine, "dana@other.test", "right-pw")
    assert not await credentials.verify(engine, "dana", "right-pw")
    assert not await credentials.verify(engine, "dana@exa\x00mple.test", "right-pw")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"password": "valid-pw"}, "Parameter 'login' is missing"),
        ({"login": "eve"}, "Parameter 'password' is missing"),
        (
            {"login": "eve", "password": "abcd"},
            "Password is too short. It must be between 5 and 32 characters.",
        ),
        (
            {"login": "eve", "password": "x" * 33},
            "Password is too long. It must be between 5 and 32 characters.",
        ),
        (
            {"login": "eve@elsewhere.test", "password": "valid-pw"},
            "Login 'eve@elsewhere.test' must be an address at example.test",
        ),
        ({"login": "eve smith", "password": "valid-pw"}, "Invalid login 'eve smith'"),
        ({"login": "eve..x", "password": "valid-pw"}, "Invalid login 'eve..x'"),
        ({"login": "a" * 65, "password": "valid-pw"}, "Invalid login"),
        ({"login": "e\x00ve", "password": "valid-pw"}, "'login' parameter must not contain NUL"),
        (
            {"login": "eve", "password": "valid\x00pw"},
            "'password' parameter must not contain NUL",
        ),
        ({"login": ["eve", "EVE"], "password": "valid-pw"}, "is given more than once"),
        (
            {"login": ["eve", "fay", "gus"], "password": ["pw-one", "pw-two"]},
            "one per 'login'",
        ),
        ({"login": "eve", "password": "valid-pw", "system": "maybe"}, "'system'"),
    ],
)
async def test_create_bad_input(
    client: httpx.AsyncClient, account: Account, data: dict[str, str | list[str]], text: str
) -> None:
    r = await client.post(PATH, data=data)
    assert r.status_code == 400, r.text
    assert text in r.json()["message"]
    assert "valid-pw" not in r.text
    assert await _count(client) == 0


async def test_duplicate_login_stores_nothing(client: httpx.AsyncClient, account: Account) -> None:
    assert (await _create(client, login="hal", password="first-pw")).status_code == 200
    r = await _create(client, login=["ivy", "hal@example.test", "jon"], password="second-pw")
    assert r.status_code == 400
    assert r.json() == {"message": "Credentials already exist: hal@example.test"}
    listed = (await client.get(PATH)).json()
    assert [i["login"] for i in listed["items"]] == ["hal@example.test"]


async def test_passwords_pair_with_logins_in_order(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    r = await _create(client, login=["kim", "lee"], password=["kim-pass", "lee-pass"])
    assert r.status_code == 200, r.text
    assert await credentials.verify(runtime.engine, "kim@example.test", "kim-pass")
    assert await credentials.verify(runtime.engine, "lee@example.test", "lee-pass")
    # ``mailbox`` may stand in for ``login`` (SPEC).
    r = await client.post(PATH, data={"mailbox": "max@example.test", "password": "max-pass"})
    assert r.status_code == 200, r.text
    assert await _count(client) == 3


async def test_change_password_bad_input(client: httpx.AsyncClient, account: Account) -> None:
    await _create(client, login="nia", password="nia-pass")
    r = await client.put(f"{PATH}/nobody", data={"password": "valid-pw"})
    assert r.status_code == 404
    assert r.json() == {"message": "Credentials not found"}
    assert (await client.put(f"{PATH}/no body", data={"password": "valid-pw"})).status_code == 404
    r = await client.put(f"{PATH}/nia", data={})
    assert r.json() == {"message": "Parameter 'password' is missing"}
    r = await client.put(f"{PATH}/nia", data={"password": "abc"})
    assert r.status_code == 400 and "too short" in r.json()["message"]
    r = await client.put(f"{PATH}/nia@elsewhere.test", data={"password": "valid-pw"})
    assert r.status_code == 400 and "must be an address at example.test" in r.text


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"limit": "1001"}, "Limit parameter can't be larger than 1000"),
        ({"limit": "0"}, "'limit' must be an integer between 1 and 1000"),
        ({"limit": "ten"}, "'limit' must be an integer between 1 and 1000"),
        ({"limit": "-1"}, "'limit' must be an integer between 1 and 1000"),
        ({"skip": "-1"}, "'skip' must be a non-negative integer"),
        ({"skip": "9" * 30}, "'skip' must be a non-negative integer"),
        ({"skip": "\x00"}, "must not contain NUL"),
    ],
)
async def test_list_bad_paging(
    client: httpx.AsyncClient, account: Account, params: dict[str, str], text: str
) -> None:
    r = await client.get(PATH, params=params)
    assert r.status_code == 400, r.text
    assert text in r.json()["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v3/domains/nowhere.test/credentials"),
        ("POST", "/v3/domains/nowhere.test/credentials"),
        ("PUT", "/v3/domains/nowhere.test/credentials/alice"),
        ("DELETE", "/v3/domains/nowhere.test/credentials/alice"),
        ("DELETE", "/v3/domains/nowhere.test/credentials"),
    ],
)
async def test_unknown_domain(
    client: httpx.AsyncClient, account: Account, method: str, path: str
) -> None:
    r = await client.request(method, path, data={"login": "alice", "password": "valid-pw"})
    assert r.status_code == 404
    assert r.json() == {"message": "Domain not found: nowhere.test"}


async def test_sending_key_is_refused(runtime: Runtime, account: Account) -> None:
    async with await sending_key_client(runtime, account.domain) as c:
        assert (await c.get(PATH)).status_code == 403
        r = await c.post(PATH, data={"login": "olga", "password": "valid-pw"})
        assert r.status_code == 403
        assert (await c.put(f"{PATH}/olga", data={"password": "valid-pw"})).status_code == 403
        assert (await c.delete(f"{PATH}/olga")).status_code == 403
        assert (await c.delete(PATH)).status_code == 403
    async with runtime.engine.connect() as conn:
        assert (await conn.execute(select(smtp_credentials))).first() is None


async def test_deleting_the_domain_deletes_its_credentials(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    await _create(client, login="pat", password="pat-pass")
    assert (await client.delete("/v3/domains/example.test")).status_code == 200
    assert not await credentials.verify(runtime.engine, "pat@example.test", "pat-pass")
    async with runtime.engine.connect() as conn:
        assert (await conn.execute(select(smtp_credentials))).first() is None
