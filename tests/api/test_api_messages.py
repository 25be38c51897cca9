"""Sending: the happy path end to end, and every bad input with Mailgun's answer."""

from __future__ import annotations

import base64
import contextlib
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from tests.conftest import BASE_URL, Account, sending_key_client
from tests.support.polling import events_for
from tidings.runtime import Runtime
from tidings.store.tables import deliveries, events, messages

HTML = "<html><body>" + "<p>Hello there, reader.</p>" * 700 + "</body></html>"


def form(**extra: Any) -> dict[str, Any]:
    base = {
        "from": "Sender <sender@example.test>",
        "to": "alice@example.org",
        "subject": "Hello",
        "text": "Hello text",
        "html": HTML,
    }
    base.update(extra)
    return base


async def test_send_then_accepted_and_delivered(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data=form(**{"o:tag": ["welcome", "Bulk"], "v:user-id": "42"}),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)
    body = r.json()
    assert list(body) == ["id", "message"]  # Mailgun's order
    assert body["message"] == "Queued. Thank you."
    assert body["id"].startswith("<") and body["id"].endswith(f"@{account.domain}>")
    mid = body["id"][1:-1]

    items = await events_for(client, account.domain, want=2, **{"message-id": mid})
    by_type = {e["event"]: e for e in items}
    assert set(by_type) == {"accepted", "delivered"}
    acc, dlv = by_type["accepted"], by_type["delivered"]
    assert acc["recipient"] == "alice@example.org"
    assert acc["recipient-domain"] == "example.org"
    assert acc["method"] == "http"
    assert acc["message"]["headers"]["message-id"] == mid
    assert acc["message"]["headers"]["subject"] == "Hello"
    assert acc["message"]["recipients"] == ["alice@example.org"]
    assert isinstance(acc["message"]["size"], int) and acc["message"]["size"] > len(HTML) // 2
    assert acc["tags"] == ["welcome", "Bulk"]
    assert acc["user-variables"] == {"user-id": "42"}
    assert acc["flags"]["is-test-mode"] is False
    assert acc["envelope"]["sender"] == "sender@example.test"
    assert isinstance(acc["timestamp"], float)
    assert acc["log-level"] == "info"
    key = acc["storage"]["key"]
    assert acc["storage"]["url"] == f"{BASE_URL}/v3/domains/{account.domain}/messages/{key}"
    assert len(acc["id"]) == 22
    status = dlv["delivery-status"]
    assert status["code"] == 250 and status["attempt-no"] == 1
    assert isinstance(status["session-seconds"], float)
    assert dlv["envelope"]["targets"] == "alice@example.org"
    assert dlv["timestamp"] >= acc["timestamp"]
    assert "delivery-status" not in acc  # never null: omitted where it does not apply


async def test_stored_message_is_served_at_storage_url(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(f"/v3/{account.domain}/messages", data=form(subject="Stored"))
    mid = r.json()["id"][1:-1]
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": mid}
    )
    url = acc["storage"]["url"]
    got = await client.get(url)
    assert got.status_code == 200
    stored = got.json()
    assert stored["Subject"] == "Stored"
    # Mailgun's spelling of the header keys (contract §2.3)
    assert stored["Message-Id"] == f"<{mid}>"
    assert stored["Mime-Version"] == "1.0"
    assert "Message-ID" not in stored
    assert stored["body-plain"].strip() == "Hello text"
    assert "Hello there, reader." in stored["body-html"]
    raw = await client.get(url, headers={"Accept": "message/rfc2822"})
    assert "Subject: Stored" in raw.json()["body-mime"]
    missing = await client.get(f"/v3/domains/{account.domain}/messages/nope")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Message not found"}


async def _mime_accepted(
    client: httpx.AsyncClient, account: Account, mime: bytes
) -> dict[str, Any]:
    """Send ``mime`` through ``messages.mime`` to env@example.org; its ``accepted`` event."""
    files = [("message", ("m.eml", mime, "message/rfc822"))]
    r = await client.post(
        f"/v3/{account.domain}/messages.mime", data={"to": "env@example.org"}, files=files
    )
    assert r.status_code == 200, r.text
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": r.json()["id"][1:-1]}
    )
    return acc


