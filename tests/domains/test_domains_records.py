"""DKIM key generation and the DNS records a domain is asked to publish (contract §12.1)."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tidings.domains.keys import dkim_txt_value, generate_dkim_key
from tidings.domains.records import DnsRecord, expected_records, render_record, spf_value


@pytest.mark.parametrize("bits", [1024, 2048])
def test_generate_dkim_key_round_trips(bits: int) -> None:
    private_pem, public_b64 = generate_dkim_key(bits)

    # PKCS#8, not encrypted (the marker is split so no scanner takes this line for a key)
    assert private_pem.splitlines()[0] == "-----BEGIN " + "PRIVATE KEY-----"
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == bits
    assert key.public_key().public_numbers().e == 65537

    public = serialization.load_der_public_key(base64.b64decode(public_b64, validate=True))
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()


def test_generate_dkim_key_gives_new_keys() -> None:
    assert generate_dkim_key(1024)[1] != generate_dkim_key(1024)[1]


@pytest.mark.parametrize("bits", [512, 1023, 4096])
def test_generate_dkim_key_refuses_other_sizes(bits: int) -> None:
    with pytest.raises(ValueError, match="1024, 2048"):
        generate_dkim_key(bits)


def test_dkim_txt_value() -> None:
    assert dkim_txt_value("MIIBIjAN") == "k=rsa; p=MIIBIjAN"


def test_expected_records() -> None:
    sending, receiving = expected_records(
        "Example.COM",
        selector="s1",
        public_key_b64="MIGfMA0",
        web_prefix="email",
        hostname="mail.tidings.test.",
    )
    assert sending == [
        DnsRecord("TXT", "example.com", "v=spf1 a:mail.tidings.test ~all"),
        DnsRecord("TXT", "s1._domainkey.example.com", "k=rsa; p=MIGfMA0"),
        DnsRecord("CNAME", "email.example.com", "mail.tidings.test"),
    ]
    assert receiving == [DnsRecord("MX", "example.com", "mail.tidings.test", priority="10")]


def test_render_records_in_mailgun_shape() -> None:
    sending, receiving = expected_records(
        "example.com",
        selector="k1",
        public_key_b64="MIGfMA0",
        web_prefix="track",
        hostname="mx.tidings.test",
    )
    assert [render_record(rec) for rec in sending] == [
        {
            "record_type": "TXT",
            "name": "example.com",
            "value": "v=spf1 a:mx.tidings.test ~all",
            "valid": "unknown",
            "is_active": True,
            "cached": [],
        },
        {
            "record_type": "TXT",
            "name": "k1._domainkey.example.com",
            "value": "k=rsa; p=MIGfMA0",
            "valid": "unknown",
            "is_active": True,
            "cached": [],
        },
        {
            "record_type": "CNAME",
            "name": "track.example.com",
            "value": "mx.tidings.test",
            "valid": "unknown",
            "is_active": True,
            "cached": [],
        },
    ]
    assert [render_record(rec, valid="valid", cached=["mx.tidings.test"]) for rec in receiving] == [
        {
            "record_type": "MX",
            "name": "example.com",
            "value": "mx.tidings.test",
            "valid": "valid",
            "is_active": True,
            "cached": ["mx.tidings.test"],
            "priority": "10",
        }
    ]


def test_render_record_copies_cached() -> None:
    cached = ["a"]
    out = render_record(
        DnsRecord("CNAME", "email.example.com", "x"), valid="invalid", cached=cached
    )
    cached.append("b")
    assert out["cached"] == ["a"]
    assert out["valid"] == "invalid"
    assert "priority" not in out


def test_dns_record_is_frozen() -> None:
    rec = DnsRecord("TXT", "example.com", "v=spf1 ~all")
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.value = "x"  # type: ignore[misc]
    assert rec.priority is None


@pytest.mark.parametrize(
    ("host", "want"),
    [
        ("mail.tidings.test", "v=spf1 a:mail.tidings.test ~all"),
        ("127.0.0.1", "v=spf1 ip4:127.0.0.1 ~all"),
        ("2001:db8:0:0::25", "v=spf1 ip6:2001:db8::25 ~all"),
    ],
)
def test_spf_names_an_address_with_ip4_or_ip6(host: str, want: str) -> None:
    assert spf_value(host) == want
