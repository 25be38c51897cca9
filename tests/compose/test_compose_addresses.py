"""The address fast paths agree with the standard library's parser wherever they apply."""

from __future__ import annotations

import random
from email.utils import getaddresses

from tidings.compose.addresses import _NAMED, _SIMPLE, checked, parse_addresses
from tidings.core.model import Address


def _reference(value: str) -> tuple[Address, ...] | None:
    """``parse_addresses`` without its fast paths: every value through ``getaddresses``."""
    return checked(getaddresses([value]))


def test_named_fast_path_matches_the_parser() -> None:
    rng = random.Random(5)
    pieces = [*"ab .-'=?_<>@,;:\"()[]\\\t", "x@y.org", "<a@b.c>", "=?utf-8?q?J=C3=A9?="]
    pieces += ["Jane", "Doe", " <", "@x.org>", "Ünï"]
    hits = 0
    for _ in range(30_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if _NAMED.fullmatch(value) and not _SIMPLE.fullmatch(value):
            hits += 1
            assert parse_addresses(value) == _reference(value), value
    assert hits > 100  # the generator does reach the fast path


def test_common_forms() -> None:
    assert parse_addresses("Bench Weekly <news@bench.test>") == (
        Address("Bench Weekly", "news@bench.test"),
    )
    assert parse_addresses("  <news@bench.test>  ") == (Address("", "news@bench.test"),)
    assert parse_addresses("=?utf-8?q?J=C3=A9r=C3=B4me?= <j@x.org>") == (
        Address("Jérôme", "j@x.org"),
    )
    assert parse_addresses('"Doe, Jane" <j@x.org>') == (Address("Doe, Jane", "j@x.org"),)
    assert parse_addresses("Jane <not an address>") is None


def test_a_value_the_parser_must_guess_at_is_refused() -> None:
    # Python 3.11's lenient getaddresses read each of these as an extra (or other) address.
    for value in (
        "alice@x.org <bob@y.org>",
        "alice@x.org)<bob@y.org>",
        "Evil Bcc: e@x.org <a@z.org>",
        '"unclosed <a@x.org>',
    ):
        assert parse_addresses(value) is None, value


def test_local_part_dots_follow_rfc_5322() -> None:
    for bad in ("a..b@x.com", ".a@x.com", "a.@x.com", "x" * 65 + "@x.com"):
        assert parse_addresses(bad) is None, bad
    for good in ("a.b@x.com", "o'brien@x.ie", "x" * 64 + "@x.com", "first+tag@x.com"):
        assert parse_addresses(good) == (Address("", good),), good


def test_full_grammar_keeps_quotes_and_comments() -> None:
    assert parse_addresses('"J. Doe" <j.doe@x.org>, Jane (desk) <j@x.org>') == (
        Address("J. Doe", "j.doe@x.org"),
        Address("Jane", "j@x.org"),
    )
