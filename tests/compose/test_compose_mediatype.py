"""Attachment content types: message/* never in base64, multipart/* never a broken part,
and every attachment's bytes read back from the composed message as they were sent."""

from __future__ import annotations

import json
from email import policy
from email.message import EmailMessage

import pytest

from tests.compose.helpers import read
from tidings.compose.mediatype import for_file
from tidings.compose.mime import compose, personalize
from tidings.compose.options import parse_send_form
from tidings.compose.rawmime import content_type, multipart_spans, split
from tidings.core.model import Composed, Upload

NOW = 1_764_720_000.0
EML = (
    b"From: b@y.org\r\nTo: c@z.org\r\nSubject: inner\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain\r\n\r\ninner body\r\nsecond line %recipient.name%\r\n"
)


def build(*files: tuple[str, Upload], extra: tuple[tuple[str, str], ...] = ()) -> Composed:
    req = parse_send_form(
        [("from", "a@example.com"), ("to", "r@example.org"), ("text", "t"), *extra, *files],
        mime=False,
        max_recipients=1000,
        max_message_bytes=25 * 1024 * 1024,
        max_schedule_days=7,
        now=NOW,
    )
    return compose(req, domain="example.com", now=NOW)


def raw_parts(mime: bytes) -> list[tuple[str, bytes]]:
    """``(Content-Transfer-Encoding, body bytes)`` of the top multipart's parts."""
    top = split(mime, normalize=False)
    boundary = content_type(top.get("content-type"))[1]["boundary"]
    parts = [split(top.body[s:e], normalize=False) for s, e in multipart_spans(top.body, boundary)]
    return [((p.get("content-transfer-encoding") or ""), p.body) for p in parts]


def the_file(msg: EmailMessage) -> EmailMessage:
    (part,) = list(msg.iter_attachments())
    assert isinstance(part, EmailMessage)
    return part


def test_message_rfc822_is_sent_7bit_and_reads_back_byte_for_byte() -> None:
    c = build(("attachment", Upload("fwd.eml", "message/rfc822", EML)))
    assert b"Content-Transfer-Encoding: base64" not in c.mime
    assert raw_parts(c.mime)[1] == ("7bit", EML)
    part = the_file(read(c.mime))
    assert part.get_content_type() == "message/rfc822"
    assert part.get_filename() == "fwd.eml"
    assert not part.defects
    inner = part.get_content()
    assert isinstance(inner, EmailMessage)
    assert inner["Subject"] == "inner" and inner["From"] == "b@y.org"
    assert inner.as_bytes(policy=policy.SMTP) == EML
    size = len(EML)
    assert c.attachments == [
        {"filename": "fwd.eml", "content-type": "message/rfc822", "size": size}
    ]


def test_message_rfc822_with_bare_line_feeds_gets_crlf() -> None:
    c = build(("attachment", Upload("fwd.eml", "message/rfc822", EML.replace(b"\r\n", b"\n"))))
    assert raw_parts(c.mime)[1] == ("7bit", EML)


def test_message_rfc822_without_a_file_content_type_is_guessed_from_the_name() -> None:
    c = build(("attachment", Upload("fwd.eml", None, EML)))
    assert raw_parts(c.mime)[1] == ("7bit", EML)
    assert the_file(read(c.mime)).get_content_type() == "message/rfc822"


@pytest.mark.parametrize(
    "data",
    [
        EML.replace(b"inner body", "inner bödy".encode()),  # 8bit: not sent as such
        EML + b"x" * 999 + b"\r\n",  # a line over 998 octets
        b"no header block here\r\n\r\njust text\r\n",
        b"",
        EML.replace(b"\r\n", b"\r"),  # bare carriage returns
        EML + b"\x00",
    ],
)
def test_message_rfc822_that_cannot_be_7bit_becomes_octet_stream(data: bytes) -> None:
    c = build(("attachment", Upload("fwd.eml", "message/rfc822", data)))
    assert raw_parts(c.mime)[1][0] == "base64"
    part = the_file(read(c.mime))
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_filename() == "fwd.eml"
    assert part.get_payload(decode=True) == data
    assert c.attachments[0]["content-type"] == "application/octet-stream"
    assert c.attachments[0]["size"] == len(data)


@pytest.mark.parametrize("given", ["multipart/mixed", "Multipart/Alternative; boundary=x"])
def test_multipart_attachment_becomes_octet_stream(given: str) -> None:
    c = build(("attachment", Upload("x.bin", given, b"hello\r\n--x\r\n")))
    msg = read(c.mime)
    for part in msg.walk():
        if part.is_multipart():
            assert part.get_boundary(), "every multipart has its boundary"
        assert not part.defects
    part = the_file(msg)
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_payload(decode=True) == b"hello\r\n--x\r\n"


@pytest.mark.parametrize(
    ("given", "name", "sent"),
    [
        ("text/csv; charset=utf-8", "a.csv", 'text/csv; charset="utf-8"'),
        ("image/PNG", "a.png", "image/png"),
        ("text/plain; name=evil.exe; boundary=b", "a.txt", "text/plain"),
        ("not a type", "a.pdf", "application/pdf"),
        ("text/ plain", "a.pdf", "application/pdf"),
        ("text/plain\x01", "a.bin", "application/octet-stream"),
        (None, "noext", "application/octet-stream"),
        ("x/" + "y" * 200, "a.pdf", "application/pdf"),
        ("text/plain; charset=" + "u" * 100, "a.txt", "text/plain"),
    ],
)
def test_given_content_types_are_checked(given: str | None, name: str, sent: str) -> None:
    assert for_file(given, name, b"data") == (sent, b"data")


def test_every_attachment_reads_back_byte_for_byte() -> None:
    files = {
        "a.bin": (bytes(range(256)) * 3, "application/octet-stream"),
        "b.csv": ("navn,beløb\r\nÅse,10\n".encode(), "text/csv"),
        "c.eml": (EML, "message/rfc822"),
        "d.mix": (b"--b\r\n\r\nx\r\n--b--\r\n", "multipart/mixed"),
    }
    c = build(*[("attachment", Upload(n, t, d)) for n, (d, t) in files.items()])
    got = {}
    for part in read(c.mime).iter_attachments():
        assert isinstance(part, EmailMessage)
        if part.get_content_type() == "message/rfc822":
            got[part.get_filename()] = part.get_content().as_bytes(policy=policy.SMTP)
        else:
            got[part.get_filename()] = part.get_payload(decode=True)
    assert got == {n: d for n, (d, _) in files.items()}


def test_batch_send_leaves_a_forwarded_message_alone() -> None:
    rv = json.dumps({"r@example.org": {"name": "Ann"}})
    c = build(
        ("attachment", Upload("fwd.eml", "message/rfc822", EML)),
        extra=(("recipient-variables", rv), ("subject", "Hi %recipient.name%")),
    )
    out = personalize(c.mime, c.recipients[0])
    assert read(out)["Subject"] == "Hi Ann"
    assert raw_parts(out)[1] == ("7bit", EML)
