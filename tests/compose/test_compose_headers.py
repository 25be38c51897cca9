"""Header encoding and folding, byte-level MIME helpers, Address.formatted."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from tidings.compose.headers import (
    address_header,
    decode,
    encode_header,
    format_address,
    param,
    unstructured,
)
from tidings.compose.rawmime import content_type, multipart_spans, split
from tidings.core.model import Address


def read_back(line: str, name: str) -> str:
    data = (line + "\r\n").encode("utf-8")
    return str(BytesParser(policy=policy.default).parsebytes(data)[name])


def lines_of(line: str) -> list[str]:
    assert line.endswith("\r\n")
    return line[:-2].split("\r\n")


def test_short_ascii_header_unchanged() -> None:
    assert unstructured("Subject", "Hello there") == "Subject: Hello there\r\n"


def test_long_ascii_header_folds_at_spaces() -> None:
    value = " ".join(f"word{i}" for i in range(60))
    line = unstructured("Subject", value)
    assert all(len(part) <= 78 for part in lines_of(line))
    assert len(lines_of(line)) > 1
    assert decode(line.split(": ", 1)[1]) == value
    assert read_back(line, "Subject") == value


@pytest.mark.parametrize(
    "value",
    [
        "Hello wörld",
        " ".join(["Ñandú"] * 30),
        "😀" * 40,
        "Привет, %recipient.name%! Как дела?",
        "=?utf-8?q?looks_encoded?= but is not",
    ],
)
def test_non_ascii_header_round_trips(value: str) -> None:
    line = unstructured("Subject", value)
    assert line.isascii()
    assert all(len(part) <= 78 for part in lines_of(line))
    assert read_back(line, "Subject") == value
    assert decode(line.split(": ", 1)[1]) == value


def test_ascii_words_stay_readable_next_to_encoded_ones() -> None:
    line = unstructured("Subject", "Hello %recipient.name% ñandú")
    assert line.startswith("Subject: Hello %recipient.name% =?utf-8?b?")


def test_format_address_quotes_and_encodes() -> None:
    assert format_address(Address("", "a@x.org")) == "a@x.org"
    assert format_address(Address("Jane Doe", "j@x.org")) == "Jane Doe <j@x.org>"
    assert format_address(Address("Doe, Jane", "j@x.org")) == '"Doe, Jane" <j@x.org>'
    assert format_address(Address('Say "hi"', "j@x.org")) == '"Say \\"hi\\"" <j@x.org>'
    encoded = format_address(Address("Jörg", "j@x.org"))
    assert encoded.startswith("=?utf-8?b?") and encoded.endswith(" <j@x.org>")


def test_address_header_round_trips_and_folds() -> None:
    addrs = [Address(f"Person, Number {i}", f"p{i}@example.org") for i in range(8)]
    addrs.append(Address("Zoë", "z@example.org"))
    line = address_header("To", addrs)
    assert line.isascii()
    assert all(len(part) <= 78 for part in lines_of(line))
    parsed = BytesParser(policy=policy.default).parsebytes((line + "\r\n").encode())["To"]
    assert [(a.display_name, a.addr_spec) for a in parsed.addresses] == [
        (a.name, a.email) for a in addrs
    ]


def test_encode_header_formats_address_headers_and_falls_back_to_text() -> None:
    assert encode_header("Reply-To", "Jörg <j@x.org>").startswith("Reply-To: =?utf-8?b?")
    assert encode_header("Reply-To", "<%recipient%>") == "Reply-To: <%recipient%>\r\n"
    assert encode_header("X-Note", "plain") == "X-Note: plain\r\n"


def test_param() -> None:
    assert param("filename", "report.pdf") == 'filename="report.pdf"'
    assert param("filename", 'a "b".txt') == 'filename="a \\"b\\".txt"'
    assert param("filename", "vedhæftet fil.csv") == "filename*=utf-8''vedh%C3%A6ftet%20fil.csv"


def test_address_formatted() -> None:
    assert Address("", "a@x.org").formatted == "a@x.org"
    assert Address("Doe, Jane", "j@x.org").formatted == '"Doe, Jane" <j@x.org>'
    assert Address("Zoë", "z@x.org").formatted == "Zoë <z@x.org>"


def test_split_and_content_type() -> None:
    entity = split(b"Subject: a\n b\nContent-Type: text/HTML; charset=UTF-8\n\nbody\n")
    assert [name for name, _ in entity.headers] == ["Subject", "Content-Type"]
    assert entity.get("subject") == "a b"
    assert entity.body == b"body\r\n"
    assert content_type(entity.get("content-type")) == ("text/html", {"charset": "UTF-8"})
    assert content_type(None) == ("text/plain", {})
    assert content_type('multipart/mixed; boundary="a \\"b\\""; x=1') == (
        "multipart/mixed",
        {"boundary": 'a "b"', "x": "1"},
    )


def test_multipart_spans_skip_look_alike_lines() -> None:
    body = (
        b"preamble\r\n--bnd\r\nA: 1\r\n\r\none\r\n--bndx not a delimiter\r\n"
        b"--bnd  \r\n\r\ntwo\r\n--bnd--\r\nepilogue\r\n"
    )
    spans = list(multipart_spans(body, "bnd"))
    assert [body[s:e] for s, e in spans] == [
        b"A: 1\r\n\r\none\r\n--bndx not a delimiter",
        b"\r\ntwo",
    ]


def test_line_breaks_in_values_cannot_inject_headers() -> None:
    line = unstructured("Subject", "Hi\r\nBcc: victim@example.org")
    assert line == "Subject: Hi Bcc: victim@example.org\r\n"
    name = format_address(Address("Evil\r\nBcc: victim@example.org", "e@x.org"))
    assert "\r" not in name and "\n" not in name
    assert "\n" not in unstructured("Subject", "Grüße\nBcc: x@y.org")[:-2]


def test_date_header_is_rfc5322_to_the_second() -> None:
    """The cached Date line is what the standard library formats, fractions of a second
    dropped; two sends of one second share it, the next second gets its own."""
    from datetime import UTC, datetime
    from email.utils import format_datetime

    from tidings.compose.headers import date_header

    for now in (0.0, 1_700_000_000.0, 1_700_000_000.999, 1_796_000_123.25):
        expected = format_datetime(datetime.fromtimestamp(now, UTC))
        assert date_header(now) == f"Date: {expected}\r\n"
    assert date_header(1_700_000_000.1) is date_header(1_700_000_000.9)
    assert date_header(1_700_000_001.0) == "Date: Tue, 14 Nov 2023 22:13:21 +0000\r\n"
