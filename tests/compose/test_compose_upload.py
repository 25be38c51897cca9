"""compose_mime(): messages.mime uploads keep their body and get our headers."""

from __future__ import annotations

import json

import pytest

from tests.compose.helpers import read
from tidings.compose.mime import compose_mime, personalize
from tidings.compose.options import parse_send_form
from tidings.core.model import Composed, Upload
from tidings.errors import BadRequest, TooLarge

NOW = 1_764_720_000.0

SIMPLE = (
    b"From: Jane <jane@example.com>\n"
    b"To: Header Person <header@example.org>\n"
    b"Bcc: secret@example.org\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n"
    b"Reply-To: old@example.com\n"
    b"\n"
    b"Line one\n"
    b"Line two, trailing space \n"
)

MULTI = (
    b"From: jane@example.com\r\n"
    b"To: %recipient%\r\n"
    b"Subject: Hi %recipient.name%\r\n"
    b"Message-ID: <orig.1@example.com>\r\n"
    b"Date: Tue, 02 Dec 2025 10:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
    b"\r\n"
    b"This is a preamble.\r\n"
    b"--XYZ\r\n"
    b"Content-Type: text/html; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<p>Hall=F3 %recipient.name%</p>\r\n"
    b"--XYZ\r\n"
    b"Content-Type: text/plain\r\n"
    b'Content-Disposition: attachment; filename="notes %recipient.name%.txt"\r\n'
    b"\r\n"
    b"keep %recipient.name% here\r\n"
    b"--XYZ--\r\n"
    b"epilogue\r\n"
)


def build(data: bytes, *extra: tuple[str, str | Upload], limit: int = 25 << 20) -> Composed:
    fields: list[tuple[str, str | Upload]] = [
        ("to", "env1@example.org, env2@example.org"),
        ("message", Upload("MimeMessage", "message/rfc822", data)),
        *extra,
    ]
    req = parse_send_form(
        fields,
        mime=True,
        max_recipients=1000,
        max_message_bytes=25 << 20,
        max_schedule_days=7,
        now=NOW,
    )
    return compose_mime(req, domain="example.com", now=NOW, max_message_bytes=limit)


def test_simple_upload_gets_headers_and_keeps_body() -> None:
    c = build(SIMPLE, ("o:tag", "newsletter"), ("v:k", "v"), ("h:Reply-To", "new@example.com"))
    msg = read(c.mime)
    assert msg["Message-ID"] == f"<{c.message_id}>"
    assert c.message_id.endswith("@example.com")
    assert msg["Date"] == "Wed, 03 Dec 2025 00:00:00 +0000"
    assert msg["Bcc"] is None and b"secret@example.org" not in c.mime
    assert msg.get_all("Reply-To") == ["new@example.com"]
    assert msg.get_all("X-Mailgun-Tag") == ["newsletter"]
    assert json.loads(str(msg["X-Mailgun-Variables"])) == {"k": "v"}
    assert c.mime.endswith(b"\r\n\r\nLine one\r\nLine two, trailing space \r\n")
    assert b"\n" not in c.mime.replace(b"\r\n", b"")
    assert c.headers == {
        "from": "Jane <jane@example.com>",
        "to": "Header Person <header@example.org>",
        "subject": "Grüße",
        "message-id": c.message_id,
    }
    assert c.envelope_sender == "jane@example.com"
    # Envelope recipients are the form's `to`, not the message's To.
    assert [r.recipient for r in c.recipients] == ["env1@example.org", "env2@example.org"]
    assert all(personalize(c.mime, r) is c.mime for r in c.recipients)
    assert c.attachments == []


def test_existing_message_id_kept_unless_h_message_id_given() -> None:
    c = build(MULTI)
    assert c.message_id == "orig.1@example.com"
    assert read(c.mime)["Date"] == "Tue, 02 Dec 2025 10:00:00 +0000"
    c = build(MULTI, ("h:Message-Id", "<new.2@example.com>"))
    assert c.message_id == "new.2@example.com"
    assert read(c.mime).get_all("Message-ID") == ["<new.2@example.com>"]


def test_multipart_body_bytes_and_attachments() -> None:
    c = build(MULTI)
    body = MULTI.split(b"\r\n\r\n", 1)[1]
    assert c.mime.endswith(b"\r\n\r\n" + body)
    assert c.attachments == [
        {
            "filename": "notes %recipient.name%.txt",
            "content-type": "text/plain",
            "size": len(b"keep %recipient.name% here"),
        }
    ]


