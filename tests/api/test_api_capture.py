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


async def _capture_page(client: httpx.AsyncClient, url: str) -> tuple[list[str], dict[str, str]]:
    r = await client.get(url)
    assert r.status_code == 200, r.text
    body = r.json()
    return [i["id"] for i in body["items"]], body["paging"]


async def test_capture_walk_through_empty_pages(
    client: httpx.AsyncClient, account: Account
) -> None:
    """next and previous, also from the empty pages before the newest and after the oldest
    message, never skip a message."""
    for i in range(5):
        await client.post(
            f"/v3/{account.domain}/messages",
            data={"from": "s@example.test", "to": f"w{i}@example.org", "text": "x"},
        )
    await events_for(client, account.domain, want=5, event="delivered")
    everything, _ = await _capture_page(client, f"/v3/{account.domain}/capture")
    assert len(everything) == 5
    d = everything  # newest first
    url = f"/v3/{account.domain}/capture?limit=2"
    first, paging = await _capture_page(client, url)
    assert first == d[0:2]
    newer, newer_paging = await _capture_page(client, paging["previous"])
    assert newer == []  # nothing is newer than the newest
    back, _ = await _capture_page(client, newer_paging["next"])
    assert back == d[0:2]  # the newest is not skipped
    again, _ = await _capture_page(client, newer_paging["previous"])
    assert again == []  # re-polling the empty page stays empty until something arrives
    seen = list(first)
    while True:
        items, paging = await _capture_page(client, paging["next"])
        if not items:
            break
        seen += items
    assert seen == d
    older_back, _ = await _capture_page(client, paging["previous"])
    assert older_back == d[3:5]  # the oldest is not skipped on the way back


async def test_capture_message_id_filter_ignores_case(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={"from": "s@example.test", "to": "case@example.org", "text": "x"},
    )
    mid = r.json()["id"][1:-1]
    await events_for(client, account.domain, want=1, event="delivered")
    for asked in (mid, mid.upper(), f"<{mid.upper()}>"):
        items, _ = await _capture_page(client, f"/v3/{account.domain}/capture?message-id={asked}")
        assert len(items) == 1, asked


async def test_capture_tampered_tokens_are_400(client: httpx.AsyncClient, account: Account) -> None:
    for crafted in (
        '{"l": 5, "c": [9223372036854775808, "x"], "b": false}',
        '{"l": 5, "c": [1.5, "x"], "b": false}',
        '{"l": 5, "c": [1, "a\\u0000b"], "b": false}',
        '{"l": 5, "c": [1, 7], "b": false}',
        '{"l": true, "c": null, "b": false}',
        '{"l": 5, "c": null, "b": "yes"}',
        '{"l": 5, "c": [1, "x"], "b": false, "i": 1}',
    ):
        token = base64.urlsafe_b64encode(crafted.encode()).rstrip(b"=").decode()
        r = await client.get(f"/v3/{account.domain}/capture/page/{token}")
        assert r.status_code == 400, (crafted, r.text)
        assert r.json()["message"].startswith("Invalid page token")
