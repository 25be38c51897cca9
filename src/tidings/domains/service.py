"""Domain operations shared by the API and the CLI: add (with a DKIM key), describe, verify."""

from __future__ import annotations

import re
from email.utils import formatdate
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.config import Settings
from tidings.core.vocab import DomainState
from tidings.domains.records import DnsRecord, Validity, expected_records, render_record
from tidings.errors import BadRequest
from tidings.store.repos import domains as repo
from tidings.store.repos.domains import Domain

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def validate_name(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        raise BadRequest(f"'{name}' is not a valid domain name")
    if labels[-1].isdigit():  # 127.0.0.1: an address, not a name mail can be sent from
        raise BadRequest(f"'{name}' is not a valid domain name")
    return name


async def add(
    conn: AsyncConnection, settings: Settings, name: str, options: dict[str, Any] | None = None
) -> Domain:
    """Create ``name`` with a fresh DKIM key; a 400 when it exists (Mailgun documents no
    409 for domain creation: 200, 400 and 401 only)."""
    name = validate_name(name)
    if await repo.get_by_name(conn, name=name) is not None:
        raise BadRequest(f"Domain {name} already exists", domain=name)
    opts = dict(options or {})
    bits = int(opts.pop("dkim_key_size", settings.dkim_key_bits))
    selector = str(opts.pop("dkim_selector", "") or settings.dkim_selector)
    # Imported here: server processes that never add a domain need not load cryptography.
    from tidings.domains.keys import generate_dkim_key

    private_pem, public_b64 = generate_dkim_key(bits)
    return await repo.create(
        conn,
        name=name,
        dkim_selector=selector,
        dkim_private_key=private_pem,
        dkim_public_key=public_b64,
        message_ttl=int(opts.pop("message_ttl", settings.message_ttl)),
        options=opts,
    )


def records(domain: Domain, settings: Settings) -> tuple[list[DnsRecord], list[DnsRecord]]:
    return expected_records(
        domain.name,
        selector=domain.dkim_selector,
        public_key_b64=domain.dkim_public_key,
        web_prefix=domain.web_prefix,
        hostname=settings.hostname,
    )


def describe(domain: Domain, settings: Settings) -> dict[str, Any]:
    """Mailgun's domain object."""
    return {
        "id": f"{domain.id:024x}",
        "name": domain.name,
        "created_at": formatdate(domain.created_us / 1_000_000, usegmt=True),
        "state": domain.state,
        "type": domain.type,
        "is_disabled": domain.state == DomainState.DISABLED.value,
        "require_tls": domain.require_tls,
        "skip_verification": domain.skip_verification,
        "smtp_login": f"postmaster@{domain.name}",
        "spam_action": domain.spam_action,
        "wildcard": domain.wildcard,
        "web_prefix": domain.web_prefix,
        "web_scheme": domain.web_scheme,
        "use_automatic_sender_security": False,
        "encrypt_incoming_message": False,
        "message_ttl": domain.message_ttl,
    }


def full(
    domain: Domain,
    settings: Settings,
    checked: dict[tuple[str, str], tuple[Validity, list[str]]] | None = None,
) -> dict[str, Any]:
    """The domain with its ``sending_dns_records`` and ``receiving_dns_records``."""
    sending, receiving = records(domain, settings)
    seen = checked or {}

    def show(rec: DnsRecord) -> dict[str, Any]:
        valid, cached = seen.get((rec.record_type, rec.name), ("unknown", []))
        return render_record(rec, valid=valid, cached=cached)

    return {
        "domain": describe(domain, settings),
        "receiving_dns_records": [show(r) for r in receiving],
        "sending_dns_records": [show(r) for r in sending],
    }


async def verify(
    domain: Domain, settings: Settings
) -> tuple[str, dict[tuple[str, str], tuple[Validity, list[str]]]]:
    """Look the records up; the new state is ``active`` when every sending record is valid."""
    from tidings.domains.verify import check_records, parse_nameservers  # dnspython: on demand

    sending, receiving = records(domain, settings)
    results = await check_records(
        sending + receiving, nameservers=parse_nameservers(settings.dns_nameservers)
    )
    seen = {
        (rec.record_type, rec.name): (cast(Validity, valid), cached)
        for rec, valid, cached in results
    }
    # SPF and DKIM decide; the tracking CNAME is optional, as on Mailgun.
    ok = all(seen[(r.record_type, r.name)][0] == "valid" for r in sending if r.record_type == "TXT")
    state = DomainState.ACTIVE.value if ok else DomainState.UNVERIFIED.value
    return state, seen
