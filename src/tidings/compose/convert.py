"""Converters and combiners for the send-form table in ``compose.options``.

A converter takes ``(field name, raw value)`` and returns the parsed value or raises
``BadRequest`` with Mailgun's wording; a combiner folds a repeated field into what was
collected so far. Whole-request rules (limits, required fields) live in ``options``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from tidings.compose import mediatype
from tidings.compose.addresses import parse_addresses
from tidings.compose.headers import MAX_NAME
from tidings.core.model import Address, Attachment, Upload
from tidings.core.tags import clean_tag
from tidings.errors import BadRequest

__all__ = [
    "MAX_TAG_LENGTH",
    "Combiner",
    "Converter",
    "Value",
    "addresses",
    "append",
    "attachment",
    "boolean",
    "deliverytime",
    "extend",
    "flag",
    "header",
    "last",
    "merge",
    "message",
    "option",
    "recipient_variables",
    "tag",
    "text",
    "variable",
]

Value = str | Upload
Converter = Callable[[str, Value], Any]
Combiner = Callable[[Any, Any], Any]

MAX_TAG_LENGTH = 128
#: An inline file's name is its Content-ID: ``Content-ID: <name>`` fits one line.
MAX_CONTENT_ID = 998 - len("Content-ID: <>")

_TRUE = frozenset({"yes", "true", "1"})
_FALSE = frozenset({"no", "false", "0"})
# RFC 5322 field-name: printable ASCII except the colon.
_HEADER_NAME = re.compile(r"[!-9;-~]+")


# -- combiners ---------------------------------------------------------------------------


def last(_old: Any, new: Any) -> Any:
    return new


def extend(old: tuple[Any, ...] | None, new: tuple[Any, ...]) -> tuple[Any, ...]:
    return (old or ()) + new


def append(old: tuple[Any, ...] | None, new: Any) -> tuple[Any, ...]:
    if new is None:
        return old or ()
    return (*(old or ()), new)


def merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    return {**(old or {}), **new}


# -- converters --------------------------------------------------------------------------


def text(_name: str, value: Value) -> str:
    """A plain string field; a file upload in its place is read as UTF-8 text."""
    if isinstance(value, Upload):
        return value.data.decode("utf-8", errors="replace")
    return value


def addresses(name: str, value: Value) -> tuple[Address, ...]:
    parsed = parse_addresses(text(name, value))
    if parsed is None:
        label = "'from'" if name == "from" else name
        raise BadRequest(
            f"{label} parameter is not a valid address. please check documentation.",
            field=name,
        )
    return parsed


def boolean(name: str, value: Value) -> bool:
    word = text(name, value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise BadRequest(f"{name} parameter must be yes or no, not {text(name, value)!r}.")


def flag(*, htmlonly: bool) -> Converter:
    """A tracking setting, normalised to ``yes``/``no`` (or ``htmlonly`` where allowed)."""

    def convert(name: str, value: Value) -> str:
        word = text(name, value).strip().lower()
        if htmlonly and word == "htmlonly":
            return word
        if word in _TRUE:
            return "yes"
        if word in _FALSE:
            return "no"
        allowed = "yes, no or htmlonly" if htmlonly else "yes or no"
        raise BadRequest(f"{name} parameter must be {allowed}, not {text(name, value)!r}.")

    return convert


def tag(name: str, value: Value) -> str | None:
    """One ``o:tag``: non-ASCII and control characters stripped; empty tags are dropped."""
    cleaned = clean_tag(text(name, value))
    if len(cleaned) > MAX_TAG_LENGTH:
        raise BadRequest(
            f"o:tag values are limited to {MAX_TAG_LENGTH} characters; "
            f"{cleaned[:32]!r}... has {len(cleaned)}."
        )
    return cleaned or None


def deliverytime(name: str, value: Value) -> float:
    """RFC 2822 date (``Wed, 03 Dec 2025 00:00:00 GMT``) or Unix epoch seconds."""
    raw = text(name, value).strip()
    try:
        epoch = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is None:
            raise BadRequest(
                f"{name} parameter is not a valid date: {raw!r}. Use RFC 2822 "
                "(Thu, 13 Oct 2011 18:02:00 +0000) or Unix epoch seconds."
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    if not math.isfinite(epoch):
        raise BadRequest(f"{name} parameter is not a valid date: {raw!r}.")
    return epoch


def header(name: str, value: Value) -> tuple[str, str]:
    """An ``h:Name`` field: a legal header name and a single-line value."""
    field = name[2:]
    if not _HEADER_NAME.fullmatch(field):
        raise BadRequest(f"{name!r} is not a valid header name.")
    if len(field) > MAX_NAME:
        raise BadRequest(
            f"{name[:40]!r}... is not a valid header name: over {MAX_NAME} characters."
        )
    body = text(name, value).strip()
    if "\r" in body or "\n" in body or "\0" in body:
        raise BadRequest(f"{name} parameter must not contain line breaks.")
    return field, body


def variable(name: str, value: Value) -> dict[str, str]:
    """A ``v:name`` field; the value stays the string given (JSON objects too)."""
    return {name[2:]: text(name, value)} if len(name) > 2 else {}


def option(name: str, value: Value) -> dict[str, str]:
    return {name: text(name, value)}


def recipient_variables(name: str, value: Value) -> dict[str, dict[str, Any]] | None:
    raw = text(name, value)
    if not raw.strip():
        return None
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested a thousand levels deep
        raise BadRequest(f"{name} parameter is not a valid JSON") from None
    if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
        raise BadRequest(
            f"{name} parameter must be a JSON object mapping each recipient address "
            "to an object of variables"
        )
    _check_values(name, parsed)
    return parsed


#: How deep recipient-variables may nest (Mailgun's are flat: address -> {key: value}).
MAX_VARIABLES_DEPTH = 32


def _check_values(name: str, parsed: dict[str, Any]) -> None:
    """Refuse NUL anywhere in the variables (PostgreSQL text cannot hold it, and the raw form
    field check in ``api.forms`` does not see a JSON escape) and nesting deeper than
    :data:`MAX_VARIABLES_DEPTH` (rendering a value is recursive). Iterative: a hostile value
    must not exhaust the stack here either."""
    stack: list[tuple[Any, int]] = [(parsed, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_VARIABLES_DEPTH:
            raise BadRequest(f"{name} parameter is nested too deeply")
        if isinstance(value, str):
            if "\x00" in value:
                raise BadRequest(f"{name} parameter must not contain NUL characters")
        elif isinstance(value, dict):
            stack.extend((k, depth + 1) for k in value)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _filename(raw: str | None, default: str) -> str:
    # Some clients send a path; keep the last component, and nothing that breaks a header.
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip()
    return name or default


def attachment(*, inline: bool) -> Converter:
    default = "inline" if inline else "attachment"

    def convert(name: str, value: Value) -> Attachment:
        if isinstance(value, Upload):
            filename = _filename(value.filename, default)
            ctype, data = mediatype.for_file(value.content_type, filename, value.data)
        else:
            # A plain string where a file was expected: its text is the content.
            filename, data, ctype = default, value.encode("utf-8"), "text/plain"
        if inline and len(filename.encode("utf-8", "surrogatepass")) > MAX_CONTENT_ID:
            raise BadRequest(
                f"inline file name {filename[:40]!r}... is too long: it becomes the part's "
                f"Content-ID, which holds at most {MAX_CONTENT_ID} octets."
            )
        return Attachment(filename=filename, content_type=ctype, data=data, inline=inline)

    return convert


def message(_name: str, value: Value) -> bytes:
    """The ``message`` of ``messages.mime``: a file, or a plain string field."""
    return value.data if isinstance(value, Upload) else value.encode("utf-8")
