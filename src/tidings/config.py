"""The one settings schema. Every field has a default and a description.

Settings come from ``TIDINGS_*`` environment variables and from ``.env``. Secrets are
``SecretStr`` so that they never show in a repr or a log line.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tidings.core.vocab import DeliveryMode

Role = Literal["api", "tracking", "smtp", "worker", "all"]
ROLES_AVAILABLE: tuple[Role, ...] = ("api", "worker", "all")
"""Roles this build serves; ``tracking`` and ``smtp`` arrive with their features."""


def split_hostport(value: str, default_port: int) -> tuple[str, int]:
    """``"127.0.0.1:8080"`` -> ``("127.0.0.1", 8080)``; ``"[::1]:80"`` works too.

    ``ValueError`` when the port is not a number from 0 to 65535 or the host holds spaces."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            host, port = value, ""
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise ValueError("the port must be a number from 0 to 65535")
    if any(c.isspace() for c in host):
        raise ValueError("the host must not hold spaces")
    return host or "127.0.0.1", int(port) if port else default_port


# A host name of letters, digits and inner hyphens, or an IPv4 or bracket-less IPv6 address.
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*"
)


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return _HOSTNAME.fullmatch(value.rstrip(".")) is not None
    return True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TIDINGS_", env_file=".env", extra="ignore", validate_default=True
    )

    database_url: str = Field(
        "sqlite+aiosqlite:///./var/tidings.db",
        description="SQLAlchemy URL of the store: SQLite (embedded) or postgresql+asyncpg://...",
    )
    http_listen: str = Field(
        "127.0.0.1:8080", description="host:port of the HTTP API (tracking under /t/)."
    )
    http_workers: int = Field(
        1,
        ge=1,
        le=64,
        description="HTTP server processes (each also runs a delivery worker with role all). "
        "More than one uses more cores; they share the store.",
    )
    role: Role = Field("all", description="What `tidings serve` runs: api, worker or all.")
    public_url: str = Field(
        "",
        description="Absolute base URL clients reach us at; paging URLs and storage.url use it. "
        "Empty: derived from http_listen.",
    )
    smtp_listen: str = Field("127.0.0.1:2587", description="SMTP submission listener.")
    inbound_listen: str = Field("127.0.0.1:2525", description="Inbound bounce/complaint listener.")
    delivery_mode: DeliveryMode = Field(
        DeliveryMode.CAPTURE, description="capture (local inbox), mx or smarthost."
    )
    smarthost: str = Field("", description="host:port of the smart host (delivery_mode=smarthost).")
    smarthost_user: str = Field("", description="Smart host SMTP user.")
    smarthost_password: SecretStr = Field(SecretStr(""), description="Smart host SMTP password.")
    smarthost_tls: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="TLS mode towards the smart host."
    )
    webhooks_allow_private_targets: bool = Field(
        False, description="Allow webhook URLs that resolve to private or loopback addresses."
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated CIDRs whose X-Forwarded-For is believed."
    )
    message_ttl: int = Field(
        3 * 86400, description="Seconds a sent message stays retrievable at its storage.url."
    )
    events_retention_days: int = Field(30, description="Days events are kept.")
    max_message_bytes: int = Field(
        25 * 1024 * 1024, description="Largest message accepted (Mailgun: 25 MB)."
    )
    max_recipients: int = Field(1000, description="Most recipients per send (Mailgun: 1,000).")
    max_schedule_days: int = Field(7, description="How far ahead o:deliverytime may schedule.")
    mail_hostname: str = Field(
        "", description="Host name of this mail server (SPF, MX records). Empty: from public_url."
    )
    dkim_selector: str = Field("s1", description="DKIM selector for new domains.")
    dkim_key_bits: int = Field(2048, description="RSA size of new DKIM keys (1024 or 2048).")
    dns_nameservers: str = Field(
        "", description="Comma-separated IP[:port] resolvers for DNS checks; empty: system."
    )
    worker_concurrency: int = Field(64, description="Deliveries a worker process runs at once.")
    worker_poll_seconds: float = Field(0.5, description="Idle poll interval of workers.")
    worker_busy_rate: int = Field(
        200,
        ge=0,
        description="Deliveries a role-all process starts per second while its HTTP API is "
        "busy (requests waiting), so bursts are accepted first and delivered behind; "
        "0: no pacing.",
    )
    lease_seconds: int = Field(300, description="How long a leased job stays claimed.")
    commit_window_ms: float = Field(
        2.0, description="Group commit: longest wait to fill a batch, in milliseconds."
    )
    commit_max_rows: int = Field(500, description="Group commit: most units in one batch.")
    log_level: str = Field("INFO", description="Python logging level.")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        level = v.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("log_level must be one of debug, info, warning, error, critical")
        return level

    @field_validator("http_listen", "smtp_listen", "inbound_listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        split_hostport(v, 0)  # raises with the reason
        return v.strip()

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        v = v.strip()
        if not v:
            return v
        try:
            parts = urlsplit(v)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise ValueError("public_url must be an absolute http(s) URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "public_url must be an absolute http(s) URL, e.g. https://mail.example.com"
            )
        if parts.query or parts.fragment:
            raise ValueError("public_url must not have a query or fragment")
        return v

    @field_validator("mail_hostname")
    @classmethod
    def _mail_hostname(cls, v: str) -> str:
        v = v.strip()
        if v and not _is_host(v):
            raise ValueError("mail_hostname must be a host name such as mail.example.com")
        return v

    @field_validator("dns_nameservers")
    @classmethod
    def _nameservers(cls, v: str) -> str:
        if v.strip():  # imported only then: dnspython costs every process memory
            from tidings.domains.verify import parse_nameservers

            parse_nameservers(v)  # raises with the reason
        return v

    @field_validator("dkim_key_bits")
    @classmethod
    def _key_bits(cls, v: int) -> int:
        if v not in (1024, 2048):
            raise ValueError("dkim_key_bits must be 1024 or 2048")
        return v

    @property
    def base_url(self) -> str:
        """The public base URL without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host, port = split_hostport(self.http_listen, 8080)
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def hostname(self) -> str:
        if self.mail_hostname:
            return self.mail_hostname
        return urlsplit(self.base_url).hostname or "localhost"
