"""Reading form bodies with repeated keys kept, as every Mailgun client relies on.

Urlencoded bodies are parsed with the standard library (fast for the 20 KB HTML of a typical
send); multipart goes through Starlette with limits raised above Mailgun's own (a 1,000
recipient batch has more than Starlette's default 1,000 fields), and Mailgun's limits are then
enforced with Mailgun's errors.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from tidings.compose.limits import human_size
from tidings.core.model import Upload
from tidings.errors import BadRequest, TooLarge

MAX_FIELDS = 20_000
_ENVELOPE = 1024 * 1024
#: How Starlette's MultiPartParser words a text field over ``max_part_size``.
_PART_TOO_LARGE = "Part exceeded maximum size"
_MAX_INT64 = 2**63 - 1
_AS_QP = bytes.maketrans(b"+%", b" =")


def _unquote_plus(raw: bytes) -> str:
    """``application/x-www-form-urlencoded`` decoding of one name or value.

    A 20 KB HTML body carries thousands of ``%XX`` escapes, which the standard library decodes
    one by one in Python. Inside a form value ``=`` is always escaped, so the same text with
    ``%`` turned into ``=`` (and ``+`` into a space, in the same pass) is quoted-printable,
    which ``binascii`` decodes in C (5x faster). Anything that is not plain (a raw ``=``, line
    breaks, malformed escapes) takes the slow path.
    """
    if b"%" not in raw:
        return raw.replace(b"+", b" ").decode("utf-8", "replace")
    if b"=" not in raw and b"\r" not in raw and b"\n" not in raw:
        fast = binascii.a2b_qp(raw.translate(_AS_QP))
        # Each well-formed escape shrinks by exactly two octets; anything else (a stray "%")
        # shrinks less, so the length tells whether the fast decoding was exact.
        if len(fast) == len(raw) - 2 * raw.count(b"%"):
            return fast.decode("utf-8", "replace")
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", "replace")


def parse_urlencoded(body: bytes) -> Fields:
    """The fields of an urlencoded body, in order, repeats kept (blank values too)."""
    pairs = [p for p in body.split(b"&") if p]
    if len(pairs) > MAX_FIELDS:
        raise BadRequest(f"Too many form fields: the limit is {MAX_FIELDS}")
    out: Fields = []
    names = _NAMES
    for pair in pairs:
        raw, _, value = pair.partition(b"=")
        name = names.get(raw)
        if name is None:
            name = _unquote_plus(raw)
            if len(names) < _NAMES_KEPT and len(raw) <= 64:
                names[raw] = name
        out.append((name, _unquote_plus(value)))
    return out


# Field names repeat from one send to the next (``o%3Atag``, ``h%3AReply-To``...).
_NAMES: dict[bytes, str] = {}
_NAMES_KEPT = 512


Fields = list[tuple[str, str | Upload]]


def parse_count(raw: str) -> int | None:
    """A non-negative integer parameter (``limit``, ``skip``), or ``None``: ASCII digits only
    (``str.isdigit`` also takes ``²``, which ``int`` refuses) and at most what a 64-bit column
    holds."""
    if not raw.isascii() or not raw.isdigit():
        return None
    digits = raw.lstrip("0") or "0"
    if len(digits) > 19 or int(digits) > _MAX_INT64:
        return None
    return int(digits)


def refuse_nul(pairs: Sequence[tuple[str, object]]) -> None:
    """NUL is never meaningful in a text field, and PostgreSQL cannot store it in text."""
    for name, value in pairs:
        if isinstance(value, Upload):  # file contents may hold anything; their names may not
            value = f"{value.filename or ''}{value.content_type or ''}"
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise BadRequest(
                f"'{name.replace(chr(0), '')}' parameter must not contain NUL characters"
            )


async def read_form(request: Request, *, max_bytes: int) -> Fields:
    """The body's fields in order, repeats kept; files become :class:`Upload`.
    Text fields holding NUL characters are refused."""
    fields = await _read_form(request, max_bytes=max_bytes)
    refuse_nul(fields)
    return fields


def _too_large(max_bytes: int) -> TooLarge:
    return TooLarge(f"Request body is larger than the {human_size(max_bytes)} limit")


async def _read_form(request: Request, *, max_bytes: int) -> Fields:
    # A body may be this much larger than the content limit (field names, part headers,
    # %-escapes); the content itself is measured by the caller, for both encodings alike.
    body_limit = max_bytes + _ENVELOPE
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > body_limit:
        raise _too_large(max_bytes)
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded" or not ctype:
        body = await request.body()
        if len(body) > body_limit:
            raise _too_large(max_bytes)
        return parse_urlencoded(body)
    if ctype == "multipart/form-data":
        try:
            # A text field may be as large as an urlencoded body, so that both encodings
            # get the same answer; one larger (a body sent without Content-Length) is a 413.
            form = await request.form(
                max_files=MAX_FIELDS, max_fields=MAX_FIELDS, max_part_size=body_limit
            )
        except MultiPartException as exc:
            if exc.message.startswith(_PART_TOO_LARGE):
                raise _too_large(max_bytes) from None
            raise BadRequest(f"Malformed multipart body: {exc.message}") from None
        out: Fields = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                out.append(
                    (
                        name,
                        Upload(filename=value.filename, content_type=value.content_type, data=data),
                    )
                )
            else:
                out.append((name, value))
        await form.close()
        return out
    raise BadRequest(
        f"Unsupported Content-Type {ctype!r}: use multipart/form-data or "
        "application/x-www-form-urlencoded"
    )
