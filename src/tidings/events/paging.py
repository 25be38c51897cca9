"""Events API paging tokens: opaque, URL-safe, stable cursors.

A token holds the page's display order, its range (start inclusive, stop exclusive, in epoch
microseconds; ``None`` for open ends), a cursor (the (timestamp, id) of an event), whether it
reads backwards from the cursor (``previous``/``last``), whether the cursor's own event is part
of the read (``inclusive``), the limit and the filters.

A cursor marks a place between two events. ``next`` of a page reads on from just after its
last event and ``previous`` back from just before its first, so neither includes the cursor's
event. An empty page has no events to step past: its ``next`` and ``previous`` read on and
back from the place it read from, the one that reads the other way taking the cursor's event
in (``inclusive``). So following ``next`` and ``previous`` in any order never skips or repeats
an event; identical requests give identical tokens; and ``next`` of an empty page at the end
of an open ascending range is the same token, which returns whatever arrived since.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, replace

import orjson

from tidings.errors import BadRequest
from tidings.events.filters import FILTER_FIELDS, condition


@dataclass(frozen=True)
class Page:
    ascending: bool
    start: int | None
    stop: int | None
    limit: int
    filters: tuple[tuple[str, str], ...] = ()
    cursor: tuple[int, str] | None = None
    backward: bool = False
    inclusive: bool = False

    def encode(self) -> str:
        body: dict[str, object] = {
            "a": self.ascending,
            "s": self.start,
            "e": self.stop,
            "l": self.limit,
            "f": [list(f) for f in self.filters],
            "c": list(self.cursor) if self.cursor else None,
            "b": self.backward,
        }
        if self.inclusive:  # written only when set: tokens made before it existed stay valid
            body["i"] = True
        return base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, token: str) -> Page:
        """The page ``token`` stands for; anything this server would not have made is a 400."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body = orjson.loads(raw)
        except (ValueError, binascii.Error, orjson.JSONDecodeError):
            raise BadRequest(f"Invalid page token: {token[:64]!r}") from None
        try:
            page = _page(body)
        except _Invalid as exc:
            raise BadRequest(f"Invalid page token: {exc}") from None
        for name, expression in page.filters:
            condition(name, expression)  # a bad expression is a 400 here too
        return page

    def following(self, last: tuple[int, str] | None) -> Page:
        """The ``next`` page: on from just after ``last``, the last event shown (``None`` when
        the page was empty: on from where this page read, so a trailing page re-polls)."""
        if last is not None:
            return replace(self, cursor=last, backward=False, inclusive=False)
        return self._turned() if self.backward else self

    def preceding(self, first: tuple[int, str] | None) -> Page:
        """The ``previous`` page: back from just before ``first``, the first event shown
        (``None`` when the page was empty: back from where this page read)."""
        if first is not None:
            return replace(self, cursor=first, backward=True, inclusive=False)
        return self if self.backward else self._turned()

    def _turned(self) -> Page:
        """The other direction from the same place. Reading on from just after the cursor's
        event excludes it, so reading back from there includes it, and the other way round.
        Without a cursor a page is empty only when its whole range is: first and last swap."""
        if self.cursor is None:
            return replace(self, backward=not self.backward)
        return replace(self, backward=not self.backward, inclusive=not self.inclusive)

    def first(self) -> Page:
        return replace(self, cursor=None, backward=False, inclusive=False)

    def last(self) -> Page:
        return replace(self, cursor=None, backward=True, inclusive=False)


class _Invalid(ValueError):
    """A token field that is not what ``encode`` writes (its message says which)."""


_KEYS = frozenset({"a", "s", "e", "l", "f", "c", "b"})
_OPTIONAL_KEYS = frozenset({"i"})
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,24}")
"""A cursor names an event by its id: base64url, at most the 24 characters of ``events.id``."""


def _page(body: object) -> Page:
    if not isinstance(body, dict) or not _KEYS <= set(body) <= _KEYS | _OPTIONAL_KEYS:
        raise _Invalid("not a page token")
    limit = _int(body["l"], "limit")
    if not 1 <= limit <= 300:
        raise _Invalid("bad limit")
    return Page(
        ascending=_bool(body["a"], "direction"),
        start=None if body["s"] is None else _int(body["s"], "range"),
        stop=None if body["e"] is None else _int(body["e"], "range"),
        limit=limit,
        filters=_filters(body["f"]),
        cursor=None if body["c"] is None else parse_cursor(body["c"]),
        backward=_bool(body["b"], "direction"),
        inclusive=_bool(body.get("i", False), "cursor"),
    )


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"bad {what}")
    return value


def _int(value: object, what: str) -> int:
    """A JSON integer that fits a BIGINT (floats, booleans and larger numbers are refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"bad {what}")
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise _Invalid(f"{what} out of range")
    return value


def parse_cursor(value: object) -> tuple[int, str]:
    """A decoded cursor ``[ts_us, id]`` (events' and captured messages' alike); ``ValueError``
    for anything ``encode`` would not have written."""
    if not isinstance(value, list) or len(value) != 2:
        raise _Invalid("bad cursor")
    ts_us, event_id = value
    if not isinstance(event_id, str) or not _EVENT_ID.fullmatch(event_id):
        raise _Invalid("bad cursor")
    return _int(ts_us, "cursor"), event_id


def _filters(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise _Invalid("bad filters")
    out: list[tuple[str, str]] = []
    for item in value:
        if not isinstance(item, list) or len(item) != 2:
            raise _Invalid("bad filters")
        name, expression = item
        if not isinstance(name, str) or not isinstance(expression, str):
            raise _Invalid("bad filters")
        if name not in FILTER_FIELDS:
            raise _Invalid(f"unknown filter {name[:32]!r}")
        if "\x00" in expression:
            raise _Invalid("NUL in a filter")
        out.append((name, expression))
    return tuple(out)
