"""Settings are checked when they are read: a bad value is refused with its reason."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tidings.config import Settings, split_hostport


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("http_listen", "127.0.0.1:notaport", "port must be a number"),
        ("http_listen", "127.0.0.1:99999", "port must be a number"),
        ("smtp_listen", "127.0.0.1:-1", "port must be a number"),
        ("inbound_listen", "bad host:25", "must not hold spaces"),
        ("public_url", "notaurl", "absolute http(s) URL"),
        ("public_url", "ftp://mail.example.com", "absolute http(s) URL"),
        ("public_url", "https://mail.example.com:99999", "absolute http(s) URL"),
        ("public_url", "https://mail.example.com/?x=1", "query or fragment"),
        ("mail_hostname", "bad host!", "host name"),
        ("mail_hostname", "-x.example.com", "host name"),
        ("dns_nameservers", "notahost", "not a valid resolver"),
    ],
)
def test_bad_settings_are_refused(field: str, value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        Settings(**{field: value})  # type: ignore[arg-type]
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("http_listen", "0.0.0.0:8080"),
        ("http_listen", "[::1]:0"),
        ("public_url", "https://mail.example.com:8443/base/"),
        ("public_url", ""),
        ("mail_hostname", "mail.example.com"),
        ("mail_hostname", "192.0.2.7"),
        ("dns_nameservers", "127.0.0.1:5353, [::1]:53"),
    ],
)
def test_good_settings_are_kept(field: str, value: str) -> None:
    assert getattr(Settings(**{field: value}), field) == value  # type: ignore[arg-type]


def test_split_hostport() -> None:
    assert split_hostport("[::1]:80", 1) == ("::1", 80)
    assert split_hostport("example.com", 25) == ("example.com", 25)
    assert split_hostport(":9000", 1) == ("127.0.0.1", 9000)