async def test_stored_message_with_an_unknown_charset_is_served(
    client: httpx.AsyncClient, account: Account
) -> None:
    mime = (
        b"From: a@example.org\r\nTo: env@example.org\r\nSubject: odd\r\n"
        b"Content-Type: text/plain; charset=x-bogus\r\n\r\nplain words\r\n"
    )
    acc = await _mime_accepted(client, account, mime)
    got = await client.get(acc["storage"]["url"])
    assert got.status_code == 200, got.text
    assert got.json()["body-plain"].strip() == "plain words"


async def test_multipart_with_attachment_and_cc(
    client: httpx.AsyncClient, account: Account
) -> None:
    files = [("attachment", ("vedhæftet fil.csv", b"a,b\n1,2\n", "text/csv"))]
    data = form(to="a@example.org, B <b@example.org>", cc="c@example.org", bcc="d@example.org")
    r = await client.post(f"/v3/{account.domain}/messages", data=data, files=files)
    assert r.status_code == 200, r.text
    mid = r.json()["id"][1:-1]
    items = await events_for(
        client, account.domain, want=4, event="accepted", **{"message-id": mid}
    )
    assert sorted(e["recipient"] for e in items) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
        "d@example.org",
    ]
    attachments = items[0]["message"]["attachments"]
    assert attachments == [{"filename": "vedhæftet fil.csv", "content-type": "text/csv", "size": 8}]


async def _counts(rt: Runtime) -> tuple[int, int, int]:
    async with rt.engine.connect() as conn:
        out = []
        for table in (messages, deliveries, events):
            out.append((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    return out[0], out[1], out[2]


# tidings has no Templates API, so no template exists on any domain.
UNKNOWN_TEMPLATE = (
    "template 'welcome' not found: this server stores no templates;"
    " send 'text', 'html' or 'amp-html' instead"
)

BAD_SENDS: list[tuple[dict[str, Any], int, str]] = [
    ({"from": None}, 400, "from parameter is missing"),
    ({"from": "sdsdsd"}, 400, "'from' parameter is not a valid address"),
    ({"to": None}, 400, "to parameter is missing"),
    ({"to": "not an address"}, 400, "to parameter is not a valid address"),
    # a display name holding an address: no second recipient is read out of it
    ({"to": "alice@x.org <bob@y.org>"}, 400, "to parameter is not a valid address"),
    ({"from": "Evil Bcc: e@x.org <a@z.org>"}, 400, "'from' parameter is not a valid address"),
    ({"text": None, "html": None}, 400, "Need at least one of 'text', 'html'"),
    ({"recipient-variables": "{not json"}, 400, "recipient-variables"),
    # the stdlib's address parser raised AttributeError on a group followed by junk
    ({"from": "g:;<>"}, 400, "'from' parameter is not a valid address"),
    ({"to": "g:;<>"}, 400, "to parameter is not a valid address"),
    ({"recipient-variables": "[" * 1000}, 400, "recipient-variables parameter is not a valid JSON"),
    (
        {
            "to": "a@example.org",
            "recipient-variables": '{"a@example.org": {"k": ' + "[" * 40 + "]" * 40 + "}}",
        },
        400,
        "recipient-variables parameter is nested too deeply",
    ),
    (
        {
            "to": "a@example.org",
            "subject": "%recipient.s%",
            "recipient-variables": '{"a@example.org": {"s": "x\\u0000y"}}',
        },
        400,
        "recipient-variables parameter must not contain NUL characters",
    ),
    ({"o:deliverytime": "Mon, 01 Jan 2001 00:00:00 GMT"}, 400, "o:deliverytime"),
    ({"o:deliverytime": "Mon, 01 Jan 2099 00:00:00 GMT"}, 400, "o:deliverytime"),
    ({"o:deliverytime": "yesterday-ish"}, 400, "o:deliverytime"),
    ({"o:testmode": "perhaps"}, 400, "o:testmode"),
    ({"o:tag": [f"t{i}" for i in range(11)]}, 400, "tag"),
    ({"v:big": "x" * 17000}, 400, "limited to 16KB total"),
    ({"to": [f"r{i}@example.org" for i in range(1001)]}, 400, "1000"),
    ({"template": "welcome", "text": None, "html": None}, 400, UNKNOWN_TEMPLATE),
    ({"template": "welcome", "html": None, "t:variables": '{"a": 1}'}, 400, UNKNOWN_TEMPLATE),
    ({"template": "welcome"}, 400, "Only one parameters 'html' or 'template' is allowed."),
    ({"h:Message-Id": "<a b>c@x>"}, 400, "h:Message-Id parameter is not a valid Message-ID"),
    ({"h:Message-Id": "no-at-sign"}, 400, "h:Message-Id parameter is not a valid Message-ID"),
    (
        {
            "h:Message-Id": "<%recipient.id%@my.host>",
            "recipient-variables": '{"alice@example.org": {"id": "a b"}}',
        },
        400,
        "'a b@my.host' of alice@example.org (after substituting recipient-variables)",
    ),
    ({"h:X-" + "N" * 300: "v"}, 400, "is not a valid header name"),
]


@pytest.mark.parametrize(("change", "status", "text"), BAD_SENDS)
async def test_bad_sends_are_refused_and_store_nothing(
    client: httpx.AsyncClient,
    account: Account,
    runtime: Runtime,
    change: dict[str, Any],
    status: int,
    text: str,
) -> None:
    data = {k: v for k, v in form(**change).items() if v is not None}
    r = await client.post(f"/v3/{account.domain}/messages", data=data)
    assert r.status_code == status, r.text
    assert text in r.json()["message"]
    assert await _counts(runtime) == (0, 0, 0)


@pytest.mark.parametrize(
    ("attachment", "message"),
    [
        # over the limit as uploaded: the form reader stops it
        (60_000, None),
        # 45 KB is under a 50 KB limit, its base64 in the composed message is not
        (45_000, "Message size exceeds the limit of 50000 bytes"),
    ],
)
async def test_message_over_size_limit(
    runtime: Runtime, account: Account, attachment: int, message: str | None
) -> None:
    runtime.services.settings = runtime.settings.model_copy(update={"max_message_bytes": 50_000})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app), base_url=BASE_URL, auth=account.auth
    ) as c:
        files = [("attachment", ("big.bin", b"x" * attachment, "application/octet-stream"))]
        r = await c.post(f"/v3/{account.domain}/messages", data=form(), files=files)
    assert r.status_code == 413, r.text
    if message is not None:
        assert r.json()["message"] == message
    else:
        assert "limit" in r.json()["message"].lower()
    assert await _counts(runtime) == (0, 0, 0)


