"""The capture inbox: list (newest first, paged, filtered) and the raw message."""

from __future__ import annotations

import base64
import email
from email import policy

import httpx

from tests.conftest import BASE_URL, Account
from tests.support.polling import events_for


async def test_capture_inbox(client: httpx.AsyncClient, account: Account) -> None:
    mids = []
    for i in range(3):
        r = await client.post(
            f"/v3/{account.domain}/messages",
            data={
                "from": "s@example.test",
                "to": f"r{i}@example.org",
                "subject": f"Captured {i}",
                "html": f"<p>hello {i}</p>",
            },
        )
        mids.append(r.json()["id"][1:-1])
        # one at a time, so that capture order is send order
        await events_for(client, account.domain, want=i + 1, event="delivered")
    page = (await client.get(f"/v3/{account.domain}/capture", params={"limit": "2"})).json()
    assert [i["subject"] for i in page["items"]] == ["Captured 2", "Captured 1"]
    item = page["items"][0]
    assert item["message-id"] == mids[2] and item["recipient"] == "r2@example.org"
    assert isinstance(item["received-at"], float)
    assert all(v.startswith(BASE_URL) for v in page["paging"].values())
    nxt = (await client.get(page["paging"]["next"])).json()
    assert [i["subject"] for i in nxt["items"]] == ["Captured 0"]
    only = (
        await client.get(f"/v3/{account.domain}/capture", params={"recipient": "r1@example.org"})
    ).json()
    assert [i["subject"] for i in only["items"]] == ["Captured 1"]
    mixed = (
        await client.get(f"/v3/{account.domain}/capture", params={"recipient": "R1@Example.ORG"})
    ).json()
    assert [i["subject"] for i in mixed["items"]] == ["Captured 1"]

    raw = await client.get(f"/v3/{account.domain}/capture/{item['id']}")
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("message/rfc822")
    msg = email.message_from_bytes(raw.content, policy=policy.default)
    assert msg["Subject"] == "Captured 2"
    assert msg["Message-ID"] == f"<{mids[2]}>"

    assert (await client.get(f"/v3/{account.domain}/capture/nope")).status_code == 404
    for limit in ("500", "0", "²", "-1", "1e2", "9" * 30):
        bad = await client.get(f"/v3/{account.domain}/capture", params={"limit": limit})
        assert bad.status_code == 400, (limit, bad.text)
        assert "'limit' parameter must be an integer" in bad.json()["message"]
    bad = await client.get(f"/v3/{account.domain}/capture/page/!!!")
    assert bad.status_code == 400
    for crafted in ('{"l": 10, "c": ["x", "y"]}', '{"l": 999}', "[1]", '{"l": 5, "c": [1]}'):
        token = base64.urlsafe_b64encode(crafted.encode()).rstrip(b"=").decode()
        r = await client.get(f"/v3/{account.domain}/capture/page/{token}")
        assert r.status_code == 400, (crafted, r.text)
        assert "page token" in r.json()["message"]
