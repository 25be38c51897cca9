"""Events API filter expressions: parser, SQL compiler (SQLite and PostgreSQL), time bounds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tidings.errors import BadRequest
from tidings.events.expr import MAX_DEPTH, MAX_TERMS, And, Compare, Not, Or, Term, parse
from tidings.events.filters import FILTER_FIELDS, condition, escape_like, parse_time
from tidings.store.tables import TAG_SEP, events, metadata

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

# --- parser ----------------------------------------------------------------------------


def t(text: str) -> Term:
    return Term(text)


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("foo", t("foo")),
        ("  foo  ", t("foo")),
        ("foo bar", And((t("foo"), t("bar")))),
        ("foo AND bar", And((t("foo"), t("bar")))),
        ("foo OR bar", Or((t("foo"), t("bar")))),
        ("a OR b OR c", Or((t("a"), t("b"), t("c")))),
        ("foo and bar", And((t("foo"), t("and"), t("bar")))),
        ("foo or NOT bar", And((t("foo"), t("or"), Not(t("bar"))))),
        ("NOT foo", Not(t("foo"))),
        ("NOT NOT foo", t("foo")),
        ("NOT NOT NOT foo", Not(t("foo"))),
        # NOT > AND > OR; implicit AND binds like AND
        ("NOT a b", And((Not(t("a")), t("b")))),
        ("a b OR c", Or((And((t("a"), t("b"))), t("c")))),
        ("a OR b c", Or((t("a"), And((t("b"), t("c")))))),
        ("a OR b AND c", Or((t("a"), And((t("b"), t("c")))))),
        ("a AND b OR NOT c d", Or((And((t("a"), t("b"))), And((Not(t("c")), t("d")))))),
        ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
        ("NOT (a OR b)", Not(Or((t("a"), t("b"))))),
        ("((a))", t("a")),
        (
            "(Hello AND NOT Rachel) OR (Farewell AND Monica)",
            Or(
                (
                    And((t("Hello"), Not(t("Rachel")))),
                    And((t("Farewell"), t("Monica"))),
                )
            ),
        ),
        ("a(b)", And((t("a"), t("b")))),
        # quoted phrases
        ('"foo bar"', Term("foo bar", quoted=True)),
        ('"AND"', Term("AND", quoted=True)),
        ('"say \\"hi\\""', Term('say "hi"', quoted=True)),
        ('"back\\\\slash"', Term("back\\slash", quoted=True)),
        ('"a\\nb"', Term("a\\nb", quoted=True)),
        ('"(x)" OR y', Or((Term("(x)", quoted=True), t("y")))),
        ('a"b c"', And((t("a"), Term("b c", quoted=True)))),
        ('">10"', Term(">10", quoted=True)),
        # comparisons
        (">10000", Compare(">", 10000)),
        (">10000 <20000", And((Compare(">", 10000), Compare("<", 20000)))),
        (">=5 <=7", And((Compare(">=", 5), Compare("<=", 7)))),
        ("> 10", Compare(">", 10)),
        (">= 10", Compare(">=", 10)),
        (">-1", Compare(">", -1)),
        ("NOT >10", Not(Compare(">", 10))),
        # angle-bracketed words are terms (message ids)
        ("<abc@host>", t("<abc@host>")),
        ("<a@h> OR <b@h>", Or((t("<a@h>"), t("<b@h>")))),
        # punctuation is part of a word
        ("50%off news_2024 a-b", And((t("50%off"), t("news_2024"), t("a-b")))),
    ],
)
def test_parse(expression: str, tree: object) -> None:
    assert parse("subject", expression) == tree


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("(foo", "unbalanced parenthesis"),
        ("foo)", "unbalanced parenthesis"),
        (")foo", "unbalanced parenthesis"),
        ("(a OR (b)", "unbalanced parenthesis"),
        ("a (", "unbalanced parenthesis"),
        ("()", "empty parentheses"),
        ("a () b", "empty parentheses"),
        ("foo AND", "dangling operator 'AND'"),
        ("foo OR", "dangling operator 'OR'"),
        ("NOT", "dangling operator 'NOT'"),
        ("foo NOT", "dangling operator 'NOT'"),
        ("AND foo", "dangling operator 'AND'"),
        ("OR foo", "dangling operator 'OR'"),
        ("foo AND OR bar", "dangling operator 'AND'"),
        ("foo OR AND bar", "dangling operator 'OR'"),
        ("(foo OR) bar", "dangling operator 'OR'"),
        ("(AND foo)", "dangling operator 'AND'"),
        ("foo AND )", "dangling operator 'AND'"),
        ('""', "empty quoted phrase"),
        ('"  "', "empty quoted phrase"),
        ('foo "bar', "unterminated quoted phrase"),
        ('"bar\\"', "unterminated quoted phrase"),
        (">", "expected a whole number after '>'"),
        (">abc", "expected a whole number after '>', got 'abc'"),
        ("<=1.5", "expected a whole number after '<=', got '1.5'"),
        ("> AND 5", "expected a whole number after '>'"),
        ('> "5"', "expected a whole number after '>'"),
        ("<>", "expected a whole number after '<', got '>'"),
        ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), "nested deeper than"),
        (" ".join(["a"] * (MAX_TERMS + 1)), "too many terms"),
    ],
)
def test_parse_errors(expression: str, problem: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse("subject", expression)
    message = caught.value.message
    assert message.startswith("Invalid filter expression for 'subject': ")
    assert problem in message


def test_parse_limits_are_inclusive() -> None:
    deep = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse("subject", deep) == t("a")
    assert parse("subject", " ".join(["a"] * MAX_TERMS)) == And(tuple([t("a")] * MAX_TERMS))


def test_long_not_chain_does_not_recurse() -> None:
    assert parse("subject", "NOT " * 5000 + "a") == t("a")


def test_error_names_the_field() -> None:
    with pytest.raises(BadRequest, match=r"^Invalid filter expression for 'tags': unbalanced"):
        condition("tags", "(bulk")


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("<3", t("<3")),
        ("<3 love", And((t("<3"), t("love")))),
        (">10 OR <=5", Or((t(">10"), t("<=5")))),
        ("> 10", And((t(">"), t("10")))),
        (">", t(">")),
        ("<>", t("<>")),
        (">abc", t(">abc")),
        ("NOT <3", Not(t("<3"))),
        ("<a@h>", t("<a@h>")),
    ],
)
def test_parse_without_comparisons(expression: str, tree: object) -> None:
    """On a text field ``<`` and ``>`` start ordinary words (contract §3.3: comparisons are
    for numeric fields)."""
    assert parse("subject", expression, comparisons=False) == tree


@pytest.mark.parametrize("field", [f for f in FILTER_FIELDS if f != "size"])
def test_comparison_words_on_text_fields_are_terms(field: str) -> None:
    condition(field, "foo OR >10 OR <3 OR > OR <=")  # compiles: no 400


@pytest.mark.parametrize("expression", ["abc", "10 OR abc", "1.5", '"ten"'])
def test_size_term_must_be_a_number(expression: str) -> None:
    with pytest.raises(BadRequest, match=r"^Invalid filter expression for 'size': '.*' is not a"):
        condition("size", expression)


@pytest.mark.parametrize("expression", ['"<>"', '" < > "'])
def test_empty_message_id(expression: str) -> None:
    with pytest.raises(BadRequest, match="'message-id': empty message id"):
        condition("message-id", expression)


def test_unknown_field_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="not an Events API filter field"):
        condition("bogus", "x")


def test_filter_fields() -> None:
    assert set(FILTER_FIELDS) == {
        "event",
        "severity",
        "recipient",
        "message-id",
        "tags",
        "from",
        "to",
        "subject",
        "attachment",
        "recipients",
        "list",
        "size",
    }


def test_escape_like() -> None:
    assert escape_like("a%b_c\\d") == "a\\%b\\_c\\\\d"


# --- compiler against real databases -----------------------------------------------------


def tags(*names: str) -> str:
    return TAG_SEP + TAG_SEP.join(names) + TAG_SEP if names else ""


def row(id: str, event: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {c.name: None for c in events.columns}
    base.update(domain_id=1, ts_us=int(id[1:]), id=id, event=event, tags="", payload="{}")
    base.update(values)
    return base


ROWS = [
    row(
        "e1",
        "delivered",
        recipient="alice@example.com",
        message_id="m1@example.com",
        tags=tags("bulk-email", "news_2024"),
        from_hdr="bob smith <bob@example.com>",
        to_hdr="alice@example.com",
        subject="Hello Rachel",
        size=5000,
        attachments="report.pdf",
    ),
    row(
        "e2",
        "opened",
        recipient="ross@example.com",
        message_id="m2@example.com",
        tags=tags("bulk-email", "50%off"),
        from_hdr="bob@example.com",
        to_hdr="ross@example.com, alice@example.com",
        subject="Hello Monica",
        size=15000,
    ),
    row(
        "e3",
        "failed",
        severity="permanent",
        recipient="monica@example.org",
        message_id="m3@example.org",
        from_hdr="carol@example.org",
        subject="Farewell Monica",
        size=25000,
        attachments="a_b.txt, photo.jpg",
    ),
    row(
        "e4",
        "failed",
        severity="temporary",
        recipient="joey@example.org",
        message_id="m4@example.org",
        tags=tags("news-2024"),
        subject="Farewell Ross <3",
    ),
    row(
        "e5",
        "stored",
        tags=tags("a_b"),
        recipients="x@example.com, y@example.net",
        size=12000,
        list="devs@lists.example.com",
    ),
    row(
        "e6",
        "accepted",
        recipient="phoebe@example.com",
        message_id="m6@example.com",
        tags=tags("axb", "100%", "bertag"),  # sent as o:tag=ÜberTag
        subject='Say "HI" to 50% of USERS',
        size=20000,
        attachments="axb.txt",
        list="team@lists.example.com",
    ),
]
ALL = {r["id"] for r in ROWS}


def ids(*names: str) -> set[str]:
    return set(names)


CASES: list[tuple[str, str, set[str]]] = [
    # exact, case-insensitive
    ("event", "delivered", ids("e1")),
    ("event", "DELIVERED", ids("e1")),
    ("event", "delivered OR opened OR failed", ids("e1", "e2", "e3", "e4")),
    ("event", "NOT failed", ids("e1", "e2", "e5", "e6")),
    ("event", "deliver", ids()),
    ("event", "delivered opened", ids()),
    ("severity", "permanent", ids("e3")),
    ("severity", "NOT permanent", ids("e1", "e2", "e4", "e5", "e6")),
    ("severity", "NOT (permanent OR temporary)", ids("e1", "e2", "e5", "e6")),
    ("recipient", "Alice@Example.COM", ids("e1")),
    ("recipient", "alice", ids()),
    ("recipient", "NOT alice@example.com", ids("e2", "e3", "e4", "e5", "e6")),
    ("recipient", "alice@example.com OR joey@example.org", ids("e1", "e4")),
    # message-id, with or without <>
    ("message-id", "m1@example.com", ids("e1")),
    ("message-id", "<m1@example.com>", ids("e1")),
    ("message-id", '"<m2@example.com>"', ids("e2")),
    ("message-id", "<m1@example.com> OR m3@example.org", ids("e1", "e3")),
    ("message-id", "m1", ids()),
    # case-insensitive: the column is lower-cased when written (render.row), the term here
    ("message-id", "M1@EXAMPLE.COM", ids("e1")),
    ("message-id", "<M1@Example.Com>", ids("e1")),
    ("message-id", "NOT M1@Example.com", ids("e2", "e3", "e4", "e5", "e6")),
    ("message-id", "NOT m1@example.com", ids("e2", "e3", "e4", "e5", "e6")),
    # tags: whole-tag match, LIKE wildcards literal
    ("tags", "bulk-email", ids("e1", "e2")),
    ("tags", "BULK-EMAIL", ids("e1", "e2")),
    ("tags", "bulk", ids()),
    ("tags", "bulk-email AND news_2024", ids("e1")),
    ("tags", "news_2024", ids("e1")),
    ("tags", "news-2024", ids("e4")),
    ("tags", "a_b", ids("e5")),
    ("tags", "50%off", ids("e2")),
    ("tags", "100%", ids("e6")),
    ("tags", "%", ids()),
    ("tags", "_", ids()),
    ("tags", "%off", ids()),
    ("tags", "NOT bulk-email", ids("e3", "e4", "e5", "e6")),
    ("tags", "NOT (bulk-email OR a_b)", ids("e3", "e4", "e6")),
    ("tags", '"bulk-email\x1fnews_2024"', ids()),  # never spans two tags
    ("tags", 'NOT "bulk-email\x1fnews_2024"', ALL),
    # cleaned as o:tag is: non-ASCII and control characters dropped, spaces trimmed
    ("tags", "ÜberTag", ids("e6")),
    ("tags", "berTag", ids("e6")),
    ("tags", '"Über\tTag"', ids("e6")),
    ("tags", '" bulk-email "', ids("e1", "e2")),
    ("tags", "ÜberTag AND 100%", ids("e6")),
    ("tags", "NOT ÜberTag", ids("e1", "e2", "e3", "e4", "e5")),
    ("tags", "Ü", ids()),
    ("tags", "NOT Ü", ALL),
    # contains, case-insensitive
    ("subject", "hello", ids("e1", "e2")),
    ("subject", "HELLO monica", ids("e2")),
    ("subject", "hello NOT rachel", ids("e2")),
    ("subject", "(Hello AND NOT Rachel) OR (Farewell AND Monica)", ids("e2", "e3")),
    ("subject", '"hello rachel"', ids("e1")),
    ("subject", '"rachel hello"', ids()),
    ("subject", "rachel hello", ids("e1")),
    ("subject", "ell", ids("e1", "e2", "e3", "e4")),
    ("subject", "NOT hello", ids("e3", "e4", "e5", "e6")),
    ("subject", "NOT NOT hello", ids("e1", "e2")),
    ("subject", '"\\"hi\\""', ids("e6")),
    ("subject", "50%", ids("e6")),
    ("subject", "%", ids("e6")),
    ("subject", "_", ids()),
    ("subject", "users", ids("e6")),
    ("subject", "s%r", ids()),
    ("subject", "hello and", ids()),
    ("subject", "HELLO OR farewell", ids("e1", "e2", "e3", "e4")),
    # < and > start words on text fields
    ("subject", "<3", ids("e4")),
    ("subject", "ross <3", ids("e4")),
    ("subject", '"ross <3"', ids("e4")),
    ("subject", "<3 love", ids()),
    ("subject", "NOT <3", ids("e1", "e2", "e3", "e5", "e6")),
    ("subject", ">", ids()),
    ("subject", "<4", ids()),
    ("from", ">", ids("e1")),
    ("from", "< OR >", ids("e1")),
    ("from", "bob", ids("e1", "e2")),
    ("from", "<bob@example.com>", ids("e1")),
    ("from", "NOT bob", ids("e3", "e4", "e5", "e6")),
    ("to", "alice", ids("e1", "e2")),
    ("to", "NOT alice", ids("e3", "e4", "e5", "e6")),
    ("attachment", "pdf", ids("e1")),
    ("attachment", "a_b", ids("e3")),
    ("attachment", "a_b OR photo", ids("e3")),
    ("attachment", "NOT txt", ids("e1", "e2", "e4", "e5")),
    ("recipients", "y@example.net", ids("e5")),
    ("recipients", "NOT x@example.com", ids("e1", "e2", "e3", "e4", "e6")),
    ("list", "lists.example.com", ids("e5", "e6")),
    ("list", "devs@lists.example.com", ids("e5")),
    ("list", "NOT devs", ids("e1", "e2", "e3", "e4", "e6")),
    # numeric
    ("size", "15000", ids("e2")),
    ("size", "15000 OR 5000", ids("e1", "e2")),
    ("size", ">10000 <20000", ids("e2", "e5")),
    ("size", ">10000 AND <20000", ids("e2", "e5")),
    ("size", ">=20000", ids("e3", "e6")),
    ("size", ">= 20000", ids("e3", "e6")),
    ("size", "<=5000", ids("e1")),
    ("size", "<5000", ids()),
    ("size", ">20000 OR <10000", ids("e1", "e3")),
    ("size", "NOT >10000", ids("e1", "e4")),
    ("size", "NOT 15000", ids("e1", "e3", "e4", "e5", "e6")),
    ("size", ">-1", ids("e1", "e2", "e3", "e5", "e6")),
    ("size", ">99999999999", ids()),
    ("size", "<99999999999", ids("e1", "e2", "e3", "e5", "e6")),
    ("size", ">=-99999999999", ids("e1", "e2", "e3", "e5", "e6")),
    ("size", "<-99999999999", ids()),
    ("size", "99999999999", ids()),
    ("size", "NOT 99999999999", ALL),
    ("size", "NOT <99999999999", ids("e4")),
]


def case_id(case: tuple[str, str, set[str]]) -> str:
    return f"{case[0]}={case[1]}"


def select_ids(field: str, expression: str) -> sa.Select[str]:
    return sa.select(events.c.id).where(condition(field, expression))


@pytest.fixture(scope="module")
def sqlite_engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine, tables=[events])
    with engine.begin() as conn:
        conn.execute(events.insert(), ROWS)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_sqlite(sqlite_engine: sa.Engine, case: tuple[str, str, set[str]]) -> None:
    field, expression, expected = case
    with sqlite_engine.connect() as conn:
        found = set(conn.scalars(select_ids(field, expression)))
    assert found == expected


def test_sqlite_fields_combine(sqlite_engine: sa.Engine) -> None:
    query = sa.select(events.c.id).where(
        condition("event", "failed OR delivered"),
        condition("subject", "farewell"),
        condition("severity", "NOT temporary"),
    )
    with sqlite_engine.connect() as conn:
        assert set(conn.scalars(query)) == {"e3"}


async def test_postgresql() -> None:
    """Every case of ``CASES`` on PostgreSQL; an unreachable server fails the test."""
    schema = f"test_filters_{uuid.uuid4().hex}"
    admin = create_async_engine(PG_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            failures = await _run_pg_cases(schema)
        finally:
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        await admin.dispose()
    assert failures == []


async def _run_pg_cases(schema: str) -> list[str]:
    engine = create_async_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    failures: list[str] = []
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all, tables=[events])
            await conn.execute(events.insert(), ROWS)
        async with engine.connect() as conn:
            for field, expression, expected in CASES:
                found = set(await conn.scalars(select_ids(field, expression)))
                if found != expected:
                    failures.append(
                        f"{field}={expression!r}: {sorted(found)} != {sorted(expected)}"
                    )
    finally:
        await engine.dispose()
    return failures


# --- begin / end -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("Thu, 13 Oct 2011 18:02:00 +0000", 1318528920.0),
        ("Thu, 13 Oct 2011 20:02:00 +0200", 1318528920.0),
        ("Wed, 03 Dec 2025 00:00:00 GMT", 1764720000.0),
        ("Thu, 13 Oct 2011 18:02:00 -0000", 1318528920.0),
        ("Thu, 13 Oct 2011 18:02:00", 1318528920.0),
        ("13 Oct 2011 18:02:00 +0000", 1318528920.0),
        ("  Thu, 13 Oct 2011 18:02:00 +0000 ", 1318528920.0),
        ("1606399301", 1606399301.0),
        ("1606399301.266", 1606399301.266),
        ("1606399301.", 1606399301.0),
        ("0", 0.0),
    ],
)
def test_parse_time(value: str, seconds: float) -> None:
    assert parse_time(value, "begin") == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "  ",
        "yesterday",
        "2011-10-13T18:02:00Z",
        "13 Oct 2011",
        "Thu, 32 Oct 2011 18:02:00 +0000",
        "-5",
        "1e9",
        "inf",
        "nan",
        "1_000",
        "0x10",
    ],
)
def test_parse_time_invalid(value: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_time(value, "end")
    assert caught.value.message == (
        "'end' parameter is invalid: not an RFC 2822 date or epoch seconds"
    )
    assert caught.value.context == {"value": value.strip()}


@pytest.mark.parametrize("value", ["999999999999", "Thu, 13 Oct 99999 18:02:00 +0000"])
def test_parse_time_out_of_range(value: str) -> None:
    with pytest.raises(BadRequest, match=r"^'begin' parameter is invalid: "):
        parse_time(value, "begin")
