"""django-anymail 15.2's Mailgun backend against a live server (contract §13.3).

Django is configured in-process once; each test points ANYMAIL at its own server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import django
import pytest
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailMessage
from django.conf import settings as django_settings
from django.test import override_settings

from tests.compat.helpers import captured_mime, has_each, one, wait_events
from tests.support.live import LiveServer

BACKEND = "anymail.backends.mailgun.EmailBackend"
FILENAME = "vedhæftet fil.csv"
CSV = "navn,beløb\nÅse,42\n".encode()
BRACKETED_ID = re.compile(r"^<([^<>\s]+@[^<>\s]+)>$")


def _anymail(server: LiveServer) -> dict[str, str]:
    return {"MAILGUN_API_KEY": server.key, "MAILGUN_API_URL": f"{server.url}/v3"}


@pytest.fixture
def anymail(server: LiveServer) -> Iterator[LiveServer]:
    """Django configured for ``server`` (configured once per process, overridden per test)."""
    if not django_settings.configured:
        django_settings.configure(EMAIL_BACKEND=BACKEND, ANYMAIL=_anymail(server))
        django.setup()
    with override_settings(EMAIL_BACKEND=BACKEND, ANYMAIL=_anymail(server)):
        yield server


def _bare_id(message_id: str | None) -> str:
    assert message_id is not None
    m = BRACKETED_ID.match(message_id)
    assert m, message_id
    return m.group(1)


def _parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_send_with_attachment_tags_metadata(anymail: LiveServer) -> None:
    server = anymail
    to = ["first@example.net", "Second Person <second@example.net>"]
    msg = AnymailMessage(
        subject="Your receipt",
        body="Thanks for your order.",
        from_email=f"Shop <shop@{server.domain}>",
        to=to,
    )
    msg.attach_alternative("<p>Thanks for your <b>order</b>.</p>", "text/html")
    msg.attach(FILENAME, CSV, "text/csv")
    msg.tags = ["receipt", "anymail"]
    msg.metadata = {"order": 123, "lang": "da"}
    assert msg.send() == 1

    status = msg.anymail_status
    assert status.status == {"queued"}
    message_id = _bare_id(status.message_id)
    assert set(status.recipients) == {"first@example.net", "second@example.net"}
    assert {s.message_id for s in status.recipients.values()} == {status.message_id}

    recipients = {"first@example.net", "second@example.net"}
    events = wait_events(
        server, has_each({"accepted", "delivered"}, recipients), **{"message-id": message_id}
    )
    for rcpt in recipients:
        for kind in ("accepted", "delivered"):
            e = one(events, kind, rcpt)
            assert e["tags"] == ["receipt", "anymail"]
            assert e["user-variables"] == {"order": "123", "lang": "da"}
            assert e["message"]["headers"]["message-id"] == message_id
            assert e["message"]["headers"]["subject"] == "Your receipt"
            attachments = e["message"]["attachments"]
            assert [a["filename"] for a in attachments] == [FILENAME]
            assert attachments[0]["content-type"].startswith("text/csv")
            assert attachments[0]["size"] == len(CSV)
        accepted = one(events, "accepted", rcpt)
        assert "first@example.net" in accepted["message"]["headers"]["to"]
        assert "second@example.net" in accepted["message"]["headers"]["to"]
        assert sorted(accepted["message"]["recipients"]) == sorted(recipients)

    # What the recipient got: both parts and the attachment, with its name intact.
    mime = _parse(captured_mime(server, "first@example.net", message_id))
    assert mime["Subject"] == "Your receipt"
    assert mime["Message-Id"] == status.message_id
    body = mime.get_body(preferencelist=("html",))
    assert body is not None and "<b>order</b>" in body.get_content()
    (att,) = list(mime.iter_attachments())
    assert att.get_filename() == FILENAME
    assert att.get_content_type() == "text/csv"
    assert att.get_payload(decode=True) == CSV


def test_merge_send(anymail: LiveServer) -> None:
    server = anymail
    alice, bob = "alice@example.net", "bob@example.net"
    msg = AnymailMessage(
        subject="Hello %recipient.name%",
        body="Dear %recipient.name%, your order is %recipient.order%.",
        from_email=f"shop@{server.domain}",
        to=[alice, f"Bob <{bob}>"],
    )
    msg.tags = ["merge"]
    msg.metadata = {"campaign": "spring"}
    msg.merge_data = {
        alice: {"name": "Alice", "order": "A-1"},
        bob: {"name": "Bob", "order": "B-2"},
    }
    msg.merge_metadata = {alice: {"order_id": "A-1"}, bob: {"order_id": "B-2"}}
    assert msg.send() == 1

    status = msg.anymail_status
    assert status.status == {"queued"}
    message_id = _bare_id(status.message_id)
    assert set(status.recipients) == {alice, bob}

    events = wait_events(
        server, has_each({"accepted", "delivered"}, {alice, bob}), **{"message-id": message_id}
    )
    expected = {
        alice: ("Alice", {"campaign": "spring", "order_id": "A-1"}),
        bob: ("Bob", {"campaign": "spring", "order_id": "B-2"}),
    }
    for rcpt, (name, user_vars) in expected.items():
        for kind in ("accepted", "delivered"):
            e = one(events, kind, rcpt)
            assert e["user-variables"] == user_vars, (kind, rcpt)
            assert e["tags"] == ["merge"]
            assert e["message"]["attachments"] == []
        # Batch send: each recipient gets their own message, To = only them, substituted.
        mime = _parse(captured_mime(server, rcpt, message_id))
        assert mime["Subject"] == f"Hello {name}"
        assert [a.addr_spec for a in mime["To"].addresses] == [rcpt]
        body = mime.get_body(preferencelist=("plain",))
        assert body is not None
        assert f"Dear {name}, your order is {user_vars['order_id']}." in body.get_content()
        assert "%recipient" not in mime.as_string()


def test_unknown_sender_domain(anymail: LiveServer) -> None:
    msg = AnymailMessage(
        subject="x", body="x", from_email="someone@unknown-domain.test", to=["a@example.net"]
    )
    with pytest.raises(AnymailAPIError) as info:
        msg.send()
    assert info.value.status_code == 404
    text = str(info.value)
    assert "Unknown sender domain 'unknown-domain.test'" in text  # anymail's own 404 detection
    assert "Domain not found" in text
