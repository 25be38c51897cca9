"""compose(): the message of a /messages send, read back with the standard email parser."""

from __future__ import annotations

import json
from email.message import EmailMessage
from typing import cast

import pytest

from tests.compose.helpers import build, read
from tidings.compose.mime import personalize
from tidings.core.model import Upload
from tidings.errors import TooLarge

Fields = list[tuple[str, str | Upload]]


def head_of(mime: bytes) -> bytes:
    return mime.split(b"\r\n\r\n", 1)[0]


def test_text_only_message() -> None:
    c = build([("from", "Sender <s@example.com>"), ("to", "r@example.org"), ("text", "Hi\nthere")])
    msg = read(c.mime)
    assert msg["From"] == "Sender <s@example.com>"
    assert msg["To"] == "r@example.org"
    assert msg["Subject"] is None
    assert msg["Date"] == "Wed, 03 Dec 2025 00:00:00 +0000"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Message-ID"] == f"<{c.message_id}>"
    assert c.message_id.endswith("@example.com") and "<" not in c.message_id
    assert msg.get_content_type() == "text/plain"
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert msg.get_content() == "Hi\r\nthere\r\n"  # a message ends with a line break
    assert b"\n" not in c.mime.replace(b"\r\n", b""), "every line ends in CRLF"
    assert c.size == len(c.mime)
    assert c.envelope_sender == "s@example.com"
    assert c.headers == {
        "from": "Sender <s@example.com>",
        "to": "r@example.org",
        "subject": "",
        "message-id": c.message_id,
    }


def test_alternative_order_text_amp_html() -> None:
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("html", "<p>html</p>"),
            ("amp-html", "<html amp4email>amp</html>"),
            ("text", "text"),
        ]
    )
    msg = read(c.mime)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/x-amp-html", "text/html"]
    assert [cast(EmailMessage, p).get_content() for p in parts] == [
        "text",
        "<html amp4email>amp</html>",
        "<p>html</p>",
    ]


def test_anymail_shape_headers_for_events() -> None:
    c = build(
        [
            ("from", "Test From <from@example.com>"),
            ("to", "test+to1@anymail.dev"),
            ("to", "Recipient 2 <test+to2@anymail.dev>"),
            ("cc", "Copy <cc@anymail.dev>"),
            ("bcc", "bcc@anymail.dev"),
            ("subject", "Anymail Mailgun all-options integration test"),
            ("text", "This is the text body"),
            ("h:X-Anymail-Test", "value: 3"),
            ("v:meta1", "simple string"),
            ("v:meta2", "2"),
            ("o:tag", "tag 1"),
            ("o:tag", "tag 2"),
        ]
    )
    assert c.headers["to"] == "test+to1@anymail.dev, Recipient 2 <test+to2@anymail.dev>"
    assert c.headers["from"] == "Test From <from@example.com>"
    assert c.headers["subject"] == "Anymail Mailgun all-options integration test"
    msg = read(c.mime)
    assert msg["Cc"] == "Copy <cc@anymail.dev>"
    assert msg["Bcc"] is None and b"bcc@anymail.dev" not in c.mime
    assert msg["X-Anymail-Test"] == "value: 3"
    assert msg.get_all("X-Mailgun-Tag") == ["tag 1", "tag 2"]
    assert json.loads(str(msg["X-Mailgun-Variables"])) == {"meta1": "simple string", "meta2": "2"}
    assert [r.recipient for r in c.recipients] == [
        "test+to1@anymail.dev",
        "test+to2@anymail.dev",
        "cc@anymail.dev",
        "bcc@anymail.dev",
    ]
    for copy in c.recipients:
        assert copy.message_id == c.message_id
        assert copy.headers == c.headers
        assert copy.variables == {"meta1": "simple string", "meta2": "2"}
        assert copy.substitutions is None
        assert personalize(c.mime, copy) is c.mime
    assert (c.tags, c.variables, c.deliver_at, c.testmode) == (
        ("tag 1", "tag 2"),
        {"meta1": "simple string", "meta2": "2"},
        None,
        False,
    )


def test_non_ascii_subject_and_names_are_encoded() -> None:
    subject = "Grüße aus Köln – 日本語のテスト and a rather long tail " * 2
    c = build(
        [
            ("from", "Jörg Müller <j@example.com>"),
            ("to", 'Zoë <z@example.org>, "Doe, Jane" <j@x.org>'),
            ("subject", subject),
            ("text", "x"),
        ]
    )
    head = head_of(c.mime)
    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    msg = read(c.mime)
    assert msg["Subject"] == subject
    assert msg["From"] == "Jörg Müller <j@example.com>"
    assert [a.display_name for a in msg["To"].addresses] == ["Zoë", "Doe, Jane"]
    assert c.headers["to"] == 'Zoë <z@example.org>, "Doe, Jane" <j@x.org>'
    assert c.headers["subject"] == subject


@pytest.mark.parametrize(
    ("body", "cte"),
    [
        ("<p>plain ascii, a line of 900 is fine: " + "y" * 900 + "</p>\n" * 20, "7bit"),
        ("<p>" + "x" * 1200 + "</p>", "quoted-printable"),
        ("<p>Café, with plenty of plain English words around it.</p>\n" * 50, "quoted-printable"),
        ("<p>Привет, как дела? Всё хорошо. " * 40 + "</p>", "base64"),
    ],
)
def test_body_encoding_chosen_by_content(body: str, cte: str) -> None:
    c = build([("from", "s@example.com"), ("to", "r@example.org"), ("html", body)])
    msg = read(c.mime)
    assert msg["Content-Transfer-Encoding"] == cte
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().replace("\r\n", "\n").rstrip("\n") == body.rstrip("\n")
    assert all(len(line) <= 998 for line in c.mime.split(b"\r\n"))


