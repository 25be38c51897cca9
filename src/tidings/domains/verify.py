"""Look a domain's records up in DNS and say which ones are in place.

``check_records`` never raises for a DNS failure: a missing name, a missing record, a
timeout or an unreachable resolver all mean the record is ``invalid``, with nothing cached.
The records compare the way receivers read them, not byte for byte:

* TXT strings longer than 255 bytes arrive as several chunks; we join them (RFC 7208 §3.3,
  RFC 6376 §3.6.2.2) before comparing.
* SPF: the domain must publish exactly one ``v=spf1`` record (two is a permerror, RFC 7208
  §4.5), and it must carry our mechanism (``a:<hostname>``); other mechanisms may stay.
* DKIM: tag order, extra tags (``v=DKIM1``) and whitespace do not matter; ``p=`` must be our
  key and ``k=``, when present, ``rsa``.
* CNAME and MX: names compare without the trailing dot and without regard to case.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.mxbase
import dns.rdtypes.txtbase

from tidings.domains.records import DnsRecord

#: The outcome of one record: the record, ``valid`` or ``invalid``, and what DNS holds.
CheckResult = tuple[DnsRecord, str, list[str]]

_DEFAULT_PORT = 53


async def check_records(
    records: Sequence[DnsRecord],
    *,
    nameservers: list[tuple[str, int]] | None,
    # The resolver enforces this per lookup (its ``lifetime``); no outer cancel scope needed.
    timeout: float = 2.0,  # noqa: ASYNC109
) -> list[CheckResult]:
    """Look up every record at once; results are in the order of ``records``.

    ``nameservers`` are ``(address, port)`` pairs (see ``parse_nameservers``); ``None`` uses
    the system's resolver configuration. ``timeout`` bounds each lookup as a whole.
    """
    try:
        resolver = _make_resolver(nameservers, timeout)
    except dns.exception.DNSException:
        # No usable resolv.conf: nothing can be looked up, so nothing is in place.
        return [(rec, "invalid", []) for rec in records]
    return list(await asyncio.gather(*(_check_one(resolver, rec) for rec in records)))


def parse_nameservers(value: str) -> list[tuple[str, int]] | None:
    """Parse ``TIDINGS_DNS_NAMESERVERS``: ``"127.0.0.1:5353, 10.0.0.1, [::1]:53"``.

    Empty means the system resolver (``None``). Entries are IP addresses (a resolver is
    reached by address, not by name) with an optional port; bare IPv6 addresses take no port,
    bracket them to give one.
    """
    entries = [part.strip() for part in value.split(",") if part.strip()]
    if not entries:
        return None
    return [_parse_one_nameserver(entry) for entry in entries]


def _parse_one_nameserver(entry: str) -> tuple[str, int]:
    def bad(why: str) -> ValueError:
        return ValueError(
            f"TIDINGS_DNS_NAMESERVERS: {entry!r} is not a valid resolver ({why}); "
            "expected a comma-separated list of IP[:port], e.g. '127.0.0.1:5353, [::1]:53'"
        )

    host, port_text = entry, ""
    if entry.startswith("["):
        host, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise bad("unbalanced brackets")
        port_text = rest[1:]
        if rest and not port_text:
            raise bad("empty port")
    elif entry.count(":") == 1:
        host, port_text = entry.split(":")
        if not port_text:
            raise bad("empty port")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise bad("not an IP address") from None
    if not port_text:
        return str(address), _DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise bad("port must be 1-65535")
    return str(address), int(port_text)


def _make_resolver(
    nameservers: list[tuple[str, int]] | None, timeout: float
) -> dns.asyncresolver.Resolver:
    if nameservers is None:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        # One Nameserver object per entry, so that each keeps its own port.
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]
        if nameservers:
            resolver.port = nameservers[0][1]
    # The resolver tries its servers in turn: give each a share of the time, so that a
    # silent first server still leaves time to ask the next one.
    resolver.lifetime = timeout
    resolver.timeout = timeout / max(1, len(resolver.nameservers))
    return resolver


async def _check_one(resolver: dns.asyncresolver.Resolver, rec: DnsRecord) -> CheckResult:
    try:
        answer = await resolver.resolve(rec.name, rec.record_type, search=False)
    except (dns.exception.DNSException, OSError):
        # NXDOMAIN, NoAnswer, NoNameservers, LifetimeTimeout, a refused socket ...
        return rec, "invalid", []
    cached = [_rdata_text(rdata) for rdata in answer]
    return rec, "valid" if _matches(rec, cached) else "invalid", cached


def _rdata_text(rdata: object) -> str:
    if isinstance(rdata, dns.rdtypes.txtbase.TXTBase):
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if isinstance(rdata, dns.rdtypes.ANY.CNAME.CNAME):
        return _host(rdata.target.to_text())
    if isinstance(rdata, dns.rdtypes.mxbase.MXBase):
        return _host(rdata.exchange.to_text())
    return str(rdata)


def _matches(rec: DnsRecord, cached: list[str]) -> bool:
    kind = rec.record_type.upper()
    if kind == "TXT":
        if _is_spf(rec.value):
            return _spf_matches(rec.value, cached)
        if _dkim_tags(rec.value) is not None and "._domainkey." in rec.name:
            return any(_dkim_matches(rec.value, seen) for seen in cached)
        return any(_collapse(seen) == _collapse(rec.value) for seen in cached)
    if kind in ("CNAME", "MX"):
        return _host(rec.value) in cached
    return any(_collapse(seen) == _collapse(rec.value) for seen in cached)


def _spf_matches(expected: str, cached: list[str]) -> bool:
    published = [seen for seen in cached if _is_spf(seen)]
    if len(published) != 1:
        return False
    seen = published[0]
    if _collapse(seen).lower() == _collapse(expected).lower():
        return True
    have = {_spf_term(term) for term in seen.split()[1:]}
    want = {_spf_term(term) for term in expected.split()[1:] if not term.endswith("all")}
    return want <= have


def _spf_term(term: str) -> str:
    # "+" is the default qualifier (RFC 7208 §4.6.2), so "+a:x" and "a:x" are the same.
    return term.lower().removeprefix("+")


def _is_spf(text: str) -> bool:
    # RFC 7208 §4.5: "v=spf1" exactly, case-insensitive, then a space or the end.
    head = text.strip().lower()
    return head == "v=spf1" or head.startswith("v=spf1 ")


def _dkim_matches(expected: str, seen: str) -> bool:
    want, have = _dkim_tags(expected), _dkim_tags(seen)
    if want is None or have is None or "p" not in have:
        return False
    if have.get("k", "rsa").lower() != want.get("k", "rsa").lower():
        return False
    return have["p"] == want.get("p")


def _dkim_tags(text: str) -> dict[str, str] | None:
    """RFC 6376 §3.2 tag-list; whitespace inside values (folded base64) is dropped."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, eq, val = part.partition("=")
        if not eq:
            return None
        tags[name.strip().lower()] = "".join(val.split())
    return tags


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _host(name: str) -> str:
    return name.strip().rstrip(".").lower()
