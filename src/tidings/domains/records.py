"""The DNS records a domain needs, and their Mailgun JSON shape (contract §12.1).

tidings is self-hosted, so the records point at this server rather than at mailgun.org:

=========  ===============================  =====================================
type       name                             value
=========  ===============================  =====================================
TXT (SPF)  ``<domain>``                     ``v=spf1 a:<hostname> ~all`` (or ip4/ip6)
TXT (DKIM) ``<selector>._domainkey.<dom>``  ``k=rsa; p=<base64 DER public key>``
CNAME      ``<web_prefix>.<domain>``        ``<hostname>`` (click and open tracking)
MX 10      ``<domain>``                     ``<hostname>`` (receiving)
=========  ===============================  =====================================
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tidings.domains.keys import dkim_txt_value

#: Mailgun's ``valid`` field: ``unknown`` until a verification has looked the record up.
Validity = Literal["valid", "unknown", "invalid"]

#: Mailgun asks for priority 10 on its receiving MX records; so do we.
MX_PRIORITY = "10"


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One record we ask the domain owner to publish."""

    record_type: str
    """``TXT``, ``CNAME`` or ``MX``."""
    name: str
    """The owner name, without a trailing dot."""
    value: str
    """The expected value: TXT text, CNAME target or MX exchange (no trailing dot)."""
    priority: str | None = None
    """MX preference as Mailgun writes it (a string); ``None`` for other types."""


def spf_value(hostname: str) -> str:
    """Our SPF policy: mail for the domain comes from this server's address.

    A host name is named with ``a:``; when the server is known only by an IP address (the
    default before ``TIDINGS_MAIL_HOSTNAME`` is set) ``ip4:``/``ip6:`` name the address
    itself, since ``a:`` takes a domain name (RFC 7208 §5.3, §5.6).
    """
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return f"v=spf1 a:{hostname} ~all"
    return f"v=spf1 ip{address.version}:{address.compressed} ~all"


def expected_records(
    domain: str,
    *,
    selector: str,
    public_key_b64: str,
    web_prefix: str,
    hostname: str,
) -> tuple[list[DnsRecord], list[DnsRecord]]:
    """The ``(sending, receiving)`` records for ``domain``, in Mailgun's order."""
    domain = _normalize(domain)
    hostname = _normalize(hostname)
    sending = [
        DnsRecord("TXT", domain, spf_value(hostname)),
        DnsRecord("TXT", f"{selector}._domainkey.{domain}", dkim_txt_value(public_key_b64)),
        DnsRecord("CNAME", f"{web_prefix}.{domain}", hostname),
    ]
    receiving = [DnsRecord("MX", domain, hostname, priority=MX_PRIORITY)]
    return sending, receiving


def render_record(
    rec: DnsRecord, *, valid: Validity = "unknown", cached: Sequence[str] = ()
) -> dict[str, Any]:
    """Mailgun's DNS record object; ``priority`` is present on MX records only."""
    out: dict[str, Any] = {
        "record_type": rec.record_type,
        "name": rec.name,
        "value": rec.value,
        "valid": valid,
        "is_active": True,
        "cached": list(cached),
    }
    if rec.record_type == "MX":
        out["priority"] = rec.priority if rec.priority is not None else MX_PRIORITY
    return out


def _normalize(name: str) -> str:
    return name.strip().rstrip(".").lower()
