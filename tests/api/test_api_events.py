"""The Events API: ranges, direction, filters, paging with stable cursors, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import BASE_URL, Account
from tests.support.polling import events_for
from tidings.core import clock
from tidings.events import render
from tidings.events.filters import FILTER_FIELDS
from tidings.runtime import Runtime


def _payload(i: int, event: str, ts: float, **over: Any) -> dict[str, Any]:
    msg = {
        "headers": {
            "to": f"user{i}@example.org",
            "message-id": f"m{i}@example.test",
            "from": "Sender <sender@example.test>",
            "subject": f"Subject {i}",
        },
        "attachments": [],
        "size": 1000 + i,
        "tags": over.pop("tags", ["bulk-email"]),
        "user-variables": {},
        "storage": {"url": "u", "key": "k"},
        "envelope-sender": "sender@example.test",
        "recipients": [f"user{i}@example.org"],
    }
    dlv: dict[str, Any] = {}
    rcpt = f"user{i}@example.org"
    if event == "accepted":
        p = render.accepted(ts=ts, msg=msg, dlv=dlv, recipient=rcpt)
    else:
        p = render.delivered(
            ts=ts, msg=msg, dlv=dlv, recipient=rcpt, status={"code": 250}, sending_ip="1.2.3.4"
        )
    p.update(over)
    return p


async def _seed(rt: Runtime, domain: str, n: int, start: float) -> list[dict[str, Any]]:
    from tidings.store.repos import domains as repo

    async with rt.engine.connect() as conn:
        d = await repo.get_by_name(conn, name=domain)
    assert d is not None
    payloads = [_payload(i, "accepted" if i % 2 == 0 else "delivered", start + i) for i in range(n)]
    await rt.recorder.record(d.id, payloads)
    return payloads


async def _walk(client: httpx.AsyncClient, first: str, params: dict[str, str]) -> list[str]:
    seen: list[str] = []
    r = await client.get(first, params=params)
    for _ in range(50):
        assert r.status_code == 200, r.text
        body = r.json()
        if not body["items"]:
            return seen
        seen += [e["id"] for e in body["items"]]
        assert body["paging"]["next"].startswith(BASE_URL + "/v3/")
        r = await client.get(body["paging"]["next"])
    raise AssertionError("paging did not end")


async def test_paging_ascending_and_descending(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    start = clock.now() - 1000
    seeded = await _seed(runtime, account.domain, 25, start)
    ids = [p["id"] for p in seeded]
    url = f"/v3/{account.domain}/events"
    asc = await _walk(client, url, {"begin": str(start), "ascending": "yes", "limit": "7"})
    assert asc == ids
    desc = await _walk(client, url, {"limit": "10"})
    assert desc == ids[::-1]
    # begin + end: begin inclusive, end exclusive, direction from their order
    r = await client.get(url, params={"begin": str(start + 5), "end": str(start + 10)})
    assert [e["id"] for e in r.json()["items"]] == ids[5:10]
    r = await client.get(url, params={"begin": str(start + 10), "end": str(start + 5)})
    assert [e["id"] for e in r.json()["items"]] == ids[6:11][::-1]
    # RFC 2822 dates work as well as epoch seconds
    from email.utils import formatdate

    r = await client.get(
        url, params={"begin": formatdate(start + 20, usegmt=True), "ascending": "yes"}
    )
    assert [e["id"] for e in r.json()["items"]] == ids[20:]


async def test_begin_without_end_needs_ascending(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    start = clock.now() - 1000
    ids = [p["id"] for p in await _seed(runtime, account.domain, 6, start)]
    url = f"/v3/{account.domain}/events"
    r = await client.get(url, params={"begin": str(start + 2)})
    assert r.status_code == 400
    assert r.json() == {
        "message": "'ascending' parameter is required when 'begin' is given without 'end':"
        " 'yes' reads forward from 'begin', 'no' back from it"
    }
    r = await client.get(url, params={"begin": str(start + 2), "ascending": "no"})
    assert [e["id"] for e in r.json()["items"]] == ids[0:3][::-1]
    r = await client.get(url, params={"begin": str(start + 2), "ascending": "yes"})
    assert [e["id"] for e in r.json()["items"]] == ids[2:]
    # without begin nothing is required: newest first, down to end when given
    r = await client.get(url)
    assert [e["id"] for e in r.json()["items"]] == ids[::-1]
    r = await client.get(url, params={"end": str(start + 3)})
    assert [e["id"] for e in r.json()["items"]] == ids[4:][::-1]


async def test_identical_requests_get_identical_paging(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    await _seed(runtime, account.domain, 5, clock.now() - 100)
    url = f"/v3/{account.domain}/events"
    a = (await client.get(url, params={"limit": "2"})).json()["paging"]
    b = (await client.get(url, params={"limit": "2"})).json()["paging"]
    assert a == b
    assert set(a) == {"first", "last", "next", "previous"}
    for link in a.values():
        token = link.rsplit("/", 1)[1]
        assert "/" not in token and "?" not in token and link.startswith(BASE_URL)


async def test_trailing_next_sees_new_events_once(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    start = clock.now() - 100
    seeded = await _seed(runtime, account.domain, 3, start)
    url = f"/v3/{account.domain}/events"
    r = (await client.get(url, params={"begin": str(start), "ascending": "yes"})).json()
    assert [e["id"] for e in r["items"]] == [p["id"] for p in seeded]
    nxt = r["paging"]["next"]
    empty = (await client.get(nxt)).json()
    assert empty["items"] == []
    assert empty["paging"]["next"] == nxt  # re-polling the same URL is stable
    more = await _seed(runtime, account.domain, 2, start + 50)
    got = (await client.get(nxt)).json()
    assert [e["id"] for e in got["items"]] == [p["id"] for p in more]
    again = (await client.get(got["paging"]["next"])).json()
    assert again["items"] == []


async def test_previous_and_last(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    start = clock.now() - 100
    ids = [p["id"] for p in await _seed(runtime, account.domain, 9, start)]
    url = f"/v3/{account.domain}/events"
    p1 = (
        await client.get(url, params={"begin": str(start), "ascending": "yes", "limit": "3"})
    ).json()
    p2 = (await client.get(p1["paging"]["next"])).json()
    assert [e["id"] for e in p2["items"]] == ids[3:6]
    back = (await client.get(p2["paging"]["previous"])).json()
    assert [e["id"] for e in back["items"]] == ids[0:3]
    last = (await client.get(p2["paging"]["last"])).json()
    assert [e["id"] for e in last["items"]] == ids[6:9]
    first = (await client.get(p2["paging"]["first"])).json()
    assert [e["id"] for e in first["items"]] == ids[0:3]


async def _seed_tagged(rt: Runtime, domain: str, start: float) -> list[str]:
    """16 events, two to a timestamp (so the id breaks ties); even ones tagged ``t2``.
    Returns the ids of the ``t2`` events, oldest first."""
    from tidings.store.repos import domains as repo

    async with rt.engine.connect() as conn:
        d = await repo.get_by_name(conn, name=domain)
    assert d is not None
    payloads = [
        _payload(i, "accepted", start + i // 2, tags=["t2" if i % 2 == 0 else "other"])
        for i in range(16)
    ]
    await rt.recorder.record(d.id, payloads)
    return [p["id"] for p in payloads if p["tags"] == ["t2"]]


async def _page(client: httpx.AsyncClient, url: str, **params: str) -> tuple[list[str], Any]:
    r = await client.get(url, params=params or None)
    assert r.status_code == 200, r.text
    body = r.json()
    return [e["id"] for e in body["items"]], body["paging"]


WALK_RANGES = [
    pytest.param({"ascending": "yes"}, True, id="open-ascending"),
    pytest.param({"ascending": "no"}, False, id="open-descending"),
    pytest.param({"begin": "-99", "end": "+99"}, True, id="closed-ascending"),
    pytest.param({"begin": "+99", "end": "-99"}, False, id="closed-descending"),
]


def _range_params(template: dict[str, str], start: float) -> dict[str, str]:
    out = dict(template)
    for key in ("begin", "end"):
        if key in out:
            out[key] = str(start + float(out[key]))
    return out


@pytest.mark.parametrize(("template", "ascending"), WALK_RANGES)
async def test_walk_through_empty_pages_at_both_ends(
    client: httpx.AsyncClient,
    account: Account,
    runtime: Runtime,
    template: dict[str, str],
    ascending: bool,
) -> None:
    """next and previous, also from the empty pages before the first and after the last
    event, show every event exactly once, in order."""
    start = clock.now() - 100
    tagged = await _seed_tagged(runtime, account.domain, start)
    url = f"/v3/{account.domain}/events"
    params = {**_range_params(template, start), "limit": "3", "tags": "t2"}
    everything, _ = await _page(client, url, **{**params, "limit": "300"})
    assert sorted(everything) == sorted(tagged)  # the server's order (ties broken by id)
    d = everything
    assert len(d) == 8

    p1, paging1 = await _page(client, url, **params)
    assert p1 == d[0:3]
    # before the first event: an empty page, whose previous is itself, whose next is p1
    before, paging = await _page(client, paging1["previous"])
    assert before == []
    assert paging["previous"] == paging1["previous"]
    again, paging = await _page(client, paging["next"])
    assert again == d[0:3]
    # forward to the empty page after the last event
    p2, paging = await _page(client, paging["next"])
    assert p2 == d[3:6]
    p3, paging = await _page(client, paging["next"])
    assert p3 == d[6:8]
    trailing = paging["next"]
    after, paging = await _page(client, trailing)
    assert after == []
    assert paging["next"] == trailing  # re-polling the same URL
    # and back again, from the empty page after the last event to the one before the first
    back: list[str] = []
    link = paging["previous"]
    pages: list[list[str]] = []
    for _ in range(10):
        items, paging = await _page(client, link)
        if not items:
            break
        pages.append(items)
        back = items + back
        link = paging["previous"]
    assert pages == [d[5:8], d[2:5], d[0:2]]
    assert back == d
    items, paging = await _page(client, paging["next"])
    assert items == d[0:3]
    # last, then the empty page after it, then back
    last, paging = await _page(client, paging1["last"])
    assert last == d[5:8]
    items, paging = await _page(client, paging["next"])
    assert items == []
    items, paging = await _page(client, paging["previous"])
    assert items == d[5:8]


@pytest.mark.parametrize(("template", "ascending"), WALK_RANGES)
async def test_random_walk_matches_a_cursor_model(
    client: httpx.AsyncClient,
    account: Account,
    runtime: Runtime,
    template: dict[str, str],
    ascending: bool,
) -> None:
    """Any sequence of next/previous/first/last moves shows exactly the slices a cursor
    between events predicts: next reads on from the end of the page shown, previous back
    from its start, and an empty page stays where it read."""
    import random

    start = clock.now() - 100
    await _seed_tagged(runtime, account.domain, start)
    url = f"/v3/{account.domain}/events"
    params = {**_range_params(template, start), "limit": "3", "tags": "t2"}
    d, _ = await _page(client, url, **{**params, "limit": "300"})
    n, limit = len(d), 3
    items, paging = await _page(client, url, **params)
    lo, hi = 0, min(n, limit)
    assert items == d[lo:hi]
    rng = random.Random(1795561869)
    for _ in range(60):
        move = rng.choice(["next", "next", "previous", "previous", "first", "last"])
        items, paging = await _page(client, paging[move])
        if move == "next":
            lo, hi = hi, min(n, hi + limit)
        elif move == "previous":
            lo, hi = max(0, lo - limit), lo
        elif move == "first":
            lo, hi = 0, min(n, limit)
        else:
            lo, hi = max(0, n - limit), n
        assert items == d[lo:hi], (move, lo, hi)
    # the direction asked for is the order shown
    stamps = [e["timestamp"] for e in (await client.get(url, params=params)).json()["items"]]
    assert stamps == sorted(stamps, reverse=not ascending)


async def test_token_wins_over_repeated_query(
    client: httpx.AsyncClient, account: Account, runtime: Runtime
) -> None:
    start = clock.now() - 100
    ids = [p["id"] for p in await _seed(runtime, account.domain, 6, start)]
    q = {"begin": str(start), "ascending": "yes", "limit": "4", "event": "accepted OR delivered"}
    p1 = (await client.get(f"/v3/{account.domain}/events", params=q)).json()
    token = p1["paging"]["next"].rsplit("/", 1)[1]
    # mailgun.js and Ghost send the token *and* the original query again
    p2 = (await client.get(f"/v3/{account.domain}/events/{token}", params=q)).json()
    assert [e["id"] for e in p2["items"]] == ids[4:]


async def test_filters(client: httpx.AsyncClient, account: Account, runtime: Runtime) -> None:
    start = clock.now() - 100
    ids = [p["id"] for p in await _seed(runtime, account.domain, 6, start)]
    url = f"/v3/{account.domain}/events"

    async def q(**params: str) -> list[str]:
        r = await client.get(url, params={"ascending": "yes", "begin": str(start), **params})
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    assert await q(event="accepted") == ids[0::2]
    assert await q(event="accepted OR delivered") == ids
    assert await q(event="NOT accepted") == ids[1::2]
    assert await q(recipient="USER3@example.org") == [ids[3]]
    assert await q(**{"message-id": "m4@example.test"}) == [ids[4]]
    assert await q(tags="bulk-email") == ids
    assert await q(tags="other") == []
    assert await q(subject='"Subject 5"') == [ids[5]]
    assert await q(size=">1003") == ids[4:]
    assert await q(subject="<3 love") == []  # a word on a text field, not a comparison
    assert await q(**{"from": ">"}) == ids  # "Sender <sender@example.test>"
    assert await q(event="accepted", recipient="user2@example.org") == [ids[2]]


BAD_QUERIES = [
    ({"limit": "301"}, "limit"),
    ({"limit": "abc"}, "limit"),
    ({"begin": "not a date"}, "begin"),
    ({"end": "yesterday"}, "end"),
    ({"ascending": "maybe"}, "ascending"),
    ({"begin": "1000", "end": "2000", "ascending": "no"}, "ascending"),
    ({"begin": "1000"}, "'ascending' parameter is required when 'begin' is given without 'end'"),
    ({"begin": "1000", "ascending": ""}, "'ascending' parameter is required"),
    ({"event": "(accepted"}, "parenthesis"),
    ({"event": "accepted OR"}, "OR"),
    ({"size": ">abc"}, "size"),
    ({"subject": '""'}, "subject"),
]


@pytest.mark.parametrize(("params", "text"), BAD_QUERIES)
async def test_bad_queries(
    client: httpx.AsyncClient, account: Account, params: dict[str, str], text: str
) -> None:
    r = await client.get(f"/v3/{account.domain}/events", params=params)
    assert r.status_code == 400, r.text
    assert text in r.json()["message"]


def _token(**over: object) -> str:
    import base64
    import json

    body: dict[str, object] = {"a": True, "s": None, "e": None, "l": 10, "f": [], "c": None}
    body.update({"b": False, **over})
    raw = json.dumps(body).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw_token(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


INT64 = 2**63
CRAFTED = [
    _token(f=[["no-such-field", "x"]]),
    _token(f=[["event", "(unbalanced"]]),
    _token(f=[["event", "a\x00b"]]),
    _token(f=[["event", 5]]),
    _token(f=[["event"]]),
    _token(f=[["event", "x", "y"]]),
    _token(f=[[None, "x"]]),
    _token(f={"event": "x"}),
    _token(f=None),
    _token(l=0),
    _token(l=1000),
    _token(l="7"),
    _token(l=2.9),
    _token(l=True),
    _token(l=None),
    _token(a="yes"),
    _token(a=1),
    _token(a=None),
    _token(b=0),
    _token(b="no"),
    _token(s=INT64),
    _token(s=-INT64 - 1),
    _token(e=INT64),
    _token(s=1e300),
    _token(s=1.0),
    _token(e="1"),
    _token(e=True),
    _token(c=["not-a-number", "id"]),
    _token(c=[INT64, "x"]),
    _token(c=[-INT64 - 1, "x"]),
    _token(c=[10**30, "x"]),
    _token(c=[1e300, "x"]),
    _token(c=[1.5, "x"]),
    _token(c=[True, "x"]),
    _token(c=[None, "x"]),
    _token(c=[1, "a\x00b"]),
    _token(c=[1, ""]),
    _token(c=[1, "x" * 25]),
    _token(c=[1, "a/b"]),
    _token(c=[1, "é"]),
    _token(c=[1, 5]),
    _token(c=[1, None]),
    _token(c=[1]),
    _token(c=[1, "x", "y"]),
    _token(c={"ts": 1, "id": "x"}),
    _token(c="x"),
    _token(c=0),
    _token(z=1),  # a key this server never writes
    _token(c=[1, "x"], i="yes"),
    _token(c=[1, "x"], i=1),
    _token(c=[1, "x"], i=None),
    _raw_token('{"a":true,"s":null,"e":null,"l":10,"f":[],"c":null}'),  # "b" missing
    _raw_token('{"a":true,"s":null,"e":null,"l":10,"f":[],"c":[1e999,"x"],"b":false}'),
    _raw_token('{"a":true,"s":null,"e":null,"l":10,"f":[],"c":[1,"\\ud800"],"b":false}'),
    _raw_token('{"a":true,"s":null,"e":null,"l":10,"f":[],"c":[NaN,"x"],"b":false}'),
    _raw_token("[1, 2]"),
    _raw_token('"x"'),
    _raw_token("5"),
    _raw_token("null"),
]


@pytest.mark.parametrize("token", ["garbage", "e30", "W10", "eyJhIjp0cnVlfQ", "%%%", *CRAFTED])
async def test_bad_page_tokens(client: httpx.AsyncClient, account: Account, token: str) -> None:
    r = await client.get(f"/v3/{account.domain}/events/{token}")
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    assert "page token" in message or "filter expression" in message


EXTREME = [
    _token(s=INT64 - 1, e=-INT64),
    _token(s=-INT64, e=INT64 - 1),
    _token(a=False, s=INT64 - 1, e=-INT64),
    _token(c=[INT64 - 1, "zzzzzzzzzzzzzzzzzzzzzzzz"]),
    _token(c=[-INT64, "-"], b=True),
    _token(a=False, c=[-INT64, "A"]),
    _token(a=False, c=[INT64 - 1, "_"], b=True),
    _token(c=[INT64 - 1, "x"], i=True),
    _token(a=False, c=[-INT64, "x"], b=True, i=True),
]


@pytest.mark.parametrize("token", EXTREME)
async def test_extreme_page_tokens_are_safe_pages(
    client: httpx.AsyncClient, account: Account, runtime: Runtime, token: str
) -> None:
    """A well-formed token with values at the edges of BIGINT reads a page, never a 500."""
    await _seed(runtime, account.domain, 3, clock.now() - 100)
    r = await client.get(f"/v3/{account.domain}/events/{token}")
    assert r.status_code == 200, r.text
    for link in r.json()["paging"].values():
        assert (await client.get(link)).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        *({field: "a\x00b"} for field in FILTER_FIELDS),
        {"begin": "1\x00"},
        {"end": "\x00"},
        {"ascending": "yes\x00"},
        {"limit": "1\x00"},
        {"pretty": "\x00"},
    ],
)
async def test_nul_in_query_parameters(
    client: httpx.AsyncClient, account: Account, params: dict[str, str]
) -> None:
    r = await client.get(f"/v3/{account.domain}/events", params=params)
    assert r.status_code == 400, r.text
    assert "must not contain NUL characters" in r.json()["message"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"begin": "0", "ascending": "yes"}, 200),
        ({"begin": "253402300799", "ascending": "no"}, 200),
        ({"begin": "253402300799.0", "end": "0"}, 200),
        ({"begin": "253402300799.5", "end": "0"}, 400),
        ({"begin": "253402300800", "ascending": "yes"}, 400),
        ({"begin": "Mon, 01 Jan 0001 00:00:00 +0000", "ascending": "yes"}, 200),
        ({"end": "Fri, 31 Dec 9999 23:59:59 -1200"}, 400),
        ({"end": "9" * 5000}, 400),
        ({"limit": "9" * 5000}, 400),
        ({"limit": "-1"}, 400),
        ({"limit": "1"}, 200),
        ({"limit": "300"}, 200),
        ({"size": "9" * 30}, 200),
        ({"size": ">" + "9" * 31}, 400),
        ({"message-id": "x" * 5000}, 200),
        ({"recipient": "é" * 400}, 200),
        ({"tags": "t" * 5000}, 200),
    ],
)
async def test_query_extremes(
    client: httpx.AsyncClient,
    account: Account,
    runtime: Runtime,
    params: dict[str, str],
    status: int,
) -> None:
    await _seed(runtime, account.domain, 2, clock.now() - 100)
    r = await client.get(f"/v3/{account.domain}/events", params=params)
    assert r.status_code == status, r.text


async def test_events_need_a_known_domain_and_key(
    client: httpx.AsyncClient, account: Account
) -> None:
    r = await client.get("/v3/unknown.example/events")
    assert r.status_code == 404
    assert r.json()["message"] == "Domain not found: unknown.example"
    r = await client.get(f"/v3/{account.domain}/events", auth=("api", "nope"))
    assert r.status_code == 401


async def test_served_timestamps_are_whole_microseconds(
    client: httpx.AsyncClient, account: Account
) -> None:
    """A sent message's events show at most six decimals, and ``begin`` set to one of them
    finds that event first (the timestamp is the paging key, not a finer value)."""
    import re

    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={"from": "s@example.test", "to": "ts@example.org", "subject": "x", "text": "y"},
    )
    assert r.status_code == 200, r.text
    await events_for(client, account.domain, want=2, recipient="ts@example.org")
    r = await client.get(f"/v3/{account.domain}/events", params={"recipient": "ts@example.org"})
    shown = re.findall(r'"timestamp":([0-9.]+)', r.text)
    assert len(shown) == 2
    for text in shown:
        assert len(text.partition(".")[2]) <= 6, text
        params = {"begin": text, "ascending": "yes", "recipient": "ts@example.org", "limit": "1"}
        first = (await client.get(f"/v3/{account.domain}/events", params=params)).json()
        assert repr(first["items"][0]["timestamp"]) == text


async def test_tag_filter_is_cleaned_as_sent_tags_are(
    client: httpx.AsyncClient, account: Account
) -> None:
    """o:tag=ÜberTag is kept as ``berTag``; the filter cleans its terms the same way."""
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={
            "from": "s@example.test",
            "to": "tag@example.org",
            "subject": "x",
            "text": "y",
            "o:tag": "ÜberTag",
        },
    )
    assert r.status_code == 200, r.text
    items = await events_for(client, account.domain, want=1, tags="ÜberTag", event="accepted")
    assert [e["tags"] for e in items] == [["berTag"]]
    for term in ("bertag", "ÜBERTAG", "\tÜberTag\u00a0"):
        found = await events_for(client, account.domain, want=1, tags=term, event="accepted")
        assert [e["id"] for e in found] == [items[0]["id"]]
    r = await client.get(f"/v3/{account.domain}/events", params={"tags": "Ü"})
    assert r.status_code == 200 and r.json()["items"] == []


async def test_message_id_filter_ignores_case(client: httpx.AsyncClient, account: Account) -> None:
    r = await client.post(
        f"/v3/{account.domain}/messages",
        data={
            "from": "s@example.test",
            "to": "mid@example.org",
            "subject": "x",
            "text": "y",
            "h:Message-Id": "<ABC.Def@Example.TEST>",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "<ABC.Def@Example.TEST>"
    for term in ("ABC.Def@Example.TEST", "abc.def@example.test", "<ABC.DEF@EXAMPLE.TEST>"):
        items = await events_for(
            client, account.domain, want=1, event="accepted", **{"message-id": term}
        )
        assert [e["recipient"] for e in items] == ["mid@example.org"]
        assert items[0]["message"]["headers"]["message-id"] == "ABC.Def@Example.TEST"


async def test_concurrent_sends_all_recorded(client: httpx.AsyncClient, account: Account) -> None:
    async def send(i: int) -> str:
        r = await client.post(
            f"/v3/{account.domain}/messages",
            data={
                "from": "s@example.test",
                "to": f"c{i}@example.org",
                "subject": "x",
                "text": "y",
                "o:tag": "burst",
            },
        )
        assert r.status_code == 200, r.text
        return str(r.json()["id"])

    sent = await asyncio.gather(*(send(i) for i in range(40)))
    assert len(set(sent)) == 40
    items = await events_for(client, account.domain, want=40, event="delivered", tags="burst")
    assert sorted(e["recipient"] for e in items) == sorted(f"c{i}@example.org" for i in range(40))
