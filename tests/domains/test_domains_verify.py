"""Checking published records against a real DNS server on 127.0.0.1 (tests.support.dnsstub)."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator

import dns.asyncquery
import dns.message
import dns.rdtypes.txtbase
import pytest

from tests.support.dnsstub import DnsStub
from tidings.domains.keys import dkim_txt_value, generate_dkim_key
from tidings.domains.records import DnsRecord, expected_records
from tidings.domains.verify import check_records, parse_nameservers

DOMAIN = "example.com"
HOST = "mail.tidings.test"


@pytest.fixture(scope="module")
def public_key() -> str:
    return generate_dkim_key(2048)[1]


@pytest.fixture
def records(public_key: str) -> list[DnsRecord]:
    sending, receiving = expected_records(
        DOMAIN, selector="s1", public_key_b64=public_key, web_prefix="email", hostname=HOST
    )
    return sending + receiving


@pytest.fixture
async def stub() -> AsyncIterator[DnsStub]:
    async with DnsStub() as dns_stub:
        yield dns_stub


def publish(stub: DnsStub, records: list[DnsRecord]) -> None:
    for rec in records:
        value = f"{rec.priority} {rec.value}" if rec.priority else rec.value
        stub.add(rec.name, rec.record_type, value)


async def check(stub: DnsStub, records: list[DnsRecord]) -> list[tuple[str, list[str]]]:
    results = await check_records(records, nameservers=stub.nameservers, timeout=2.0)
    assert [rec for rec, _, _ in results] == records
    return [(valid, cached) for _, valid, cached in results]


async def check_one(stub: DnsStub, rec: DnsRecord) -> tuple[str, list[str]]:
    (result,) = await check(stub, [rec])
    return result


# -- everything in place --------------------------------------------------------------------


async def test_all_records_valid(stub: DnsStub, records: list[DnsRecord]) -> None:
    publish(stub, records)
    spf, dkim, _cname, _mx = records

    assert await check(stub, records) == [
        ("valid", [spf.value]),
        ("valid", [dkim.value]),
        ("valid", [HOST]),
        ("valid", [HOST]),
    ]
    assert {transport for _, _, transport in stub.queries} == {"udp"}


async def test_long_dkim_txt_arrives_in_chunks_and_is_joined(
    stub: DnsStub, records: list[DnsRecord]
) -> None:
    dkim = records[1]
    assert len(dkim.value) > 255
    stub.add(dkim.name, "TXT", dkim.value)

    # On the wire the value is several <character-string>s ...
    query = dns.message.make_query(dkim.name, "TXT", use_edns=0)
    response = await dns.asyncquery.udp(query, "127.0.0.1", port=stub.port, timeout=2)
    (rdata,) = response.answer[0]
    assert isinstance(rdata, dns.rdtypes.txtbase.TXTBase)
    assert [len(s) for s in rdata.strings] == [255, len(dkim.value) - 255]

    # ... and the checker joins them.
    assert await check_one(stub, dkim) == ("valid", [dkim.value])


async def test_answers_too_big_for_udp_come_over_tcp(records: list[DnsRecord]) -> None:
    async with DnsStub(force_tcp=True) as stub:
        publish(stub, records)
        assert [valid for valid, _ in await check(stub, records)] == ["valid"] * 4
    assert {(name, transport) for name, _, transport in stub.queries} >= {
        ("s1._domainkey.example.com", "udp"),
        ("s1._domainkey.example.com", "tcp"),
    }


async def test_dkim_through_a_cname(stub: DnsStub, records: list[DnsRecord]) -> None:
    # Some operators delegate DKIM: a CNAME at the selector, the key elsewhere.
    dkim = records[1]
    stub.add(dkim.name, "CNAME", "s1.keys.example.net")
    stub.add("s1.keys.example.net", "TXT", dkim.value)
    assert await check_one(stub, dkim) == ("valid", [dkim.value])


# -- TXT: SPF -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "published",
    [
        f"v=spf1 a:{HOST} ~all",
        f"V=SPF1   A:{HOST.upper()}   ~all",
        f"v=spf1 mx include:_spf.google.com a:{HOST} -all",
        f"v=spf1 +a:{HOST} ?all",
    ],
)
async def test_spf_valid(stub: DnsStub, records: list[DnsRecord], published: str) -> None:
    spf = records[0]
    stub.add(DOMAIN, "TXT", published, "google-site-verification=abc")
    valid, cached = await check_one(stub, spf)
    assert valid == "valid"
    assert sorted(cached) == sorted([published, "google-site-verification=abc"])


@pytest.mark.parametrize(
    "published",
    [
        ["v=spf1 include:mailgun.org ~all"],
        [f"a:{HOST}"],  # no version: not an SPF record
        [f"v=spf10 a:{HOST} ~all"],
        [f"v=spf1 -a:{HOST} ~all"],
        # Two SPF records are a permerror (RFC 7208 §4.5), even if one is ours.
        [f"v=spf1 a:{HOST} ~all", "v=spf1 include:mailgun.org ~all"],
    ],
)
async def test_spf_invalid(stub: DnsStub, records: list[DnsRecord], published: list[str]) -> None:
    stub.add(DOMAIN, "TXT", *published)
    valid, cached = await check_one(stub, records[0])
    assert valid == "invalid"
    assert sorted(cached) == sorted(published)


# -- TXT: DKIM ------------------------------------------------------------------------------


async def test_dkim_with_tags_reordered_and_folded(
    stub: DnsStub, records: list[DnsRecord], public_key: str
) -> None:
    folded = " ".join(public_key[i : i + 64] for i in range(0, len(public_key), 64))
    published = f"v=DKIM1; p={folded} ; K=rsa;"
    stub.add(records[1].name, "TXT", published)
    assert await check_one(stub, records[1]) == ("valid", [published])


@pytest.mark.parametrize(
    "published",
    [
        dkim_txt_value("MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"),  # someone else's key
        "k=ed25519; p=PLACEHOLDER",
        "k=rsa; p=",  # revoked
        "v=DKIM1; k=rsa",
    ],
)
async def test_dkim_invalid(stub: DnsStub, records: list[DnsRecord], published: str) -> None:
    dkim = records[1]
    if "PLACEHOLDER" in published:
        published = published.replace("PLACEHOLDER", dkim.value.split("p=")[1])
    stub.add(dkim.name, "TXT", published)
    assert await check_one(stub, dkim) == ("invalid", [published])


# -- CNAME and MX ---------------------------------------------------------------------------


async def test_cname_compares_without_case_or_dot(stub: DnsStub, records: list[DnsRecord]) -> None:
    stub.add("email.example.com", "CNAME", "MAIL.Tidings.Test.")
    assert await check_one(stub, records[2]) == ("valid", [HOST])


async def test_cname_wrong_target(stub: DnsStub, records: list[DnsRecord]) -> None:
    stub.add("email.example.com", "CNAME", "mailgun.org")
    assert await check_one(stub, records[2]) == ("invalid", ["mailgun.org"])


async def test_cname_where_an_a_record_is(stub: DnsStub, records: list[DnsRecord]) -> None:
    stub.add("email.example.com", "A", "192.0.2.1")
    assert await check_one(stub, records[2]) == ("invalid", [])


async def test_mx_among_others(stub: DnsStub, records: list[DnsRecord]) -> None:
    stub.add(DOMAIN, "MX", "5 mxa.mailgun.org", f"20 {HOST.upper()}")
    valid, cached = await check_one(stub, records[3])
    assert valid == "valid"
    assert sorted(cached) == [HOST, "mxa.mailgun.org"]


async def test_mx_wrong_exchange(stub: DnsStub, records: list[DnsRecord]) -> None:
    stub.add(DOMAIN, "MX", "10 mxa.mailgun.org", "10 mxb.mailgun.org")
    valid, cached = await check_one(stub, records[3])
    assert valid == "invalid"
    assert sorted(cached) == ["mxa.mailgun.org", "mxb.mailgun.org"]


# -- missing --------------------------------------------------------------------------------


async def test_nxdomain_is_invalid(stub: DnsStub, records: list[DnsRecord]) -> None:
    assert await check(stub, records) == [("invalid", [])] * 4
    assert len(stub.queries) == 4


async def test_name_without_the_type_is_invalid(stub: DnsStub, records: list[DnsRecord]) -> None:
    stub.add(DOMAIN, "A", "192.0.2.1")  # the domain exists, but has no TXT or MX
    stub.add("s1._domainkey.example.com", "CNAME", "nowhere.example.net")  # dangling
    stub.add("email.example.com", "TXT", "hello")
    assert await check(stub, records) == [("invalid", [])] * 4


# -- resolver trouble -----------------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A UDP port that receives and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_timeout_is_invalid_not_an_error(silent_port: int, records: list[DnsRecord]) -> None:
    started = time.monotonic()
    results = await check_records(records, nameservers=[("127.0.0.1", silent_port)], timeout=0.3)
    assert [(valid, cached) for _, valid, cached in results] == [("invalid", [])] * 4
    assert time.monotonic() - started < 2.0  # lookups run at once, each bounded by the timeout


async def test_refused_port_is_invalid_not_an_error(records: list[DnsRecord]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    results = await check_records(records, nameservers=[("127.0.0.1", port)], timeout=0.5)
    assert [valid for _, valid, _ in results] == ["invalid"] * 4


async def test_second_nameserver_used_when_first_is_silent(
    silent_port: int, stub: DnsStub, records: list[DnsRecord]
) -> None:
    publish(stub, records)
    results = await check_records(
        records, nameservers=[("127.0.0.1", silent_port), *stub.nameservers], timeout=1.5
    )
    assert [valid for _, valid, _ in results] == ["valid"] * 4


async def test_no_records_no_lookups(stub: DnsStub) -> None:
    assert await check_records([], nameservers=stub.nameservers) == []
    assert stub.queries == []


# -- TIDINGS_DNS_NAMESERVERS ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        (" , ", None),
        ("127.0.0.1", [("127.0.0.1", 53)]),
        ("127.0.0.1:5353, 10.0.0.1", [("127.0.0.1", 5353), ("10.0.0.1", 53)]),
        ("::1", [("::1", 53)]),
        ("[::1]:5353,[2001:DB8::1]", [("::1", 5353), ("2001:db8::1", 53)]),
    ],
)
def test_parse_nameservers(value: str, expected: list[tuple[str, int]] | None) -> None:
    assert parse_nameservers(value) == expected


@pytest.mark.parametrize(
    "value",
    ["dns.google", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[::1", "[::1]x"],
)
def test_parse_nameservers_refuses(value: str) -> None:
    with pytest.raises(ValueError, match="TIDINGS_DNS_NAMESERVERS"):
        parse_nameservers(f"10.0.0.1, {value}")