def test_attachments_inline_and_structure() -> None:
    csv = "navn,beløb\nÅse,10\n".encode()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("text", "see attached"),
            ("html", '<p><img src="cid:logo.png"></p>'),
            ("attachment", Upload("vedhæftet fil.csv", "text/csv", csv)),
            ("inline", Upload("logo.png", "image/png", png)),
            ("attachment", Upload("report.pdf", "application/pdf", b"%PDF-1.4")),
        ]
    )
    msg = read(c.mime)
    assert msg.get_content_type() == "multipart/mixed"
    body, *files = list(msg.iter_parts())
    assert body.get_content_type() == "multipart/alternative"
    plain, related = list(body.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, logo = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    assert logo["Content-ID"] == "<logo.png>"
    assert logo.get_content_disposition() == "inline"
    assert logo.get_filename() == "logo.png"
    assert logo.get_payload(decode=True) == png
    assert [f.get_filename() for f in files] == ["vedhæftet fil.csv", "report.pdf"]
    assert [f.get_content_disposition() for f in files] == ["attachment", "attachment"]
    assert files[0].get_payload(decode=True) == csv
    assert files[0].get_param("name") == "vedhæftet fil.csv"
    assert c.attachments == [
        {"filename": "vedhæftet fil.csv", "content-type": "text/csv", "size": len(csv)},
        {"filename": "report.pdf", "content-type": "application/pdf", "size": 8},
    ]


def test_inline_without_html_wraps_the_whole_body() -> None:
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("text", "t"),
            ("inline", Upload("a.png", "image/png", b"png")),
        ]
    )
    msg = read(c.mime)
    assert msg.get_content_type() == "multipart/related"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "image/png"]
    assert c.attachments == []


def test_h_headers_message_id_and_overrides() -> None:
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("text", "t"),
            ("h:Message-Id", "<custom.1@example.com>"),
            ("h:Reply-To", "Support Team <help@example.com>"),
            ("h:List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("h:To", "undisclosed-recipients:;"),
            ("h:Content-Type", "text/evil"),
            ("h:Bcc", "hidden@example.com"),
        ]
    )
    assert c.message_id == "custom.1@example.com"
    msg = read(c.mime)
    assert msg["Message-ID"] == "<custom.1@example.com>"
    assert len(msg.get_all("Message-ID") or []) == 1
    assert msg["Reply-To"] == "Support Team <help@example.com>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_all("To") == ["undisclosed-recipients:;"]
    assert c.headers["to"] == "undisclosed-recipients:;"
    assert msg.get_content_type() == "text/plain"
    assert b"hidden@example.com" not in c.mime
    assert [r.recipient for r in c.recipients] == ["r@example.org"]


def test_too_large_after_composing() -> None:
    with pytest.raises(TooLarge) as info:
        build(
            [("from", "s@example.com"), ("to", "r@example.org"), ("text", "x" * 900)],
            max_message_bytes=1000,
        )
    assert info.value.status == 413
    assert info.value.message == "Message size exceeds the limit of 1000 bytes"


def test_subject_with_line_breaks_stays_one_header() -> None:
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("subject", "Hello\r\nBcc: victim@example.org"),
            ("text", "t"),
        ]
    )
    msg = read(c.mime)
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Hello Bcc: victim@example.org"


FROM_FORMS = [
    "Sender <a@example.com>",
    "Sender  <a@example.com>",
    '"Sender " <a@example.com>',
    '" Sender" <a@example.com>',
    "Sender\t<a@example.com>",
    "=?utf-8?q?Sender_?= <a@example.com>",
    "=?utf-8?b?U2VuZGVyIA==?= <a@example.com>",
    "=?utf-8?q?_J=C3=B6rg__M=C3=BCller_?= <a@example.com>",
    '"Doe, Jane" <a@example.com>',
    "Sender (comment) <a@example.com>",
    "a@example.com",
    "<a@example.com>",
    "Sender <a@example.com>, Other <o@example.com>",
]


@pytest.mark.parametrize("value", FROM_FORMS)
@pytest.mark.parametrize("field", ["from", "h:From"])
def test_event_from_is_the_from_the_message_carries(field: str, value: str) -> None:
    fields: Fields = [("from", "x@example.com"), ("to", "r@example.org"), ("text", "t")]
    if field == "from":
        fields[0] = ("from", value)
    else:
        fields.append((field, value))
    c = build(fields)
    assert c.headers["from"] == str(read(c.mime)["From"])
    assert not c.headers["from"].endswith(' " <a@example.com>')


def test_event_to_from_h_to_is_the_to_the_message_carries() -> None:
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("text", "t"),
            ("h:To", '=?utf-8?q?Visible_?= <vis@example.org>, "Doe, J" <j@example.org>'),
        ]
    )
    assert (
        c.headers["to"]
        == str(read(c.mime)["To"])
        == 'Visible <vis@example.org>, "Doe, J" <j@example.org>'
    )
