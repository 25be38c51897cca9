"""Batch sends: recipient copies and personalize(), in Ghost's and anymail's shapes."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest

from tests.compose import helpers
from tests.compose.helpers import read
from tidings.compose.mime import personalize
from tidings.core.model import Composed, RecipientCopy, Upload
from tidings.errors import BadRequest

NOW = 1_764_720_000.0 - 3600
Fields = list[tuple[str, str | Upload]]


def part(msg: EmailMessage, ctype: str) -> EmailMessage:
    for p in msg.walk():
        if p.get_content_type() == ctype:
            return p
    raise AssertionError(f"no {ctype} part")


def ghost_fields() -> Fields:
    """What Ghost 6.65.0 posts for one batch (mailgun-client.js), three members."""
    members = {
        "ann@example.org": ("Ann", "a1"),
        "bob@example.org": ("Bob", "b2"),
        "cat@example.org": ("Cät", "c3"),
    }
    rv = {
        email: {
            "name": name,
            "unique_id": uid,
            "list_unsubscribe": f"https://blog.example.com/unsubscribe/?uuid={uid}&key=k",
            "message_id": f"email-1.{uid}0000000000000000000000000000@example.com",
        }
        for email, (name, uid) in members.items()
    }
    return [
        *[("to", email) for email in members],
        ("from", '"The Blog" <noreply@example.com>'),
        ("h:Reply-To", "The Blog <hello@example.com>"),
        ("subject", "New post for %recipient.name%"),
        ("html", "<p>Hi %recipient.name%, read <a href='%recipient.list_unsubscribe%'>x</a></p>"),
        ("text", "Hi %recipient.name%!\nUnsubscribe: %recipient.list_unsubscribe%"),
        ("recipient-variables", json.dumps(rv)),
        ("h:Sender", "noreply@example.com"),
        ("h:Auto-Submitted", "auto-generated"),
        ("h:X-Auto-Response-Suppress", "OOF, AutoReply"),
        ("h:List-Unsubscribe", "<%recipient.list_unsubscribe%>, <%tag_unsubscribe_email%>"),
        ("h:List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("v:email-id", "email-1"),
        ("o:tag", "ghost-email"),
        ("o:tag", "bulk-email"),
        ("o:tracking-opens", "yes"),
        ("o:deliverytime", "Wed, 03 Dec 2025 00:00:00 GMT"),
        ("h:Message-Id", "<%recipient.message_id%>"),
    ]


def test_ghost_batch_send() -> None:
    c = build(ghost_fields())
    # Mailgun echoes the unsubstituted Message-Id as the response id; Ghost relies on it.
    assert c.message_id == "%recipient.message_id%"
    assert c.tags == ("ghost-email", "bulk-email")
    assert c.deliver_at == 1_764_720_000.0
    assert c.request.tracking_opens == "yes"
    template = read(c.mime)
    assert template["To"] == "%recipient%"
    assert template["Subject"] == "New post for %recipient.name%"
    assert template["Message-ID"] == "<%recipient.message_id%>"
    assert "%recipient.name%" in part(template, "text/html").get_content()

    assert [r.recipient for r in c.recipients] == [
        "ann@example.org",
        "bob@example.org",
        "cat@example.org",
    ]
    ann = c.recipients[0]
    assert ann.message_id == "email-1.a10000000000000000000000000000@example.com"
    assert ann.headers == {
        "from": "The Blog <noreply@example.com>",
        "to": "ann@example.org",
        "subject": "New post for Ann",
        "message-id": ann.message_id,
    }
    assert ann.variables == {"email-id": "email-1"}
    assert ann.substitutions is not None and ann.substitutions["unique_id"] == "a1"

    msg = read(personalize(c.mime, ann))
    assert msg.get_all("To") == ["ann@example.org"]
    assert msg["Subject"] == "New post for Ann"
    assert msg["Message-ID"] == f"<{ann.message_id}>"
    assert msg["List-Unsubscribe"] == (
        "<https://blog.example.com/unsubscribe/?uuid=a1&key=k>, <%tag_unsubscribe_email%>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["Reply-To"] == "The Blog <hello@example.com>"
    assert msg.get_all("X-Mailgun-Tag") == ["ghost-email", "bulk-email"]
    assert json.loads(str(msg["X-Mailgun-Variables"])) == {"email-id": "email-1"}
    assert part(msg, "text/plain").get_content().replace("\r\n", "\n") == (
        "Hi Ann!\nUnsubscribe: https://blog.example.com/unsubscribe/?uuid=a1&key=k"
    )
    assert "Hi Ann," in part(msg, "text/html").get_content()

    cat = read(personalize(c.mime, c.recipients[2]))
    assert cat["Subject"] == "New post for Cät"
    assert "Hi Cät!" in part(cat, "text/plain").get_content()


def test_anymail_merge_metadata_and_headers_indirection() -> None:
    rv = {
        "alice@example.org": {"v:user": "alice", "h:List-Unsubscribe": "<mailto:a@unsub.example>"},
        "bob@example.org": {"v:user": "bob"},
    }
    c = build(
        [
            ("from", "from@example.com"),
            ("to", "Alice <alice@example.org>"),
            ("to", "bob@example.org"),
            ("subject", "Hello"),
            ("text", "Body"),
            ("v:user", "%recipient.v:user%"),
            ("v:static", "same"),
            ("h:List-Unsubscribe", "%recipient.h:List-Unsubscribe%"),
            ("recipient-variables", json.dumps(rv)),
        ]
    )
    alice, bob = c.recipients
    assert alice.variables == {"user": "alice", "static": "same"}
    assert bob.variables == {"user": "bob", "static": "same"}
    assert alice.headers["to"] == "Alice <alice@example.org>"
    assert c.message_id == alice.message_id == bob.message_id  # no per-recipient id given
    msg = read(personalize(c.mime, alice))
    assert msg["List-Unsubscribe"] == "<mailto:a@unsub.example>"
    assert msg["To"] == "Alice <alice@example.org>"
    assert json.loads(str(msg["X-Mailgun-Variables"])) == {"user": "alice", "static": "same"}
    # A key the recipient lacks becomes empty, as on Mailgun.
    assert read(personalize(c.mime, bob))["List-Unsubscribe"] == ""


def test_cc_and_unlisted_recipients_get_empty_substitutions() -> None:
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "a@example.org"),
            ("cc", "c@example.org"),
            ("subject", "Hi %recipient.name%"),
            ("text", "x"),
            ("h:Message-Id", "<%recipient.mid%>"),
            ("recipient-variables", '{"A@example.org": {"name": "A", "mid": "m1@example.com"}}'),
        ]
    )
    a, cc = c.recipients
    assert (a.message_id, a.headers["subject"]) == ("m1@example.com", "Hi A")
    assert cc.substitutions == {} and cc.headers["subject"] == "Hi "
    # Without its variable the copy still gets a real Message-ID, never "<>".
    assert cc.message_id.endswith("@example.com") and cc.message_id != "m1@example.com"
    assert read(personalize(c.mime, cc))["Message-ID"] == f"<{cc.message_id}>"


def _batch_with_html(html: str, name: str) -> tuple[Composed, RecipientCopy]:
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("html", html),
            ("attachment", Upload("data.bin", "application/octet-stream", bytes(range(256)))),
            ("recipient-variables", json.dumps({"r@example.org": {"name": name}})),
        ]
    )
    return c, c.recipients[0]


def test_personalize_inside_base64_part() -> None:
    html = "<p>Здравствуйте, %recipient.name%! Как у вас дела?</p>\n" * 30
    c, copy = _batch_with_html(html, "Анна")
    template = read(c.mime)
    assert part(template, "text/html")["Content-Transfer-Encoding"] == "base64"
    assert b"%recipient.name%" not in c.mime
    out = personalize(c.mime, copy)
    got = part(read(out), "text/html").get_content().replace("\r\n", "\n")
    assert got.rstrip("\n") == html.replace("%recipient.name%", "Анна").rstrip("\n")


def test_personalize_inside_quoted_printable_part_across_soft_breaks() -> None:
    html = ("y" * 70 + "%recipient.name% café\n") * 20
    c, copy = _batch_with_html(html, "Zoë")
    template = read(c.mime)
    assert part(template, "text/html")["Content-Transfer-Encoding"] == "quoted-printable"
    assert b"%recipient.name%" not in c.mime  # soft line breaks split every placeholder
    out = personalize(c.mime, copy)
    got = part(read(out), "text/html").get_content().replace("\r\n", "\n")
    assert got == html.replace("%recipient.name%", "Zoë")


def test_personalize_keeps_attachments_and_other_bytes() -> None:
    c, copy = _batch_with_html("<p>Hi %recipient.name%</p>", "Ann")
    out = personalize(c.mime, copy)
    attachment_b64 = c.mime.split(b'filename="data.bin"', 1)[1].split(b"\r\n\r\n", 1)[1]
    attachment_b64 = attachment_b64.split(b"\r\n--", 1)[0]
    assert attachment_b64 in out
    assert part(read(out), "application/octet-stream").get_payload(decode=True) == bytes(range(256))
    assert (
        out.replace(b"Hi Ann", b"Hi %recipient.name%").replace(
            b"To: r@example.org", b"To: %recipient%"
        )
        == c.mime
    )


def test_personalize_non_ascii_value_into_7bit_part() -> None:
    c, copy = _batch_with_html("<p>Hi %recipient.name%</p>", "Jürgen")
    assert b"Content-Transfer-Encoding: 7bit" in c.mime
    html = part(read(personalize(c.mime, copy)), "text/html")
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert html.get_content() == "<p>Hi Jürgen</p>"


def test_thousand_recipient_batch() -> None:
    emails = [f"u{i}@example.org" for i in range(1000)]
    rv = {e: {"name": f"N{i}"} for i, e in enumerate(emails)}
    c = build(
        [
            ("from", "s@example.com"),
            *[("to", e) for e in emails],
            ("subject", "Hi %recipient.name%"),
            ("text", "t"),
            ("recipient-variables", json.dumps(rv)),
        ]
    )
    assert len(c.recipients) == 1000
    assert c.recipients[999].headers["subject"] == "Hi N999"
    assert c.recipients[999].headers["to"] == "u999@example.org"


def test_message_id_invalid_once_substituted_is_refused() -> None:
    rv = {"a@example.org": {"id": "one"}, "b@example.org": {"id": "t w o"}}
    fields: Fields = [
        ("from", "s@example.com"),
        ("to", "a@example.org"),
        ("to", "b@example.org"),
        ("text", "x"),
        ("h:Message-Id", "<%recipient.id%@my.host>"),
        ("recipient-variables", json.dumps(rv)),
    ]
    with pytest.raises(BadRequest) as info:
        build(fields)
    assert info.value.message == (
        "Message-ID 't w o@my.host' of b@example.org (after substituting recipient-variables)"
        " is not a valid Message-ID: use <left-part@domain>."
    )
    rv["b@example.org"]["id"] = "two"
    fields[-1] = ("recipient-variables", json.dumps(rv))
    c = build(fields)
    # As on Mailgun (and Ghost relies on it): the answer echoes the template, each copy and
    # its events carry the substituted id.
    assert c.message_id == "%recipient.id%@my.host"
    assert [r.message_id for r in c.recipients] == ["one@my.host", "two@my.host"]
    assert [read(personalize(c.mime, r))["Message-ID"] for r in c.recipients] == [
        "<one@my.host>",
        "<two@my.host>",
    ]


def test_from_with_placeholders_shows_what_the_copy_carries() -> None:
    """A substituted display name that ends up empty or with blanks: the event's From is
    the From of the delivered copy (it was ``"Sender " <...>`` against ``Sender <...>``)."""
    rv = {"a@example.org": {"first": "Alice"}, "b@example.org": {"first": " Bob, Jr. "}}
    c = build(
        [
            ("from", "Sender %recipient.first% <s@example.com>"),
            ("to", "a@example.org, b@example.org, c@example.org"),
            ("text", "x"),
            ("recipient-variables", json.dumps(rv)),
        ]
    )
    shown = [r.headers["from"] for r in c.recipients]
    assert shown == [
        "Sender Alice <s@example.com>",
        '"Sender Bob, Jr." <s@example.com>',
        "Sender <s@example.com>",
    ]
    for copy in c.recipients:
        assert str(read(personalize(c.mime, copy))["From"]) == copy.headers["from"]


def build(fields: Fields) -> Composed:
    return helpers.build(fields, now=NOW)
