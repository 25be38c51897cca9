"""MIME body parts: text encoded by content, files in base64, multiparts, serialisation.

Text is ``7bit`` when it is ASCII with lines under 998 octets, otherwise quoted-printable
or base64, whichever suits the text (both done in C by ``binascii``); always UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from tidings.compose.headers import CRLF, param
from tidings.compose.mediatype import for_file, is_message
from tidings.core.model import Attachment

__all__ = ["Part", "encode_text", "file_part", "multipart", "serialize", "text_part"]

_MAX_LINE = 998  # octets, CRLF excluded (RFC 5322 §2.1.1)
_B64_LINE = 76
_QP_LINE = 76
# ASCII that quoted-printable may leave as it is, "=" aside (RFC 2045 §6.7): printable
# characters, tab and line ends. Anything else (controls) sends the text the slow way.
_QP_LITERAL = bytes(range(32, 127)) + b"\t\n"
# Up to 75 octets of an encoded line, backed off so that it ends neither on the "=" of an
# escape nor on its first hex digit: the regex engine does the cutting in C.
_QP_PIECE = re.compile(rb".{1,75}(?<!=)(?<!=.)", re.S)
_QP_BLANK = {32: b"=20", 9: b"=09"}


@dataclass(slots=True)
class Part:
    """One MIME entity: its header lines (CRLF-terminated) and a body or children."""

    headers: str
    body: bytes = b""
    children: list[Part] = field(default_factory=list)
    boundary: str = ""


def _base64(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    lines = [encoded[i : i + _B64_LINE] for i in range(0, len(encoded), _B64_LINE)]
    return b"\r\n".join(lines) + b"\r\n"


def _qp_line(line: bytes) -> bytes:
    """One line (``=`` already escaped) with a trailing blank escaped (RFC 2045 rule 3) and
    soft line breaks keeping every piece within 76 octets."""
    if line and line[-1] in _QP_BLANK:
        line = line[:-1] + _QP_BLANK[line[-1]]
    if len(line) <= _QP_LINE:
        return line
    return b"=\r\n".join(_QP_PIECE.findall(line))


def _qp_ascii(data: bytes) -> bytes:
    """Quoted-printable for ASCII text without control characters (``\n`` line ends).

    Equivalent to ``binascii.b2a_qp`` for such text and faster: minified HTML arrives as one
    20 KB line, and only ``=`` and trailing blanks need escaping; the rest is done in C.
    """
    escaped = data.replace(b"=", b"=3D")
    return b"\r\n".join([_qp_line(line) for line in escaped.split(b"\n")])


def encode_text(text: str) -> tuple[str, bytes]:
    """``(Content-Transfer-Encoding, encoded UTF-8 body with CRLF line ends)`` for ``text``."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        # (A regex search for 999 non-newlines would be quadratic on lines just under it.)
        if len(text) <= _MAX_LINE or max(map(len, text.split("\n"))) <= _MAX_LINE:
            return "7bit", text.encode("ascii").replace(b"\n", b"\r\n")
        # bytes.translate deletes the literal octets in C: whatever is left needs escaping.
        data = text.encode("ascii")
        if not data.translate(None, _QP_LITERAL):
            return "quoted-printable", _qp_ascii(data)
    data = text.encode("utf-8")
    # Each non-ASCII character costs 6-9 octets in quoted-printable and under 3 in base64;
    # past roughly one in twelve characters base64 is the shorter (Cyrillic, CJK, ...).
    if (len(data) - len(text)) * 12 > len(text):
        return "base64", _base64(data)
    return "quoted-printable", binascii.b2a_qp(data).replace(b"\n", b"\r\n")


def text_part(subtype: str, text: str) -> Part:
    cte, body = encode_text(text)
    headers = (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}Content-Transfer-Encoding: {cte}{CRLF}'
    )
    return Part(headers, body)


def file_part(att: Attachment) -> Part:
    """An attachment or inline file; inline ones get ``Content-ID: <filename>``.

    Files are base64, except ``message/*`` ones, which may only be 7bit (``mediatype``
    has made sure they can be: ASCII, CRLF, lines within 998 octets).
    """
    disposition = "inline" if att.inline else "attachment"
    ctype, data = att.content_type, att.data
    if ctype[:10].lower() == "multipart/" or is_message(ctype):
        ctype, data = for_file(ctype, att.filename, data)  # as convert does: never a broken part
    seven_bit = is_message(ctype)
    headers = (
        f"Content-Type: {ctype};{CRLF} {param('name', att.filename)}{CRLF}"
        f"Content-Disposition: {disposition};{CRLF} {param('filename', att.filename)}{CRLF}"
        f"Content-Transfer-Encoding: {'7bit' if seven_bit else 'base64'}{CRLF}"
    )
    if att.inline:
        headers += f"Content-ID: <{att.filename}>{CRLF}"
    return Part(headers, data if seven_bit else _base64(data))


def multipart(subtype: str, children: Sequence[Part]) -> Part:
    boundary = f"=_{secrets.token_hex(12)}"
    headers = f'Content-Type: multipart/{subtype};{CRLF} boundary="{boundary}"{CRLF}'
    return Part(headers, children=list(children), boundary=boundary)


def _write(part: Part, out: list[bytes]) -> None:
    out.append(part.headers.encode("utf-8"))
    out.append(b"\r\n")
    if not part.boundary:
        out.append(part.body)
        return
    delimiter = f"--{part.boundary}".encode("ascii")
    for i, child in enumerate(part.children):
        out.append(delimiter + b"\r\n" if i == 0 else b"\r\n" + delimiter + b"\r\n")
        _write(child, out)
    out.append(b"\r\n" + delimiter + b"--\r\n")


def serialize(root: Part, headers: str) -> bytes:
    """The whole message: top-level ``headers`` then ``root``'s own headers and body."""
    out = [headers.encode("utf-8")]
    _write(root, out)
    data = b"".join(out)
    return data if data.endswith(b"\r\n") else data + b"\r\n"
