"""Paths no route serves: Mailgun-style 404 bodies, never a redirect."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import Account
from tidings.runtime import Runtime


async def test_a_trailing_slash_is_a_404_not_a_redirect(
    client: httpx.AsyncClient, account: Account
) -> None:
    """DELETE .../credentials/ (an empty login) once answered 307 to .../credentials, and a
    client following it deleted every credential of the domain."""
    base = f"/v3/domains/{account.domain}/credentials"
    made = await client.post(base, data={"login": "keep", "password": "secret123"})
    assert made.status_code == 200, made.text
    for method, path in (("DELETE", base + "/"), ("GET", base + "/"), ("GET", "/v4/domains/")):
        r = await client.request(method, path)
        assert r.status_code == 404, (method, path, r.status_code)
        assert r.json() == {"message": "Not Found"}
    listed = (await client.get(base)).json()
    assert [c["login"] for c in listed["items"]] == [f"keep@{account.domain}"]


async def test_unknown_analytics_path_answers_with_error_key(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/analytics/nothing-here", json={})
    assert r.status_code == 404
    assert r.json() == {"error": "/v1/analytics/nothing-here not found"}
    other = await client.get("/v3/nothing-here/at/all")
    assert other.status_code == 404 and other.json() == {"message": "Not Found"}


async def test_a_500_is_answered_and_logged_once(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    runtime.fastapi.add_api_route("/v3/broken-for-test", broken)
    transport = httpx.ASGITransport(app=runtime.app)  # re-raised app errors would raise here
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/v3/broken-for-test")
    assert r.status_code == 500
    assert r.json() == {"message": "Internal Server Error"}
    logged = [rec for rec in caplog.records if rec.exc_info]
    assert len(logged) == 1 and "500 GET /v3/broken-for-test" in logged[0].getMessage()


async def test_sending_queues(client: httpx.AsyncClient, account: Account) -> None:
    r = await client.get(f"/v3/domains/{account.domain}/sending_queues")
    assert r.status_code == 200
    enabled = {"is_disabled": False, "disabled": {"until": "", "reason": ""}}
    assert r.json() == {"regular": enabled, "scheduled": enabled}
    missing = await client.get("/v3/domains/nope.example.org/sending_queues")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Domain not found: nope.example.org"}
    anonymous = await client.get(
        f"/v3/domains/{account.domain}/sending_queues", auth=("api", "key-wrong")
    )
    assert anonymous.status_code == 401


async def test_405_names_every_method_of_the_path(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.patch(f"/v4/domains/{account.domain}")
    assert r.status_code == 405
    assert r.json() == {"message": "Method Not Allowed"}
    assert r.headers["allow"] == "DELETE, GET, PUT"
    r = await client.patch(f"/v3/domains/{account.domain}/credentials/someone")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, PUT"