def test_personalize_uploaded_mime() -> None:
    c = build(
        MULTI,
        ("recipient-variables", json.dumps({"env1@example.org": {"name": "Åsa"}})),
    )
    first = c.recipients[0]
    assert first.headers["to"] == "env1@example.org"
    assert first.headers["subject"] == "Hi Åsa"
    msg = read(personalize(c.mime, first))
    assert msg["To"] == "env1@example.org"
    assert msg["Subject"] == "Hi Åsa"
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    assert html.get_content() == "<p>Halló Åsa</p>"
    assert html.get_content_charset() == "utf-8"
    out = personalize(c.mime, first)
    assert b"keep %recipient.name% here" in out  # attachments are not substituted
    assert b"This is a preamble.\r\n--XYZ\r\n" in out and out.endswith(b"--XYZ--\r\nepilogue\r\n")


def test_upload_size_limit() -> None:
    with pytest.raises(TooLarge) as info:
        build(SIMPLE, limit=100)
    assert info.value.message == "Message size exceeds the limit of 100 bytes"


def test_mbox_separator_line_is_skipped() -> None:
    c = build(b"From jane@example.com Mon Dec  1 00:00:00 2025\n" + SIMPLE)
    assert c.headers["from"] == "Jane <jane@example.com>"


def test_compose_mime_checks_too() -> None:
    req = parse_send_form(
        [("to", "r@example.org"), ("message", SIMPLE.decode())],
        mime=True,
        max_recipients=10,
        max_message_bytes=1 << 20,
        max_schedule_days=7,
        now=NOW,
    )
    broken = type(req)(to=req.to, mime=b"no headers here\n")
    with pytest.raises(BadRequest) as info:
        compose_mime(broken, domain="example.com", now=NOW)
    assert info.value.message == (
        "message is not a valid MIME message: line 1 is not a header field: b'no headers here'"
    )


FORWARDED = (
    b"From: b@y.org\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="IN"\r\n\r\n'
    b"--IN\r\nContent-Type: text/plain\r\n\r\ninner\r\n"
    b"--IN\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="inner.pdf"\r\n\r\n%PDF\r\n--IN--\r\n'
)
WITH_FILES = (
    b"From: jane@example.com\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="OUT"\r\n\r\n'
    b"--OUT\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    b"--OUT\r\nContent-Type: message/rfc822\r\n"
    b'Content-Disposition: attachment; filename="fwd.eml"\r\n\r\n'
    + FORWARDED
    + b"\r\n--OUT\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Disposition: attachment;\r\n filename*=utf-8''%C3%A5.bin\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n"
    b"--OUT\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\na=3Db\r\n"
    b"--OUT--\r\n"
)


def test_attachment_sizes_include_forwarded_messages() -> None:
    c = build(WITH_FILES)
    assert c.attachments == [
        # the forwarded message is one file, its size its bytes; its own files are not ours
        {"filename": "fwd.eml", "content-type": "message/rfc822", "size": len(FORWARDED)},
        {"filename": "å.bin", "content-type": "application/octet-stream", "size": 4},
        {"filename": "", "content-type": "text/plain", "size": 3},
    ]


def test_attachments_of_deeply_nested_or_broken_multiparts() -> None:
    nested = b"--B0\r\nContent-Type: application/x\r\nContent-Disposition: attachment\r\n\r\nxy\r\n"
    for i in range(40, 0, -1):
        nested = (
            f'Content-Type: multipart/mixed; boundary="B{i}"\r\n\r\n--B{i}\r\n'.encode()
            + nested.replace(b"--B0\r\n", b"")
            + f"\r\n--B{i}--\r\n".encode()
        )
    c = build(b"From: jane@example.com\r\n" + nested)
    assert c.attachments == []  # past 32 levels nothing more is looked at
    broken = (
        b'From: jane@example.com\r\nContent-Type: multipart/mixed; boundary="X"\r\n\r\n'
        b"--X\r\nnot a header line\r\n--X\r\nContent-Type: multipart/mixed\r\n\r\nno boundary\r\n"
        b"--X\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!not base64\r\n--X--\r\n"
    )
    assert build(broken).attachments == [
        {"filename": "", "content-type": "text/plain", "size": len(b"!!not base64")}
    ]


def test_personalized_text_part_keeps_its_parameters_within_a_line() -> None:
    long_value = "v" * 1200
    data = (
        b"From: jane@example.com\r\nSubject: Hi\r\n"
        b'Content-Type: text/plain; charset=us-ascii; format=flowed; x-long="'
        + long_value.encode()
        + b'"\r\n\r\nHello %recipient.name%\r\n'
    )
    c = build(data, ("recipient-variables", json.dumps({"env1@example.org": {"name": "Ann"}})))
    out = personalize(c.mime, c.recipients[0])
    assert max(len(line) for line in out.split(b"\r\n")) <= 998
    msg = read(out)
    assert msg.get_content().strip() == "Hello Ann"
    assert msg.get_param("format") == "flowed"
    assert msg.get_param("x-long") == long_value
