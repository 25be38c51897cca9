"""The one serializer: event timestamps are whole microseconds, the same as the paging key."""

from __future__ import annotations

import random
import re
from typing import Any

import orjson
import pytest

from tidings.events import render


def _msg() -> dict[str, Any]:
    return {
        "headers": {"to": "a@example.org", "message-id": "m@example.test", "subject": "s"},
        "attachments": [],
        "size": 10,
        "tags": [],
        "storage": {"url": "u", "key": "k"},
        "envelope-sender": "s@example.test",
        "recipients": ["a@example.org"],
    }


def _stamps() -> list[float]:
    rng = random.Random(1795561869)
    return [
        1795561869.6733549,
        1795561869.0000004,
        1795561869.9999996,
        1529692198.641821,
        0.0000015,
        *(rng.uniform(1.5e9, 4.1e9) for _ in range(200)),
    ]


@pytest.mark.parametrize("ts", _stamps())
def test_timestamp_is_the_ordering_key_in_seconds(ts: float) -> None:
    payload = render.accepted(ts=ts, msg=_msg(), dlv={}, recipient="a@example.org")
    row = render.row(1, payload)
    assert row["ts_us"] == round(ts * 1_000_000)
    assert payload["timestamp"] == row["ts_us"] / 1_000_000
    assert isinstance(payload["timestamp"], float)
    shown = re.search(rb'"timestamp":([0-9.e+-]+)', orjson.dumps(payload))
    assert shown is not None
    fraction = shown.group(1).decode().partition(".")[2]
    assert len(fraction) <= 6, shown.group(1)
    assert round(float(shown.group(1)) * 1_000_000) == row["ts_us"]


def test_audit_example() -> None:
    payload = render.delivered(
        ts=1795561869.6733549,
        msg=_msg(),
        dlv={},
        recipient="a@example.org",
        status={"code": 250},
        sending_ip="127.0.0.1",
    )
    assert b'"timestamp":1795561869.673355,' in orjson.dumps(payload)
    assert render.row(1, payload)["ts_us"] == 1795561869673355


def test_row_lower_cases_the_message_id_the_payload_keeps_it() -> None:
    msg = _msg()
    msg["headers"]["message-id"] = "ABC.Def@Example.TEST"
    payload = render.accepted(ts=1.0, msg=msg, dlv={}, recipient="A@Example.org")
    row = render.row(1, payload)
    assert row["message_id"] == "abc.def@example.test"
    assert row["recipient"] == "a@example.org"
    assert payload["message"]["headers"]["message-id"] == "ABC.Def@Example.TEST"
