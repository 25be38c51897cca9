"""Events API query filters: filter expressions as SQL conditions, and time bounds.

``condition(field, expression)`` parses a filter parameter (contract §3.2, §3.3) and compiles it
to a SQLAlchemy Core condition over ``tables.events``. Each field has a matching kind:

* exact (``event``, ``severity``, ``recipient``): the lower-cased term equals the column;
* ``message-id``: the lower-cased term, without surrounding ``<>``, equals the column;
* ``tags``: the term, cleaned as ``o:tag`` is (``core.tags``) and lower-cased, is one of
  the row's tags;
* contains (``from``, ``to``, ``subject``, ``attachment``, ``recipients``, ``list``): the
  lower-cased column contains the lower-cased term;
* numeric (``size``): a bare whole number is equality; ``>N <N >=N <=N`` compare. Only
  numeric fields have comparisons: elsewhere ``<3`` is a word like any other.

Every leaf is NULL-safe: a NULL column makes it FALSE (never NULL), so a positive term skips
rows without the value and ``NOT term`` keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, and_, false, func, not_, or_, true

from tidings.core.tags import clean_tag
from tidings.errors import BadRequest
from tidings.events.expr import And, Compare, Node, Not, Or, Term, filter_error, parse, whole_number
from tidings.store.tables import TAG_SEP, events

__all__ = ["FILTER_FIELDS", "condition", "parse_time"]

Kind = Literal["exact", "message-id", "tags", "contains", "numeric"]


@dataclass(frozen=True)
class _Field:
    column: str
    kind: Kind


_FIELDS: dict[str, _Field] = {
    "event": _Field("event", "exact"),
    "severity": _Field("severity", "exact"),
    "recipient": _Field("recipient", "exact"),
    "message-id": _Field("message_id", "message-id"),
    "tags": _Field("tags", "tags"),
    "from": _Field("from_hdr", "contains"),
    "to": _Field("to_hdr", "contains"),
    "subject": _Field("subject", "contains"),
    "attachment": _Field("attachments", "contains"),
    "recipients": _Field("recipients", "contains"),
    "list": _Field("list", "contains"),
    "size": _Field("size", "numeric"),
}

FILTER_FIELDS: tuple[str, ...] = tuple(_FIELDS)
"""The Events API query parameters that take a filter expression."""

LIKE_ESCAPE = "\\"
"""Escape character of every LIKE pattern built here."""

_INT4_MIN, _INT4_MAX = -(2**31), 2**31 - 1
"""Range of the ``size`` column (INTEGER); numbers outside it are never bound as parameters."""


def condition(field: str, expression: str) -> ColumnElement[bool]:
    """The SQL condition for filter parameter ``field`` (one of ``FILTER_FIELDS``).

    Raises ``BadRequest`` for a malformed expression; ``ValueError`` for an unknown field.
    """
    spec = _FIELDS.get(field)
    if spec is None:
        raise ValueError(f"not an Events API filter field: {field!r}")
    return _compile(field, spec, parse(field, expression, comparisons=spec.kind == "numeric"))


def _compile(field: str, spec: _Field, node: Node) -> ColumnElement[bool]:
    if isinstance(node, And):
        return and_(*(_compile(field, spec, operand) for operand in node.operands))
    if isinstance(node, Or):
        return or_(*(_compile(field, spec, operand) for operand in node.operands))
    if isinstance(node, Not):
        return not_(_compile(field, spec, node.operand))
    return _leaf(field, spec, node)


def _leaf(field: str, spec: _Field, node: Term | Compare) -> ColumnElement[bool]:
    column: Column[Any] = events.c[spec.column]
    predicate = _predicate(field, spec.kind, column, node)
    if column.nullable:
        return and_(column.is_not(None), predicate)
    return predicate


def _predicate(
    field: str, kind: Kind, column: Column[Any], node: Term | Compare
) -> ColumnElement[bool]:
    if kind == "numeric":
        return _numeric(field, column, node)
    assert isinstance(node, Term), "text fields are parsed without comparisons"
    if kind == "exact":
        return column == node.text.lower()
    if kind == "message-id":
        return column == _message_id(field, node.text).lower()
    if kind == "tags":
        return _has_tag(column, clean_tag(node.text).lower())
    pattern = f"%{escape_like(node.text.lower())}%"
    return func.lower(column).like(pattern, escape=LIKE_ESCAPE)


def _message_id(field: str, text: str) -> str:
    value = text.strip()
    if len(value) >= 2 and value[0] == "<" and value[-1] == ">":
        value = value[1:-1].strip()
    if not value:
        raise filter_error(field, "empty message id")
    return value


def _has_tag(column: Column[Any], tag: str) -> ColumnElement[bool]:
    """``tag`` (cleaned as a sent tag is, lower-cased) is one of the row's tags."""
    if not tag:  # nothing left after cleaning: no stored tag is empty
        return false()
    pattern = f"%{TAG_SEP}{escape_like(tag)}{TAG_SEP}%"
    return column.like(pattern, escape=LIKE_ESCAPE)


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern that uses ``ESCAPE LIKE_ESCAPE``."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return text


def _numeric(field: str, column: Column[Any], node: Term | Compare) -> ColumnElement[bool]:
    if isinstance(node, Compare):
        return _compare(column, node.op, node.number)
    number = whole_number(node.text)
    if number is None:
        raise filter_error(field, f"'{node.text}' is not a whole number")
    return _compare(column, "=", number)


def _compare(column: Column[Any], op: str, number: int) -> ColumnElement[bool]:
    """``column <op> number``; a number beyond INTEGER range folds to a constant."""
    if number < _INT4_MIN or number > _INT4_MAX:
        holds = op != "=" and (op in ("<", "<=")) == (number > _INT4_MAX)
        return true() if holds else false()
    match op:
        case ">":
            return column > number
        case ">=":
            return column >= number
        case "<":
            return column < number
        case "<=":
            return column <= number
        case _:
            return column == number


# --- begin / end -----------------------------------------------------------------------

_EPOCH_RE = re.compile(r"[0-9]{1,12}(\.[0-9]*)?|\.[0-9]+")
_MAX_EPOCH = 253402300799.0
"""9999-12-31T23:59:59Z, the last second a ``datetime`` can hold."""


def parse_time(value: str, param: str) -> float:
    """Epoch seconds of a ``begin``/``end`` value: RFC 2822 date or epoch seconds.

    ``param`` is the query parameter's name, for the error message. A date without a zone
    (or with ``-0000``) is taken as UTC.
    """
    text = value.strip()
    seconds = float(text) if _EPOCH_RE.fullmatch(text) else _rfc2822(text, param)
    if seconds > _MAX_EPOCH:
        raise _time_error(param, text, "out of range")
    return seconds


def _rfc2822(text: str, param: str) -> float:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError) as exc:
        raise _time_error(param, text, "not an RFC 2822 date or epoch seconds") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (ValueError, OverflowError) as exc:
        raise _time_error(param, text, "out of range") from exc


def _time_error(param: str, value: str, problem: str) -> BadRequest:
    return BadRequest(f"'{param}' parameter is invalid: {problem}", value=value)
