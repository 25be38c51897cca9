"""A small authoritative DNS server on 127.0.0.1 for tests (UDP and TCP, port 0).

    async with DnsStub() as dns:
        dns.add("example.com", "MX", "10 mx.example.com")
        dns.add("mx.example.com", "A", "127.0.0.1")
        resolver.nameservers = [dns.address]; resolver.port = dns.port  # or dns.nameservers

Answers come from the table built with ``add``: unknown names get NXDOMAIN, known names
asked for a type they lack get NOERROR with an empty answer, and CNAMEs are followed within
the table as a real server would. TXT values are given as plain text and split into 255-byte
character-strings, so long DKIM keys arrive in chunks as they do from real servers. A UDP
answer that does not fit the client's buffer is sent truncated (TC), and the client retries
over TCP on the same port; ``force_tcp=True`` truncates every UDP answer to test that path.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from types import TracebackType
from typing import Self, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

HOST = "127.0.0.1"
_MAX_CNAME_HOPS = 8
_CHUNK = 255  # RFC 1035 §3.3: a <character-string> holds at most 255 bytes


class DnsStub:
    """A table-driven DNS server; see the module docstring."""

    def __init__(self, *, ttl: int = 300, force_tcp: bool = False) -> None:
        self.ttl = ttl
        self.force_tcp = force_tcp
        self.queries: list[tuple[str, str, str]] = []
        """``(name, type, "udp"|"tcp")`` of every question received, in order."""
        self._rrsets: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rrset.RRset] = {}
        self._names: set[dns.name.Name] = set()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._port = 0

    # -- the table --------------------------------------------------------------------------

    def add(self, name: str, rdtype: str, *values: str) -> None:
        """Add records: ``add("example.com", "MX", "10 mx1.example.com", "20 mx2.example.com")``.

        Values are in zone-file form, relative names being taken as absolute, except TXT
        values, which are the plain text (no quotes) and are split into 255-byte chunks.
        """
        owner = dns.name.from_text(name)
        kind = dns.rdatatype.from_text(rdtype)
        key = (owner, kind)
        rrset = self._rrsets.get(key)
        if rrset is None:
            rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, kind)
            self._rrsets[key] = rrset
        for value in values:
            rrset.add(self._rdata(kind, value), self.ttl)
        self._names.add(owner)

    def clear(self) -> None:
        """Forget every record (and the query log)."""
        self._rrsets.clear()
        self._names.clear()
        self.queries.clear()

    @staticmethod
    def _rdata(kind: dns.rdatatype.RdataType, value: str) -> dns.rdata.Rdata:
        if kind == dns.rdatatype.TXT:
            raw = value.encode("utf-8")
            chunks = [raw[i : i + _CHUNK] for i in range(0, len(raw), _CHUNK)] or [b""]
            return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, kind, chunks)
        return dns.rdata.from_text(
            dns.rdataclass.IN, kind, value, origin=dns.name.root, relativize=False
        )

    # -- where it listens -------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("DnsStub is not running; use it as `async with DnsStub() as dns`")
        return self._port

    @property
    def address(self) -> str:
        return HOST

    @property
    def nameservers(self) -> list[tuple[str, int]]:
        """The ``(address, port)`` list that ``tidings.domains.verify`` takes."""
        return [(HOST, self.port)]

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        # Bind UDP to a free port, then TCP to the same number; in the rare case that the
        # TCP port is taken, start over with a new UDP port.
        for _ in range(20):
            udp, _proto = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(HOST, 0)
            )
            port = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(self._serve_tcp, HOST, port)
            except OSError:
                udp.close()
                continue
            self._udp, self._tcp, self._port = udp, tcp, port
            return self
        raise RuntimeError("DnsStub could not bind a UDP and TCP port pair")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()
        self._udp = self._tcp = None
        self._port = 0

    # -- answering --------------------------------------------------------------------------

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        """The wire reply to one query, or ``None`` to drop garbage silently."""
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        self.queries.append(
            (
                question.name.to_text(omit_final_dot=True),
                dns.rdatatype.to_text(question.rdtype),
                transport,
            )
        )
        response.set_rcode(self._fill(response, question.name, question.rdtype))
        if transport == "tcp":
            return response.to_wire()
        limit = max(512, query.payload) if query.edns >= 0 else 512
        if self.force_tcp and response.answer:
            response.answer.clear()
            response.flags |= dns.flags.TC
        return response.to_wire(max_size=limit, prefer_truncation=True)

    def _fill(
        self, response: dns.message.Message, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> dns.rcode.Rcode:
        name = qname
        for _ in range(_MAX_CNAME_HOPS):
            if name not in self._names:
                # An NXDOMAIN at the end of a CNAME chain is still NXDOMAIN (RFC 6604).
                return dns.rcode.NXDOMAIN
            exact = self._rrsets.get((name, qtype))
            if exact is not None:
                response.answer.append(exact)
                return dns.rcode.NOERROR
            cname = self._rrsets.get((name, dns.rdatatype.CNAME))
            if cname is None or qtype == dns.rdatatype.CNAME:
                return dns.rcode.NOERROR
            response.answer.append(cname)
            name = next(iter(cname)).target
        return dns.rcode.SERVFAIL

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    wire = await reader.readexactly(length)
                except asyncio.IncompleteReadError:
                    return
                reply = self.answer(wire, "tcp")
                if reply is None:
                    return
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, stub: DnsStub) -> None:
        self.stub = stub
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not isinstance(): on 3.11 the selector loop's UDP transport does not subclass
        # DatagramTransport, though it has its methods.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        reply = self.stub.answer(data, "udp")
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
