"""Reading MIME at the byte level: header blocks, Content-Type parameters, multipart spans.

``messages.mime`` and ``personalize`` change a few headers or text parts of a message and
must leave every other byte alone; ``email.parser`` would re-serialise everything, and
costs ~2 ms for a 20 KB message. These helpers find the pieces without copying them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tidings.compose.headers import decode
from tidings.errors import BadRequest

__all__ = ["Entity", "content_type", "multipart_spans", "split"]

_EOL = re.compile(rb"\r?\n")
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


@dataclass(slots=True)
class Entity:
    """A message or body part: its header fields and its body, both as bytes."""

    #: (name, the field's raw lines including their CRLFs), in order.
    headers: list[tuple[str, bytes]]
    body: bytes

    def get(self, name: str) -> str | None:
        """The first ``name`` field, unfolded and decoded; ``None`` when absent."""
        for key, line in self.headers:
            if key.lower() == name:
                return value_of(line)
        return None

    def head(self) -> bytes:
        return b"".join(line for _, line in self.headers)


def value_of(line: bytes) -> str:
    return decode(line.split(b":", 1)[1].decode("utf-8", errors="replace"))


def invalid(why: str) -> BadRequest:
    return BadRequest(f"message is not a valid MIME message: {why}")


def split(data: bytes, *, normalize: bool = True) -> Entity:
    """Split ``data`` into header fields and body; ``BadRequest`` when the head is not RFC 5322.

    ``normalize`` turns bare LF line ends into CRLF first (uploads); our own messages
    already use CRLF.
    """
    if normalize:
        data = _EOL.sub(b"\r\n", data)
        if data.startswith(b"From "):  # an mbox separator line, as some mail programs save
            data = data.split(b"\r\n", 1)[1] if b"\r\n" in data else b""
    end = data.find(b"\r\n\r\n")
    head, body = (data[: end + 2], data[end + 4 :]) if end >= 0 else (data, b"")
    if head.startswith(b"\r\n"):
        head, body = b"", data[2:]
    if b"\x00" in head:
        # RFC 5322 allows no NUL in a header, and the store could not index such a header.
        raise invalid("a header contains a NUL character")
    headers: list[tuple[str, bytes]] = []
    for number, line in enumerate(head.split(b"\r\n"), start=1):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if not headers:
                raise invalid("it starts with a folded line")
            name, raw = headers[-1]
            headers[-1] = (name, raw + line + b"\r\n")
            continue
        match = _FIELD.match(line)
        if match is None:
            raise invalid(f"line {number} is not a header field: {line[:40]!r}")
        headers.append((match.group(1).decode("ascii"), line + b"\r\n"))
    return Entity(headers, body)


def content_type(value: str | None) -> tuple[str, dict[str, str]]:
    """``("text/html", {"charset": "utf-8"})``; a missing header means ``text/plain``."""
    if not value:
        return "text/plain", {}
    kind = value.split(";", 1)[0].strip().lower() or "text/plain"
    params: dict[str, str] = {}
    for key, raw in _PARAM.findall(value):
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(key.lower(), raw)
    return kind, params


def _line_end(body: bytes, at: int) -> int | None:
    """Where the line after a boundary ends (past its line break); ``None``: not a delimiter."""
    while body[at : at + 1] in (b" ", b"\t"):  # transport padding
        at += 1
    if body[at : at + 2] == b"\r\n":
        return at + 2
    if body[at : at + 1] == b"\n":
        return at + 1
    return at if at >= len(body) else None


def multipart_spans(body: bytes, boundary: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each body part between the delimiter lines of ``boundary``."""
    marker = b"--" + boundary.encode("utf-8")
    start: int | None = None
    at = body.find(marker)
    while at >= 0:
        after = at + len(marker)
        close = body[after : after + 2] == b"--"
        end_of_line = _line_end(body, after + 2 if close else after)
        if end_of_line is not None and (at == 0 or body[at - 1 : at] == b"\n"):
            if start is not None:
                # The line break before a delimiter belongs to the delimiter (RFC 2046 5.1.1).
                end = at - 2 if body[at - 2 : at] == b"\r\n" else at - 1
                yield start, max(start, end)
            if close:
                return
            start = end_of_line
        at = body.find(marker, after)
