"""The official Python SDK (PyPI ``mailgun`` 1.10.0) against a live server (contract §13.2)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from mailgun.client import Client
from mailgun.config import RetryPolicy

from tests.compat.helpers import Event, captured_mime, has_each, one, wait_events
from tests.support.live import LiveServer

TO = "reader@example.net"
BRACKETED_ID = re.compile(r"^<([^<>\s]+@[^<>\s]+)>$")


def sdk(server: LiveServer, key: str | None = None) -> Client:
    # No retries: a server error must fail the test at once, not after the SDK's backoff.
    return Client(
        auth=("api", key or server.key),
        api_url=server.url,
        retry_policy=RetryPolicy(max_retries=0),
    )


def sdk_events(client: Client, server: LiveServer, message_id: str) -> list[Event]:
    """Poll ``events.get`` (first page only, as SDK users do) until accepted + delivered."""
    deadline = time.monotonic() + 10
    while True:
        r = client.events.get(domain=server.domain, filters={"message-id": message_id})
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) >= {"items", "paging"}
        items: list[Event] = body["items"]
        kinds = {(e["event"], e["recipient"]) for e in items}
        if {("accepted", TO), ("delivered", TO)} <= kinds:
            return items
        assert time.monotonic() < deadline, f"timed out; saw {sorted(kinds)}"
        time.sleep(0.1)


def test_send_then_read_events(server: LiveServer) -> None:
    client = sdk(server)
    data: dict[str, Any] = {
        "from": f"Tidings SDK <sdk@{server.domain}>",
        "to": [TO],
        "subject": "Hello from the Python SDK",
        "text": "Plain body",
        "html": "<p>HTML body</p>",
        "o:tag": ["sdk-welcome", "sdk-onboarding"],
        "v:user-id": 42,
        "v:plan": "pro",
        "o:testmode": False,
    }
    r = client.messages.create(data=data, domain=server.domain)
    assert r.status_code == 200, r.text
    assert r.url == f"{server.url}/v3/{server.domain}/messages"
    body = r.json()
    assert set(body) == {"id", "message"}
    assert body["message"] == "Queued. Thank you."
    m = BRACKETED_ID.match(body["id"])
    assert m, body["id"]
    message_id = m.group(1)

    events = sdk_events(client, server, message_id)
    assert {e["event"] for e in events} == {"accepted", "delivered"}
    for kind in ("accepted", "delivered"):
        e = one(events, kind, TO)
        assert e["message"]["headers"]["message-id"] == message_id
        assert e["message"]["headers"]["subject"] == "Hello from the Python SDK"
        assert e["tags"] == ["sdk-welcome", "sdk-onboarding"]
        assert e["user-variables"] == {"user-id": "42", "plan": "pro"}
        assert isinstance(e["timestamp"], float)
        assert abs(e["timestamp"] - time.time()) < 60
        assert isinstance(e["id"], str) and e["id"]
        assert e["flags"]["is-test-mode"] is False
        storage_url = e["storage"]["url"]
        assert storage_url.startswith(f"{server.url}/v3/domains/{server.domain}/messages/")
        assert storage_url.rsplit("/", 1)[1] == e["storage"]["key"]

    accepted, delivered = one(events, "accepted", TO), one(events, "delivered", TO)
    assert accepted["method"] == "http"
    assert accepted["message"]["recipients"] == [TO]
    assert "delivery-status" not in accepted or accepted["delivery-status"] is not None
    status = delivered["delivery-status"]
    assert status["code"] == 250 and type(status["code"]) is int
    assert accepted["timestamp"] <= delivered["timestamp"]

    # Self-hosted users fetch storage.url with plain HTTP and the same key.
    stored = httpx.get(accepted["storage"]["url"], auth=("api", server.key), timeout=10)
    assert stored.status_code == 200, stored.text
    assert stored.json()["Subject"] == "Hello from the Python SDK"
    assert stored.json()["body-plain"].strip() == "Plain body"

    # No filters at all (the SDK's own integration test): newest first over the retention window.
    r = client.events.get(domain=server.domain)
    assert r.status_code == 200, r.text
    assert {(e["event"], e["recipient"]) for e in r.json()["items"]} == {
        ("accepted", TO),
        ("delivered", TO),
    }


def test_bad_send_and_wrong_key(server: LiveServer) -> None:
    r = sdk(server).messages.create(data={"from": "sdsdsd"}, domain=server.domain)
    assert r.status_code == 400, r.text
    assert isinstance(r.json()["message"], str) and r.json()["message"]

    good = {
        "from": f"sdk@{server.domain}",
        "to": TO,
        "subject": "x",
        "text": "x",
    }
    r = sdk(server, key="key-not-a-real-one").messages.create(data=good, domain=server.domain)
    assert r.status_code == 401, r.text


def test_domains_get_v3(server: LiveServer) -> None:
    r = sdk(server).domains.get(domain_name=server.domain)
    assert r.status_code == 200, r.text
    assert r.url == f"{server.url}/v3/domains/{server.domain}"
    body = r.json()
    assert body["domain"]["name"] == server.domain
    records = body["sending_dns_records"]
    assert isinstance(records, list) and records
    assert all({"record_type", "name", "value"} <= set(rec) for rec in records)
    assert any(rec["record_type"] == "TXT" and "v=spf1" in rec["value"] for rec in records)


def test_smtp_credentials(server: LiveServer) -> None:
    """``domains_credentials``: create, list, change password, delete one, delete all."""
    client = sdk(server)
    d = server.domain
    login = f"alice@{d}"
    r = client.domains_credentials.create(domain=d, data={"login": login, "password": "first-pw"})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Created 1 credentials pair(s)"}
    r = client.domains_credentials.create(domain=d, data={"login": "bob", "password": "bob-pass"})
    assert r.status_code == 200, r.text

    r = client.domains_credentials.get(domain=d, filters={"limit": 10})
    assert r.status_code == 200, r.text
    assert r.url == f"{server.url}/v3/domains/{d}/credentials?limit=10"
    body = r.json()
    assert body["total_count"] == 2
    assert [i["login"] for i in body["items"]] == [login, f"bob@{d}"]

    # The SDK puts the bare local part in the path when the login's domain is the path's.
    r = client.domains_credentials.put(domain=d, login=login, data={"password": "second-pw"})
    assert r.status_code == 200, r.text
    assert r.url == f"{server.url}/v3/domains/{d}/credentials/alice"
    assert r.json() == {"message": "Password changed"}

    r = client.domains_credentials.delete(domain=d, login=login)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "Credentials have been deleted", "spec": login}
    r = client.domains_credentials.put(domain=d, login=login, data={"password": "third-pw"})
    assert r.status_code == 404
    assert r.json() == {"message": "Credentials not found"}

    r = client.domains_credentials.delete(domain=d)
    assert r.json() == {"message": "All domain credentials have been deleted", "count": 1}


def test_resend_a_stored_message(server: LiveServer) -> None:
    """``resend_message.create`` POSTs the form's ``to`` to the message's storage.url."""
    client = sdk(server)
    data = {"from": f"sdk@{server.domain}", "to": TO, "subject": "Once more", "text": "again"}
    r = client.messages.create(data=data, domain=server.domain)
    assert r.status_code == 200, r.text
    message_id = r.json()["id"][1:-1]
    accepted = one(sdk_events(client, server, message_id), "accepted", TO)
    again = ["again1@example.net", "again2@example.net"]
    r = client.resend_message.create(
        data={"to": again}, domain=server.domain, storage_url=accepted["storage"]["url"]
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"id": f"<{message_id}>", "message": "Queued. Thank you."}
    events = wait_events(
        server, has_each({"accepted", "delivered"}, set(again)), **{"message-id": message_id}
    )
    for recipient in again:
        e = one(events, "delivered", recipient)
        assert e["message"]["headers"]["subject"] == "Once more"
    assert b"again" in captured_mime(server, again[0], message_id)
