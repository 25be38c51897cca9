"""Header lines within 998 octets (RFC 5322 §2.1.1), whatever the values: seeded random
long and odd values, each read back with the standard parser to the value given."""

from __future__ import annotations

import json
import random
from email.header import decode_header, make_header
from email.parser import BytesParser
from email.utils import getaddresses

import pytest

from tests.compose.helpers import build, read
from tidings.compose.headers import (
    address_header,
    param,
    unstructured,
    variables_header,
)
from tidings.core.model import Address, Upload
from tidings.errors import BadRequest

# Pieces random values are made of: words, long runs, blanks, non-ASCII, look-alikes of
# encoded words, JSON and MIME specials.
_BITS = [
    "word",
    "x" * 400,
    "y" * 1500,
    " ",
    "  ",
    " " * 70,
    " " * 300,
    "\t",
    " \t ",
    "é",
    "日本語",
    "😀",
    "=?",
    "?=",
    "=?utf-8?q?x?=",
    "%recipient.id%",
    '"',
    "\\",
    ",",
    ";",
    "<>",
    "=",
    "-",
    ".",
]


def random_text(rng: random.Random, *, longest: int = 4000) -> str:
    out: list[str] = []
    size = 0
    target = rng.choice([10, 100, 990, 1000, 2500, longest])
    while size < target:
        bit = rng.choice(_BITS)
        out.append(bit)
        size += len(bit)
    return "".join(out)[: rng.randint(1, target)]


def assert_lines_fit(data: bytes) -> None:
    longest = max(len(line) for line in data.split(b"\r\n"))
    assert longest <= 998, f"a line of {longest} octets"


SEEDS = range(150)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_subject_header_and_variables_fit_and_read_back(seed: int) -> None:
    rng = random.Random(seed)
    subject = random_text(rng)
    custom = random_text(rng).strip()
    variables = {"big": random_text(rng), "other": random_text(rng, longest=300)}
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("subject", subject),
            ("text", "t"),
            ("h:X-Custom", custom),
            *[(f"v:{k}", v) for k, v in variables.items()],
        ]
    )
    assert_lines_fit(c.mime)
    msg = read(c.mime)
    # The parser drops blanks that open a header value, so a value cannot start with one.
    assert str(msg["Subject"]) == subject.lstrip(" \t")
    if custom:
        assert str(msg["X-Custom"]) == custom
    assert json.loads(str(msg["X-Mailgun-Variables"])) == variables


@pytest.mark.parametrize("seed", SEEDS)
def test_random_attachment_names_fit_and_read_back(seed: int) -> None:
    rng = random.Random(seed)
    name = "".join(ch for ch in random_text(rng) if ch not in "\\/\t").strip() or "f"
    if name.startswith("<") and name.endswith(">"):
        name += ".txt"  # Python's get_filename() drops the brackets of "<x>", however sent
    c = build(
        [
            ("from", "s@example.com"),
            ("to", "r@example.org"),
            ("text", "t"),
            ("attachment", Upload(name, "application/pdf", b"%PDF")),
        ]
    )
    assert_lines_fit(c.mime)
    (part,) = list(read(c.mime).iter_attachments())
    assert part.get_filename() == name
    assert part.get_payload(decode=True) == b"%PDF"
    assert c.attachments[0]["filename"] == name


def _rfc2047_names(header: str) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header, read as RFC 2047 says: blanks between
    two encoded words are dropped (the standard parser's address reader keeps them)."""
    unfolded = header.replace("\r", "").replace("\n", "")
    return [
        (str(make_header(decode_header(name))), addr) for name, addr in getaddresses([unfolded])
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_random_display_names_fit_and_read_back(seed: int) -> None:
    rng = random.Random(seed)
    names = [
        " ".join(random_text(rng).replace("\t", " ").split()),  # a phrase: single blanks
        " ".join(random_text(rng, longest=200).split()),
    ]
    addresses = [Address(n, f"p{i}@example.org") for i, n in enumerate(names)]
    line = address_header("To", addresses)
    data = line.encode("utf-8")
    assert_lines_fit(data)
    compat = BytesParser().parsebytes(data + b"\r\n")
    expected = [(a.name, a.email) for a in addresses]
    assert _rfc2047_names(str(compat["To"])) == expected


@pytest.mark.parametrize(
    "value",
    [
        "x" * 3000,
        "a" + " " * 2000 + "b",
        " " * 1200 + "lead",
        "tail" + " " * 1200,
        "é" * 1500,
        "word " * 400,
        "=?utf-8?q?not_a_word?= " + "z" * 1200,
    ],
)
def test_unstructured_values_fold_or_encode(value: str) -> None:
    line = unstructured("X-Long", value)
    assert_lines_fit(line.encode())
    assert line.isascii()
    assert str(read((line + "\r\n").encode())["X-Long"]) == value.lstrip(" ")


def test_short_ascii_values_stay_as_they_are() -> None:
    assert unstructured("X-Tok", "y" * 60) == "X-Tok: " + "y" * 60 + "\r\n"
    # Long but within 998 octets without spaces: left whole (no encoding for the usual case).
    assert unstructured("X-Tok", "y" * 900) == "X-Tok: " + "y" * 900 + "\r\n"


def test_json_variables_unfold_to_the_same_json() -> None:
    variables = {"a": "w " * 600, "b": "1", "c": "q=?x?="}
    line = variables_header(variables)
    assert_lines_fit(line.encode())
    assert "=?" not in line, "no encoded word is needed: the JSON unfolds as it is"
    unfolded = line.split(": ", 1)[1].replace("\r\n", "")
    assert json.loads(unfolded) == variables


def test_json_string_too_long_for_a_line_goes_into_encoded_words() -> None:
    line = variables_header({"big": "x" * 3000})
    assert_lines_fit(line.encode())
    assert json.loads(str(read((line + "\r\n").encode())["X-Mailgun-Variables"])) == {
        "big": "x" * 3000
    }


def test_long_parameters_use_rfc2231_continuations() -> None:
    ascii_name = "report " * 30 + ".pdf"
    text = param("filename", ascii_name)
    assert text.startswith('filename*0="report ')
    assert all(len(line) <= 78 for line in (" " + text).split("\r\n"))
    non_ascii = "日本語" * 120 + ".txt"
    text = param("filename", non_ascii)
    assert text.startswith("filename*0*=utf-8''%E6%97%A5")
    assert all(len(line) <= 78 for line in (" " + text).split("\r\n"))
    quoted = 'we"ird\\' * 20
    for value in (ascii_name, non_ascii, quoted):
        head = f"Content-Disposition: attachment;\r\n {param('filename', value)}\r\n\r\n"
        assert read(head.encode()).get_filename() == value


def test_header_name_length_is_limited() -> None:
    with pytest.raises(BadRequest, match="not a valid header name"):
        build(
            [
                ("from", "s@example.com"),
                ("to", "r@example.org"),
                ("text", "t"),
                ("h:X-" + "N" * 300, "v"),
            ]
        )
    name = "h:X-" + "N" * 250  # at the limit: still folds within 998 octets
    c = build(
        [("from", "s@example.com"), ("to", "r@example.org"), ("text", "t"), (name, "v" * 3000)]
    )
    assert_lines_fit(c.mime)


def test_long_inline_name_is_refused() -> None:
    with pytest.raises(BadRequest, match="Content-ID"):
        build(
            [
                ("from", "s@example.com"),
                ("to", "r@example.org"),
                ("html", "<img>"),
                ("inline", Upload("i" * 990 + ".png", "image/png", b"png")),
            ]
        )
