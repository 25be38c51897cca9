"""Malformed input never breaks the server: every answer is a Mailgun-style 4xx or a 200."""

from __future__ import annotations

import random
import string

import httpx

from tests.conftest import Account

JUNK = [
    "",
    " ",
    "%",
    "%zz",
    "\x00",
    "(",
    ")",
    '"',
    "NOT",
    "OR OR",
    ">",
    ">-1",
    "9" * 40,
    "é" * 3,
    "<>",
    "a@",
    "@b",
    "yes",
    "no",
    "1e309",
    "-1",
    "Mon, 99 Foo 2020",
    "null",
    "{}",
    "[]",
    '{"a": 1}',
    "x" * 3000,
]
EVENT_PARAMS = [
    "begin",
    "end",
    "ascending",
    "limit",
    "event",
    "recipient",
    "tags",
    "size",
    "message-id",
    "subject",
    "from",
    "to",
    "severity",
    "attachment",
    "list",
    "pretty",
]
SEND_FIELDS = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "text",
    "html",
    "o:tag",
    "o:deliverytime",
    "o:testmode",
    "o:tracking",
    "o:tracking-clicks",
    "h:X-Junk",
    "v:k",
    "recipient-variables",
    "h:Message-Id",
    "o:dkim",
    "amp-html",
    "template",
]


def _junk(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(JUNK)
    return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))


async def test_no_request_makes_a_server_error(client: httpx.AsyncClient, account: Account) -> None:
    rng = random.Random(20261124)
    d = account.domain
    for _ in range(120):
        params = {rng.choice(EVENT_PARAMS): _junk(rng) for _ in range(rng.randint(1, 4))}
        r = await client.get(f"/v3/{d}/events", params=params)
        assert r.status_code in (200, 400), (params, r.status_code, r.text)
        if r.status_code == 400:
            assert r.json()["message"]
    for _ in range(40):
        token = "".join(ch for ch in _junk(rng) if ch.isalnum() or ch in "-_.~") or "x"
        r = await client.get(f"/v3/{d}/events/{token}")
        assert r.status_code in (400, 404), (token, r.status_code, r.text)
        r = await client.get(f"/v3/{d}/capture/page/{token}")
        assert r.status_code in (400, 404), (token, r.status_code, r.text)
    for _ in range(120):
        data = {rng.choice(SEND_FIELDS): _junk(rng) for _ in range(rng.randint(1, 6))}
        if rng.random() < 0.5:
            data.update({"from": "a@example.test", "to": "b@example.org", "text": "x"})
        r = await client.post(f"/v3/{d}/messages", data=data)
        assert r.status_code in (200, 400, 413), (data, r.status_code, r.text)
        assert r.json()["message"]
    for _ in range(30):
        data = {
            k: _junk(rng)
            for k in rng.sample(
                [
                    "name",
                    "wildcard",
                    "spam_action",
                    "web_scheme",
                    "web_prefix",
                    "message_ttl",
                    "dkim_key_size",
                    "dkim_selector",
                ],
                3,
            )
        }
        r = await client.post("/v4/domains", data=data)
        assert r.status_code in (200, 400), (data, r.status_code, r.text)


async def test_nul_characters_are_refused_everywhere(
    client: httpx.AsyncClient, account: Account
) -> None:
    import base64
    import json

    d = account.domain
    r = await client.post(
        f"/v3/{d}/messages", data={"from": "a@example.test", "to": "b@example.org", "text": "x\x00"}
    )
    assert r.status_code == 400 and "NUL" in r.json()["message"]
    files = [("attachment", ("bad\x00name.txt", b"ok\x00binary is fine", "text/plain"))]
    r = await client.post(
        f"/v3/{d}/messages",
        data={"from": "a@example.test", "to": "b@example.org", "text": "x"},
        files=files,
    )
    # the client may escape the NUL in the part header; either way nothing breaks
    assert r.status_code in (200, 400), r.text
    files = [("attachment", ("good.bin", b"\x00\x01\x02", "application/octet-stream"))]
    r = await client.post(
        f"/v3/{d}/messages",
        data={"from": "a@example.test", "to": "b@example.org", "text": "x"},
        files=files,
    )
    assert r.status_code == 200, r.text
    mime = b"From: a@example.test\r\nTo: b@example.org\r\nSubject: bad\x00subject\r\n\r\nbody\r\n"
    r = await client.post(
        f"/v3/{d}/messages.mime",
        data={"to": "b@example.org"},
        files=[("message", ("MimeMessage", mime, "message/rfc822"))],
    )
    assert r.status_code == 400 and "NUL" in r.json()["message"], r.text
    r = await client.get(f"/v3/{d}/events", params={"subject": "a\x00b"})
    assert r.status_code == 400 and "NUL" in r.json()["message"]
    body = {"a": True, "s": None, "e": None, "l": 10, "f": [["subject", "a\x00"]], "c": None}
    token = base64.urlsafe_b64encode(json.dumps({**body, "b": False}).encode()).decode()
    r = await client.get(f"/v3/{d}/events/{token.rstrip('=')}")
    assert r.status_code == 400
    crafted = base64.urlsafe_b64encode(json.dumps({"l": 5, "r": "x\x00"}).encode()).decode()
    r = await client.get(f"/v3/{d}/capture/page/{crafted.rstrip('=')}")
    assert r.status_code == 400
    # nothing above reached the store
    listed = (await client.get(f"/v3/{d}/events")).json()["items"]
    assert all("\x00" not in json.dumps(e) for e in listed)


async def test_nul_in_paths_and_domain_queries(client: httpx.AsyncClient, account: Account) -> None:
    for path in (
        "/v3/a%00b.test/events",
        "/v3/a%00b.test/capture",
        "/v4/domains/a%00b.test",
        "/v3/domains/a%00b.test",
    ):
        r = await client.get(path)
        assert r.status_code == 404, (path, r.text)
        # refused before routing: no name or id of ours holds NUL
        assert r.json() == {"message": "Not Found"}
    r = await client.post(
        "/v3/a%00b.test/messages",
        data={"from": "a@example.test", "to": "b@example.org", "text": "x"},
    )
    assert r.status_code == 404, r.text
    for version in ("v3", "v4"):
        for params in ({"search": "a\x00b"}, {"state": "act\x00ive"}, {"state": "\x00"}):
            r = await client.get(f"/{version}/domains", params=params)
            assert r.status_code == 400, (version, params, r.text)
            name = next(iter(params))
            want = f"'{name}' parameter must not contain NUL characters"
            assert r.json() == {"message": want}, (version, params, r.text)
