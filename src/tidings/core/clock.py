"""An injectable clock, so schedules and timestamps can be tested without sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

_now: Callable[[], float] = time.time


def now() -> float:
    """Current time as epoch seconds (float, microsecond resolution)."""
    return _now()


def now_us() -> int:
    """Current time as integer epoch microseconds, the unit events are ordered by."""
    return int(_now() * 1_000_000)


def utcnow() -> datetime:
    return datetime.fromtimestamp(_now(), UTC)


def set_clock(fn: Callable[[], float] | None) -> None:
    """Replace the clock (tests); ``None`` restores the real one."""
    global _now
    _now = fn if fn is not None else time.time
