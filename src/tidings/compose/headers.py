"""Header lines for the messages we write: RFC 2047 words, RFC 2231 params, folding.

We write header lines ourselves rather than through ``email.policy``: its header objects
cost about 100 µs per header, more than the rest of composing. Output is plain RFC 5322
(lines folded at 78 columns where a space allows, CRLF, ASCII except EAI addresses) and
the tests read it back with the standard ``email`` parser.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import quote

from tidings.compose.addresses import decode_words, parse_addresses
from tidings.core import ids
from tidings.core.model import Address, SendRequest

__all__ = [
    "ADDRESS_HEADERS",
    "CRLF",
    "address_header",
    "decode",
    "encode_header",
    "format_address",
    "given_message_id",
    "mailgun_headers",
    "param",
    "unstructured",
]

CRLF = "\r\n"
#: Lines are folded to stay within this many characters where a space allows.
MAX_LINE = 78
#: No line may pass this many octets, CRLF excluded (RFC 5322 §2.1.1).
HARD_LINE = 998
#: Longest ``h:`` header name: ``Name: `` must leave room on its line for the value.
MAX_NAME = 256
#: Headers whose value is an address list; names are compared lower-cased.
ADDRESS_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to", "resent-cc"}
)

_WORD_BYTES = 39  # -> 52 base64 chars, a 64-char word: "Subject: " plus one fits 78
# A folded line starts with the blanks before its first word, so longer runs of spaces
# are carried inside an encoded word instead.
_MAX_BLANKS = 64
# Longest word of a display name left as it is (address header names are short).
_NAME_WORD = HARD_LINE - _MAX_BLANKS - len("Resent-From: ") - 2
# An address this long may hold a long display name: it is folded at its own spaces too.
_LONG_ADDRESS = MAX_LINE - 2
# Specials, and blanks a phrase would not keep (at the ends, in runs, other than a space).
_NEEDS_QUOTES = re.compile(r'[()<>\[\]:;@\\,."]|^\s|\s$|\s\s|[^\S ]')
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")
# Line breaks (and NUL) inside a value would start a new header: never let one through.
_BREAKS = re.compile(r"[\r\n\0]+")


def _words(text: str) -> list[str]:
    """``text`` as RFC 2047 B-encoded UTF-8 words, never splitting a character."""
    data = text.encode("utf-8")
    words: list[str] = []
    i = 0
    while i < len(data):
        j = min(i + _WORD_BYTES, len(data))
        while j < len(data) and data[j] & 0xC0 == 0x80:
            j -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[i:j]).decode('ascii')}?=")
        i = j
    return words


def _plain(token: str) -> bool:
    return token.isascii() and "=?" not in token


def _word_limit(name: str) -> int:
    """The longest word of a ``name`` header written as it is: the first line holds
    ``Name: ``, the word and up to ``_MAX_BLANKS`` blanks after it."""
    return max(HARD_LINE - len(name) - 2 - _MAX_BLANKS, 1)


def _phrase(value: str, limit: int) -> list[str]:
    """Space-separated pieces for ``_fold``; runs of tokens that cannot be written as they
    are (non-ASCII, ``=?``, longer than ``limit``) become encoded words, and so do runs of
    more than ``_MAX_BLANKS`` spaces (an empty piece is one more space)."""
    pieces: list[str] = []
    run: list[str] = []  # tokens going into encoded words: the spaces between them too
    blanks = 0  # empty tokens since the last piece, outside a run
    for token in value.split(" "):
        if not token and not run:
            blanks += 1
            continue
        if blanks > _MAX_BLANKS:
            run = [""] * blanks  # decodes to blanks - 1 spaces, plus the two around it
            blanks = 0
        if run and (not token or token.isspace()):
            # Readers drop blanks (tabs too) between two encoded words: keep them inside.
            run.append(token)
            continue
        if _plain(token) and len(token) <= limit:
            if run:
                pieces.extend(_words(" ".join(run)))
                run = []
            pieces.extend([""] * blanks)
            blanks = 0
            pieces.append(token)
        else:
            pieces.extend([""] * blanks)
            blanks = 0
            run.append(token)
    if blanks > _MAX_BLANKS:
        run = [""] * blanks
        blanks = 0
    if run:
        pieces.extend(_words(" ".join(run)))
    pieces.extend([""] * blanks)
    return pieces


def _fold(name: str, pieces: Sequence[str], sep: str) -> str:
    """``Name: a<sep>b...`` folded before a piece where the line would pass 78 columns."""
    line = f"{name}: {pieces[0] if pieces else ''}"
    lines: list[str] = []
    for piece in pieces[1:]:
        if piece and len(line) + len(sep) + len(piece) > MAX_LINE:
            lines.append(line + sep.rstrip(" "))
            line = " " + piece
        else:
            line = f"{line}{sep}{piece}"
    lines.append(line)
    return CRLF.join(lines) + CRLF


def date_header(now: float) -> str:
    """``Date:`` for the epoch time ``now``, RFC 5322 style, to the second."""
    return _date_header(int(now))


@functools.lru_cache(maxsize=4)
def _date_header(second: int) -> str:
    # Sends of the same second share one (formatting costs more than the rest of a header).
    return f"Date: {format_datetime(datetime.fromtimestamp(second, UTC))}{CRLF}"


def unstructured(name: str, value: str) -> str:
    """One header of free text (Subject, most ``h:`` headers), CRLF-terminated.

    Folded at spaces; a word too long for any line (or not ASCII) is written as RFC 2047
    encoded words, which a reader decodes back to the same text.
    """
    value = _BREAKS.sub(" ", value)
    if value.isascii() and "=?" not in value:
        size = len(name) + 2 + len(value)
        if size <= MAX_LINE:
            return f"{name}: {value}{CRLF}"
        # Readers drop the blanks that open a value; folded after them, one would stay.
        value = value.lstrip(" \t")
        if size <= HARD_LINE:  # no line can pass the limit, however it folds
            return _fold(name, value.split(" "), " ")
    return _fold(name, _phrase(value.lstrip(" \t"), _word_limit(name)), " ")


def _foldable(text: str) -> bool:
    """Whether a display name folds at its spaces into lines within ``HARD_LINE``."""
    if len(text) <= _LONG_ADDRESS:
        return True
    return " " * _MAX_BLANKS not in text and max(map(len, text.split(" "))) <= _NAME_WORD


def format_address(addr: Address) -> str:
    """An address as header text: the display name quoted or encoded as needed."""
    name = _BREAKS.sub(" ", addr.name)
    if not name:
        return addr.email
    if _plain(name):
        shown = name
        if _NEEDS_QUOTES.search(name):
            shown = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if _foldable(shown):
            return f"{shown} <{addr.email}>"
    return f"{' '.join(_words(name))} <{addr.email}>"


def address_header(name: str, addresses: Sequence[Address]) -> str:
    """An address list, folded between addresses (and inside long display names)."""
    pieces = [format_address(a) for a in addresses]
    if all(len(piece) <= _LONG_ADDRESS for piece in pieces):
        return _fold(name, pieces, ", ")
    return _fold(name, ", ".join(pieces).split(" "), " ")


def encode_header(name: str, value: str) -> str:
    """Any header: address lists formatted as addresses when they parse, the rest as text."""
    if name.lower() in ADDRESS_HEADERS:
        parsed = parse_addresses(value)
        if parsed:
            return address_header(name, parsed)
    return unstructured(name, value)


def shown_addresses(value: str) -> str:
    """An address header's value as events show it: the addresses ``encode_header`` writes
    (unencoded, as ``Address.formatted``) when it parses, else the text itself."""
    parsed = parse_addresses(value)
    if parsed:
        return ", ".join(a.formatted for a in parsed)
    return _BREAKS.sub(" ", value)


# A parameter line is a space, the parameter and its ";".
_PARAM_ROOM = MAX_LINE - 2


def param(key: str, value: str) -> str:
    """A MIME parameter: ``key="value"``, or RFC 2231 ``key*=utf-8''...`` when not ASCII.

    A parameter too long for one line is split into RFC 2231 continuations
    (``key*0=...;`` CRLF `` key*1=...``), one per line, never inside a character.
    """
    if value.isascii() and value.isprintable() and "=?" not in value:  # readers decode =?..?=
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        if len(key) + len(escaped) + 3 <= _PARAM_ROOM:
            return f'{key}="{escaped}"'
        units = [f"\\{ch}" if ch in '\\"' else ch for ch in value]
        return _continued(key, units, extended=False)
    encoded = quote(value, safe="")
    if len(key) + len(encoded) + 9 <= _PARAM_ROOM:
        return f"{key}*=utf-8''{encoded}"
    return _continued(key, [quote(ch, safe="") for ch in value], extended=True)


def _continued(key: str, units: Sequence[str], *, extended: bool) -> str:
    """RFC 2231 continuations of ``units`` (escaped characters), one segment per line."""
    segments: list[str] = []
    current = "utf-8''" if extended else ""
    for unit in units:
        head = f"{key}*{len(segments)}{'*' if extended else ''}="
        if current and len(head) + len(current) + len(unit) + 2 > _PARAM_ROOM:
            segments.append(current)
            current = ""
        current += unit
    segments.append(current)
    if extended:
        parts = [f"{key}*{i}*={text}" for i, text in enumerate(segments)]
    else:
        parts = [f'{key}*{i}="{text}"' for i, text in enumerate(segments)]
    return f";{CRLF} ".join(parts)


def decode(raw: str) -> str:
    """A header value as read from a message: unfolded, encoded words decoded."""
    return decode_words(_UNFOLD.sub("", raw).strip())


def variables_header(variables: Mapping[str, str]) -> str:
    """``X-Mailgun-Variables``: the ``v:`` values as JSON, folded at its spaces.

    Unfolding gives back the JSON; a string too long for a line goes into RFC 2047 encoded
    words, which a reader decodes to the same JSON. ``=`` is written ``\\u003d`` when the
    JSON holds ``=?``, so that no text of it reads as an encoded word.
    """
    text = json.dumps(variables)
    if "=?" in text:
        text = text.replace("=", "\\u003d")  # "=" only occurs inside JSON strings
    return unstructured("X-Mailgun-Variables", text)


def mailgun_headers(req: SendRequest) -> str:
    """``X-Mailgun-Tag`` (one per tag) and ``X-Mailgun-Variables`` lines."""
    lines = [unstructured("X-Mailgun-Tag", tag) for tag in req.tags]
    if req.variables:
        lines.append(variables_header(req.variables))
    return "".join(lines)


def given_message_id(req: SendRequest) -> str | None:
    """The bracketless ``h:Message-Id`` of the request (last one wins), if any."""
    for name, value in reversed(req.headers):
        if name.lower() == "message-id" and ids.strip_brackets(value):
            return ids.strip_brackets(value)
    return None
