"""DKIM key pairs for new domains, and the TXT value that publishes the public half.

The private key is kept as an unencrypted PKCS#8 PEM (it lives in our store, next to the
domain, and the signer loads it with ``cryptography``). The public half is published in DNS
as the base64 of its DER ``SubjectPublicKeyInfo``, which is what RFC 6376 §3.6.1 calls the
``p=`` tag and what every DKIM verifier expects.
"""

from __future__ import annotations

import base64

#: The RSA sizes we hand out; Mailgun offers the same two (``dkim_key_size``).
KEY_SIZES = (1024, 2048)

# RFC 8017 recommends 65537, and some verifiers refuse anything else.
_PUBLIC_EXPONENT = 65537


def generate_dkim_key(bits: int) -> tuple[str, str]:
    """Make a new RSA key of ``bits`` bits.

    Returns ``(private_pem, public_b64)``: the private key as PKCS#8 PEM without a
    passphrase, and the public key as base64 DER ``SubjectPublicKeyInfo`` (the ``p=`` value).
    """
    if bits not in KEY_SIZES:
        raise ValueError(f"DKIM key size must be one of {KEY_SIZES}, not {bits}")
    # Imported here: ``cryptography`` adds about 11 MB to a process, and a server process
    # that never adds a domain never needs it (this module is loaded for ``dkim_txt_value``).
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=_PUBLIC_EXPONENT, key_size=bits)
    private_pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")
    public_der = key.public_key().public_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return private_pem, base64.b64encode(public_der).decode("ascii")


def dkim_txt_value(public_b64: str) -> str:
    """The TXT value to publish at ``<selector>._domainkey.<domain>`` (Mailgun's spelling)."""
    return f"k=rsa; p={public_b64}"
