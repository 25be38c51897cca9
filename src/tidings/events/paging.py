"""Events API paging tokens: opaque, URL-safe, stable cursors.

A token holds the page's display order, its range (start inclusive, stop exclusive, in epoch
microseconds; ``None`` for open ends), a cursor (the (timestamp, id) of the item a page
starts after), whether it reads backwards from the cursor (``previous``/``last``), the limit
and the filters. Identical requests give identical tokens, and a ``next`` past the newest
event of an open ascending range keeps returning whatever arrives later.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace

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
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def encode(self) -> str:
        body = {
            "a": self.ascending,
            "s": self.start,
            "e": self.stop,
            "l": self.limit,
            "f": [list(f) for f in self.filters],
            "c": list(self.cursor) if self.cursor else None,
            "b": self.backward,
        }
        return base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, token: str) -> Page:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body = orjson.loads(raw)
            cursor = body["c"]
            page = cls(
                ascending=bool(body["a"]),
                start=_opt_int(body["s"]),
                stop=_opt_int(body["e"]),
                limit=int(body["l"]),
                filters=tuple((str(k), str(v)) for k, v in body["f"]),
                cursor=(int(cursor[0]), str(cursor[1])) if cursor else None,
                backward=bool(body["b"]),
            )
        except (
            ValueError,
            KeyError,
            TypeError,
            IndexError,
            binascii.Error,
            orjson.JSONDecodeError,
        ):
            raise BadRequest(f"Invalid page token: {token[:64]!r}") from None
        if not 1 <= page.limit <= 300:
            raise BadRequest("Invalid page token: bad limit")
        for name, expression in page.filters:
            if "\x00" in expression:
                raise BadRequest("Invalid page token: NUL in a filter")
            if name not in FILTER_FIELDS:
                raise BadRequest(f"Invalid page token: unknown filter {name[:32]!r}")
            condition(name, expression)  # a bad expression is a 400 here too
        return page

    def following(self, last: tuple[int, str] | None) -> Page:
        """The ``next`` page: forward from the last item shown (or from here when empty)."""
        if last is None:
            if self.backward:
                return replace(self, backward=False)
            return self
        return replace(self, cursor=last, backward=False)

    def preceding(self, first: tuple[int, str] | None) -> Page:
        """The ``previous`` page: backward from the first item shown."""
        if first is None:
            return replace(self, backward=True)
        return replace(self, cursor=first, backward=True)

    def first(self) -> Page:
        return replace(self, cursor=None, backward=False)

    def last(self) -> Page:
        return replace(self, cursor=None, backward=True)


def _opt_int(v: object) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("not an int")
    return v