async def test_unknown_domain_and_bad_key(client: httpx.AsyncClient, account: Account) -> None:
    r = await client.post("/v3/nowhere.example/messages", data=form())
    assert r.status_code == 404
    assert r.json() == {"message": "Domain not found: nowhere.example"}
    bad = await client.post(
        f"/v3/{account.domain}/messages", data=form(), auth=("api", "key-wrong")
    )
    assert bad.status_code == 401
    assert bad.text == "Forbidden"
    none = await client.post(f"/v3/{account.domain}/messages", data=form(), auth=None)
    assert none.status_code == 401


async def test_mime_send(client: httpx.AsyncClient, account: Account) -> None:
    mime = (
        b"From: Sender <sender@example.test>\r\nTo: x@example.org\r\nSubject: Raw\r\n"
        b"Message-ID: <raw-1@example.test>\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
    )
    files = [("message", ("MimeMessage", mime, "message/rfc822"))]
    r = await client.post(
        f"/v3/{account.domain}/messages.mime", data={"to": "env@example.org"}, files=files
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "<raw-1@example.test>"
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": "raw-1@example.test"}
    )
    assert acc["recipient"] == "env@example.org"
    assert acc["message"]["headers"]["subject"] == "Raw"
    broken = await client.post(
        f"/v3/{account.domain}/messages.mime",
        data={"to": "env@example.org"},
        files=[("message", ("MimeMessage", b"\x00\x01 no headers at all", "message/rfc822"))],
    )
    assert broken.status_code == 400
    missing = await client.post(
        f"/v3/{account.domain}/messages.mime", data={"to": "env@example.org"}
    )
    assert missing.status_code == 400
    assert "message" in missing.json()["message"]


