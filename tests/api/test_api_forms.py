"""The urlencoded decoder agrees with the standard library on every input."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, quote_plus

import pytest

from tidings.api.forms import parse_urlencoded

CASES = [
    b"a=1&b=2&a=3",
    b"html=%3Cp%3EHello+%E2%82%AC%3C%2Fp%3E&to=a%40b.org",
    b"x=%zz%&y=%4",  # malformed escapes
    b"raw=a=b&empty=&=novalue",  # a raw '=' inside a value
    b"lower=%3c%3e&upper=%3C%3E",
    b"crlf=line1%0D%0Aline2%0D%0A&sp=%20%20trail%20%20",
    b"plus=a%2Bb+c",
    b"bad-utf8=%FF%FE",
    b"&&a=1&&",
    b"only+plus=no+escapes+here",
    b"mixed=a+b%zz+%41",
]


@pytest.mark.parametrize("body", CASES)
def test_matches_parse_qsl(body: bytes) -> None:
    want = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    assert parse_urlencoded(body) == want


def test_long_html_round_trip() -> None:
    html = "<p class=\"x\">Grüße & <a href='https://e.org/?a=1&b=2'>link</a></p>\r\n" * 300
    body = f"html={quote_plus(html)}&to=a%40example.org".encode()
    assert parse_urlencoded(body) == [("html", html), ("to", "a@example.org")]


def test_random_bodies_match_parse_qsl() -> None:
    rng = random.Random(11)
    alphabet = ["%", "+", "=", "&", "a", "0", "F", "%3D", "%41", "%e2%82%ac", "\r", "\n", "%0A"]
    for _ in range(2000):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))).encode()
        want = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
        assert parse_urlencoded(body) == want, body
