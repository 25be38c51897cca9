"""Parsing and checking the address fields of a send (``from``, ``to``, ``cc``, ``bcc``).

A field may repeat and each value may be a comma-separated list; display names may be
quoted (``"Doe, Jane" <j@x.org>``) or RFC 2047 encoded (anymail encodes non-ASCII names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import errors as email_errors
from email.header import decode_header, make_header
from email.headerregistry import AddressHeader, HeaderRegistry

from tidings.core.model import Address

__all__ = ["checked", "is_valid_email", "parse_addresses", "unique"]

# One dot-atom-ish local part (no spaces, brackets or quotes) and a domain of labels made
# of letters, digits and inner hyphens; Unicode letters are allowed (EAI / IDN).
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_ATOM = r"[^\s@<>()\[\]\\,;:\".]+"
# The local part is dot-separated atoms: no leading, trailing or doubled dot (RFC 5322).
_EMAIL = re.compile(rf"(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
# Values without quotes, brackets or comments are bare lists: split on commas, skip the parser.
_SIMPLE = re.compile(r"[^\"<>()]*")
# One address with a plain display name (``Jane Doe <j@x.org>``, the usual From): no quotes,
# comments, commas or other specials, so the parser would return the same pair.
_WORD = r"[^\s\"<>()\[\],;:\\@]+"
_ODD_BLANKS = re.compile(r"[ \t\r\n]{2,}|[\t\r\n]")
_NAMED = re.compile(rf" *((?:{_WORD}(?: {_WORD})*)?) *<({_WORD}@{_WORD})> *")


def _display_name(raw: str) -> str:
    """A display name decoded, with blanks as a reader of the header shows them: none around
    it, one for each run (encoded words included: ``=?utf-8?q?Sender_?=`` is ``Sender``)."""
    name = decode_words(raw.strip())
    if _ODD_BLANKS.search(name):
        name = _ODD_BLANKS.sub(" ", name)
    return name.strip(" ")


def is_valid_email(email: str) -> bool:
    """A syntactically valid address of at most 254 octets (RFC 5321 §4.5.3.1.3)."""
    if len(email) > 254 or (
        not email.isascii() and len(email.encode("utf-8", "surrogatepass")) > 254
    ):
        return False
    return _EMAIL.fullmatch(email) is not None


def decode_words(name: str) -> str:
    """``name`` with RFC 2047 encoded words decoded (unchanged when it has none or bad ones)."""
    if "=?" not in name:
        return name
    try:
        return str(make_header(decode_header(name)))
    except (LookupError, UnicodeDecodeError, ValueError):
        return name


def parse_addresses(value: str) -> tuple[Address, ...] | None:
    """All addresses in one field value; ``None`` when any of them is not valid."""
    pairs: list[tuple[str, str]] | None
    if _SIMPLE.fullmatch(value):
        pairs = [("", part.strip()) for part in value.split(",")]
    elif named := _NAMED.fullmatch(value):
        pairs = [(named[1], named[2])]
    else:
        pairs = _parsed(value)
    return None if pairs is None else checked(pairs)


_REGISTRY = HeaderRegistry()


def _parsed(value: str) -> list[tuple[str, str]] | None:
    """Pairs from RFC 5322's full grammar (quotes, comments, groups); ``None`` when the
    parser had to guess. The lenient ``getaddresses`` of Python 3.11 reads
    ``alice@x.org <bob@y.org>`` as two addresses, so a send would reach one nobody named."""
    try:
        header = _REGISTRY("to", value)
    except Exception:  # the stdlib parser fails on odd input in many ways
        # (``g:;<>`` raises AttributeError in Python 3.11): all mean "not an address list"
        return None
    if any(not isinstance(d, email_errors.NonASCIILocalPartDefect) for d in header.defects):
        return None
    assert isinstance(header, AddressHeader)
    return [(a.display_name, a.addr_spec) for a in header.addresses]


def checked(pairs: Iterable[tuple[str, str]]) -> tuple[Address, ...] | None:
    """``(display name, address)`` pairs as addresses; ``None`` when any is not valid."""
    out: list[Address] = []
    for name, email in pairs:
        if not email:
            if name:
                return None
            continue
        if not is_valid_email(email):
            return None
        out.append(Address(_display_name(name), email))
    return tuple(out)


def unique(addresses: Iterable[Address]) -> tuple[Address, ...]:
    """Drop repeated addresses (case-insensitive), keeping the first of each."""
    seen: set[str] = set()
    out: list[Address] = []
    for addr in addresses:
        key = addr.email.lower()
        if key not in seen:
            seen.add(key)
            out.append(addr)
    return tuple(out)