async def test_mime_send_naming_a_template_is_refused(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    mime = b"From: s@example.test\r\nSubject: Raw\r\n\r\nbody\r\n"
    r = await client.post(
        f"/v3/{account.domain}/messages.mime",
        data={"to": "env@example.org", "template": "welcome"},
        files=[("message", ("MimeMessage", mime, "message/rfc822"))],
    )
    assert r.status_code == 400, r.text
    assert r.json() == {"message": UNKNOWN_TEMPLATE}
    assert await _counts(runtime) == (0, 0, 0)


async def test_testmode_reports_650_and_captures_nothing(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(f"/v3/{account.domain}/messages", data=form(**{"o:testmode": "yes"}))
    mid = r.json()["id"][1:-1]
    (dlv,) = await events_for(
        client, account.domain, want=1, event="delivered", **{"message-id": mid}
    )
    assert dlv["delivery-status"]["code"] == 650
    assert dlv["flags"]["is-test-mode"] is True
    inbox = await client.get(f"/v3/{account.domain}/capture", params={"message-id": mid})
    assert inbox.json()["items"] == []


@pytest.mark.parametrize("path", ["/v3/{d}/messages", "/v3/domains/{d}/credentials"])
async def test_a_client_gone_mid_request_is_no_server_error(
    runtime: Runtime, account: Account, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """A client that closes its connection halfway through its body: logged at INFO, no 500
    traceback, nothing stored."""
    body = b"from=a%40example.test&to=b%40example.org&text=hi&subject="
    auth = base64.b64encode(f"api:{account.key}".encode()).decode()
    path = path.format(d=account.domain)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"1000"),
            (b"authorization", f"Basic {auth}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    chunks = [
        {"type": "http.request", "body": body, "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.INFO):
        await runtime.app(scope, receive, send)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("client went away" in r.getMessage() for r in caplog.records)
    assert not any(m.get("status") == 500 for m in sent)
    assert await _counts(runtime) == (0, 0, 0)


def _small_limit_client(runtime: Runtime, account: Account) -> httpx.AsyncClient:
    runtime.services.settings = runtime.settings.model_copy(update={"max_message_bytes": 50_000})
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app), base_url=BASE_URL, auth=account.auth
    )


async def test_oversized_text_field_is_413_in_both_encodings(
    runtime: Runtime, account: Account
) -> None:
    """A text field over the limit gets the urlencoded answer when sent as multipart too
    (it was a 400 from the multipart parser's own part limit)."""
    big = form(html="x" * 60_000)
    async with _small_limit_client(runtime, account) as c:
        url = f"/v3/{account.domain}/messages"
        plain = await c.post(url, data=big)
        multi = await c.post(url, files=[(k, (None, str(v))) for k, v in big.items()])
    assert (plain.status_code, multi.status_code) == (413, 413), multi.text
    assert (
        plain.json() == multi.json() == {"message": "Message size exceeds the limit of 50000 bytes"}
    )
    assert await _counts(runtime) == (0, 0, 0)


async def test_oversized_field_in_a_body_without_length_is_413(
    runtime: Runtime, account: Account
) -> None:
    """A chunked body has no Content-Length to refuse it by: the parser stops the field."""
    boundary = "b0undary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="html"\r\n\r\n'.encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def chunks() -> Any:
        yield head
        for _ in range(40):
            yield b"x" * 32_768  # 1.25 MB: over the body allowance
        yield tail

    async with _small_limit_client(runtime, account) as c:
        r = await c.post(
            f"/v3/{account.domain}/messages",
            content=chunks(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
    assert r.status_code == 413, r.text
    assert r.json() == {"message": "Request body is larger than the 50000 bytes limit"}


async def test_mime_upload_limit_counts_the_headers_we_add(
    runtime: Runtime, account: Account
) -> None:
    head = b"From: s@example.test\r\nSubject: Raw\r\n\r\n"
    mime = head + b"x" * (50_000 - len(head))  # at the limit as uploaded, over once sent
    async with _small_limit_client(runtime, account) as c:
        r = await c.post(
            f"/v3/{account.domain}/messages.mime",
            data={"to": "env@example.org"},
            files=[("message", ("MimeMessage", mime, "message/rfc822"))],
        )
    assert r.status_code == 413, r.text
    assert r.json() == {"message": "Message size exceeds the limit of 50000 bytes"}
    assert await _counts(runtime) == (0, 0, 0)


FORWARDED = b"From: b@y.org\r\nSubject: inner\r\n\r\ninner body\r\n"


async def test_forwarded_message_attachment_in_both_send_paths(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data=form(),
        files=[("attachment", ("fwd.eml", FORWARDED, "message/rfc822"))],
    )
    assert r.status_code == 200, r.text
    mid = r.json()["id"][1:-1]
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": mid}
    )
    expected = [{"filename": "fwd.eml", "content-type": "message/rfc822", "size": len(FORWARDED)}]
    assert acc["message"]["attachments"] == expected
    await events_for(client, account.domain, want=1, event="delivered", **{"message-id": mid})
    inbox = await client.get(f"/v3/{account.domain}/capture", params={"message-id": mid})
    (item,) = inbox.json()["items"]
    raw = (await client.get(f"/v3/{account.domain}/capture/{item['id']}")).content
    assert b"Content-Transfer-Encoding: 7bit\r\n\r\n" + FORWARDED in raw

    mime = (
        b"From: s@example.test\r\nMessage-ID: <fwd-1@example.test>\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n"
        b"Content-Type: message/rfc822\r\n"
        b'Content-Disposition: attachment; filename="fwd.eml"\r\n\r\n'
        + FORWARDED
        + b"\r\n--B--\r\n"
    )
    r = await client.post(
        f"/v3/{account.domain}/messages.mime",
        data={"to": "env@example.org"},
        files=[("message", ("MimeMessage", mime, "message/rfc822"))],
    )
    assert r.status_code == 200, r.text
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": "fwd-1@example.test"}
    )
    assert acc["message"]["attachments"] == expected  # was size 0


async def test_event_from_matches_the_delivered_from(
    client: httpx.AsyncClient, account: Account
) -> None:
    rv = '{"alice@example.org": {"first": "Alice"}}'
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data=form(
            **{
                "from": "Sender %recipient.first% <sender@example.test>",
                "to": ["alice@example.org", "carol@example.org"],
                "recipient-variables": rv,
            }
        ),
    )
    assert r.status_code == 200, r.text
    mid = r.json()["id"][1:-1]
    items = await events_for(
        client, account.domain, want=2, event="accepted", **{"message-id": mid}
    )
    shown = {e["recipient"]: e["message"]["headers"]["from"] for e in items}
    assert shown == {
        "alice@example.org": "Sender Alice <sender@example.test>",
        "carol@example.org": "Sender <sender@example.test>",  # was '"Sender " <...>'
    }


async def test_resend_bad_input(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    r = await client.post(f"/v3/{account.domain}/messages", data=form(subject="Resend me"))
    mid = r.json()["id"][1:-1]
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": mid}
    )
    url = acc["storage"]["url"]
    before = await _counts(runtime)
    for data, status, text in (
        ({}, 400, "to parameter is missing"),
        ({"to": " "}, 400, "to parameter is missing"),
        ({"to": "not an address"}, 400, "to parameter is not a valid address"),
    ):
        bad = await client.post(url, data=data)
        assert bad.status_code == status, (data, bad.text)
        assert text in bad.json()["message"]
    gone = await client.post(f"/v3/domains/{account.domain}/messages/nope", data={"to": "a@b.org"})
    assert gone.status_code == 404 and gone.json() == {"message": "Message not found"}
    unauthorised = await client.post(url, data={"to": "a@b.org"}, auth=("api", "key-wrong"))
    assert unauthorised.status_code == 401
    # nothing stored by any of them (events may grow: the first send's delivery goes on)
    assert (await _counts(runtime))[:2] == before[:2]

    batch = await client.post(
        f"/v3/{account.domain}/messages",
        data=form(to="x@example.org", **{"recipient-variables": '{"x@example.org": {}}'}),
    )
    bmid = batch.json()["id"][1:-1]
    (bacc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": bmid}
    )
    refused = await client.post(bacc["storage"]["url"], data={"to": "a@b.org"})
    assert refused.status_code == 400
    assert refused.json() == {"message": "a batch send (recipient-variables) cannot be resent"}


async def test_resend_with_a_sending_key(
    runtime: Runtime, account: Account, client: httpx.AsyncClient
) -> None:
    r = await client.post(f"/v3/{account.domain}/messages", data=form(subject="Key"))
    mid = r.json()["id"][1:-1]
    (acc,) = await events_for(
        client, account.domain, want=1, event="accepted", **{"message-id": mid}
    )
    sender = await sending_key_client(runtime, account.domain)
    again = await sender.post(acc["storage"]["url"], data={"to": "again@example.org"})
    assert again.status_code == 200, again.text
    assert again.json() == {"id": f"<{mid}>", "message": "Queued. Thank you."}
    items = await events_for(
        client, account.domain, want=2, event="accepted", **{"message-id": mid}
    )
    assert sorted(e["recipient"] for e in items) == sorted([acc["recipient"], "again@example.org"])


async def test_stored_message_with_headers_the_parser_cannot_read(
    client: httpx.AsyncClient, account: Account
) -> None:
    mime = (
        b"From: a@example.org\r\nTo: env@example.org\r\nSubject: odd\r\n"
        b'Message-ID: <[x]@y>\r\nSender: g:;<>\r\nResent-From: g:;"\r\n\r\nbody\r\n'
    )
    acc = await _mime_accepted(client, account, mime)
    for accept in ("application/json", "message/rfc2822"):
        got = await client.get(acc["storage"]["url"], headers={"Accept": accept})
        assert got.status_code == 200, got.text
        assert got.json()["Sender"] == "g:;<>"
        assert got.json()["Subject"] == "odd"


async def test_reply_to_group_with_junk_is_no_server_error(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.post(f"/v3/{account.domain}/messages", data=form(**{"h:Reply-To": "g:;<>"}))
    # an h: address header that does not parse is written as text, as before
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", ["/v3/{d}/capture/a%00b", "/v3/domains/{d}/messages/a%00b"])
async def test_nul_in_a_path_is_404(client: httpx.AsyncClient, account: Account, path: str) -> None:
    url = path.format(d=account.domain)
    for r in (await client.get(url), await client.post(url, data={"to": "x@example.org"})):
        assert r.status_code == 404, r.text
        assert "message" in r.json()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("<>", False),
        ("<no at sign>", False),
        ("<a b@c>", False),
        ("<[x]@y>", True),
        ("<k@x.org>", True),
    ],
)
async def test_mime_upload_message_id_is_kept_or_replaced(
    client: httpx.AsyncClient, account: Account, given: str, kept: bool
) -> None:
    """The answer's id, the events and the delivered message agree, also when the upload's
    own Message-ID names nothing (``<>``) and is replaced."""
    mime = (
        f"From: a@example.org\r\nTo: env@example.org\r\nMessage-ID: {given}\r\n"
        "Subject: s\r\n\r\nbody\r\n"
    ).encode()
    r = await client.post(
        f"/v3/{account.domain}/messages.mime",
        data={"to": "env@example.org"},
        files=[("message", ("m.eml", mime, "message/rfc822"))],
    )
    assert r.status_code == 200, r.text
    mid = r.json()["id"][1:-1]
    assert (mid == given[1:-1]) is kept
    (dlv,) = await events_for(
        client, account.domain, want=1, event="delivered", **{"message-id": mid}
    )
    assert dlv["message"]["headers"]["message-id"] == mid
    listed = (await client.get(f"/v3/{account.domain}/capture")).json()["items"]
    raw = (await client.get(f"/v3/{account.domain}/capture/{listed[0]['id']}")).content
    ids_in_raw = [ln for ln in raw.split(b"\r\n") if ln.lower().startswith(b"message-id:")]
    assert ids_in_raw == [f"Message-ID: <{mid}>".encode()]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has no server
async def test_sends_go_on_after_the_database_drops_its_connections(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    """PostgreSQL restarted (here: every connection of ours terminated): the pooled
    connections are dead, and sends right after still answer 200 and are delivered."""
    ok = await client.post(f"/v3/{account.domain}/messages", data=form(to="before@example.org"))
    assert ok.status_code == 200, ok.text
    await events_for(client, account.domain, want=1, event="delivered")
    async with runtime.engine.connect() as conn:
        await conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with contextlib.suppress(DBAPIError):  # this connection goes too
            await conn.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
    for i in range(5):
        r = await client.post(
            f"/v3/{account.domain}/messages", data=form(to=f"after{i}@example.org")
        )
        assert r.status_code == 200, r.text
    await events_for(client, account.domain, want=6, event="delivered")
