"""The fast quoted-printable path round-trips every ASCII text and keeps lines short."""

from __future__ import annotations

import binascii
import random

import pytest

from tidings.compose.body import encode_text


def _texts() -> list[str]:
    rng = random.Random(7)
    alphabet = "ab =\t\n<>\"'x"
    out = ["", "=" * 500, "y" * 77, "y" * 75 + "=", "abc \n \n\t", "<p>" * 400 + " "]
    out += ["\x01ctl=" * 200, "bell\x07\n" * 3, "del\x7f" * 300]  # controls: the slow path
    for _ in range(400):
        t = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        out.append(t.replace("\n", "") * 5 if rng.random() < 0.5 else t)
    return out


@pytest.mark.parametrize("text", _texts())
def test_round_trip(text: str) -> None:
    cte, body = encode_text(text)
    lines = body.split(b"\r\n")
    assert all(len(line) <= 998 for line in lines)
    if cte == "quoted-printable":
        assert all(len(line) <= 76 for line in lines)
        assert binascii.a2b_qp(body).replace(b"\r\n", b"\n") == text.encode()
    else:
        assert cte == "7bit"
        assert body.replace(b"\r\n", b"\n") == text.encode()


def test_long_ascii_html_is_quoted_printable() -> None:
    html = "<td style='a=b'>" * 2000
    cte, body = encode_text(html)
    assert cte == "quoted-printable"
    assert b"=3D" in body
    assert binascii.a2b_qp(body) == html.encode()


@pytest.mark.parametrize(
    ("text", "cte"),
    [
        ("x" * 998, "7bit"),
        ("x" * 999, "quoted-printable"),
        (("y" * 998 + "\n") * 50, "7bit"),
        (("y" * 998 + "\n") * 50 + "z" * 999, "quoted-printable"),
        ("a \n" * 400 + "b" * 1000 + " ", "quoted-printable"),
    ],
)
def test_line_length_decides_the_encoding(text: str, cte: str) -> None:
    got, body = encode_text(text)
    assert got == cte
    decoded = binascii.a2b_qp(body) if cte == "quoted-printable" else body
    assert decoded.replace(b"\r\n", b"\n") == text.encode()
    assert max(len(line) for line in body.split(b"\r\n")) <= (76 if got != "7bit" else 998)
