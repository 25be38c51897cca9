"""A realistic event log for the Events API benchmark, and loading it into a store.

One domain sends a Ghost-style newsletter (one message per member, tags ``bulk-email`` and
``ghost-email``) to ~50,000 members every ~9 hours for three days, plus transactional mail
(sign-in links, tag ``ghost-email`` only). Every message is ``accepted``; then ``delivered``,
``failed`` (permanent 5.1.1 bounces; temporary 4.x.x deferrals followed by delivery), and for
delivered mail ``opened`` (some more than once), ``clicked``, ``unsubscribed`` and
``complained``. Payloads come from ``tidings.events.render`` (accepted, delivered, failed) or
follow Mailgun's shape for the tracking events; rows from ``render.row``.

The SQLite store is built once per version into ``bench/out/`` (gitignored) and reused;
PostgreSQL is loaded from that file with COPY into a fresh database on every run.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from bench.common import DOMAIN, OUT, cli, server_env, sqlite_url
from tidings.core import ids
from tidings.core.vocab import EventType, Reason, Severity
from tidings.events import render
from tidings.store.tables import events

LOADER_VERSION = "2"  # 2: filter indexes end with (ts_us, id)
"""Bump when the generated data changes, so the cached SQLite file is rebuilt."""

RECIPIENTS = 50_000
DAYS = 3
SEED = 20261124
COLUMNS = [c.name for c in events.columns]

_FIRST = ["ana", "ben", "chloe", "dev", "emma", "felix", "grace", "hugo", "ines", "jon", "kai"]
_LAST = ["smith", "garcia", "müller", "rossi", "kim", "nguyen", "dubois", "silva", "olsen"]
_MAILDOMAINS = [
    ("gmail.com", 40),
    ("yahoo.com", 10),
    ("outlook.com", 10),
    ("hotmail.com", 6),
    ("icloud.com", 10),
    ("proton.me", 4),
    ("gmx.de", 5),
    ("fastmail.com", 3),
    ("example.org", 12),
]
_WEIGHTS = sum(w for _, w in _MAILDOMAINS)
_AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
     "browser", "Windows", "desktop", "Chrome", ""),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
     "mobile browser", "iOS", "mobile", "Mobile Safari", ""),
    ("Mozilla/5.0", "browser", "unknown", "unknown", "unknown", "apple"),
    ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
     "browser", "Windows", "desktop", "Firefox", "gmail"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari",
     "browser", "OS X", "desktop", "Safari", ""),
]  # fmt: skip
_GEO = [
    {"country": "US", "region": "CA", "city": "San Francisco"},
    {"country": "DE", "region": "BE", "city": "Berlin"},
    {"country": "GB", "region": "ENG", "city": "London"},
    {"country": "FR", "region": "IDF", "city": "Paris"},
    {"country": "BR", "region": "SP", "city": "São Paulo"},
    {"country": "Unknown", "region": "Unknown", "city": "Unknown"},
]


def recipient(i: int) -> str:
    """Member ``i``'s address (deterministic, so the benchmark can ask for any of them)."""
    pick = (i * 7919) % _WEIGHTS
    host = _MAILDOMAINS[-1][0]
    for name, w in _MAILDOMAINS:
        if pick < w:
            host = name
            break
        pick -= w
    return f"{_FIRST[i % len(_FIRST)]}.{_LAST[(i // 11) % len(_LAST)]}{i}@{host}"


def schema_version() -> str:
    """A short hash of the migrations, so a schema change rebuilds the cache."""
    from tidings.store import migrations

    h = hashlib.sha256()
    for path in sorted(Path(migrations.__file__).parent.glob("versions/*.py")):
        h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:10]


@dataclass
class Dataset:
    """Facts about a generated log the queries need: its time range and sample ids."""

    count: int
    t_start: float
    t_end: float
    message_ids: list[str]
    recipients: int = RECIPIENTS

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__))

    @classmethod
    def load(cls, path: Path) -> Dataset:
        return cls(**json.loads(path.read_text()))


class _Gen:
    def __init__(self, domain_id: int, t_end: float, base_url: str, recipients: int) -> None:
        self.rng = random.Random(SEED)
        self.recipients = recipients
        self.domain_id = domain_id
        self.t_end = t_end
        self.base_url = base_url
        self.sample_ids: list[str] = []

    def _msg(self, rcpt: str, ts: float, subject: str, tags: list[str], uvars: dict[str, Any]):
        mid = f"{time.strftime('%Y%m%d%H%M%S', time.gmtime(ts))}.{self.rng.getrandbits(64):016x}"
        mid = f"{mid}@{DOMAIN}"
        key = ids.storage_key()
        msg = {
            "headers": {
                "to": rcpt,
                "message-id": mid,
                "from": f"Bench Weekly <newsletter@{DOMAIN}>",
                "subject": subject,
            },
            "attachments": [],
            "size": 18_000 + self.rng.randrange(8_000),
            "recipients": [rcpt],
            "tags": tags,
            "user-variables": uvars,
            "flags": {"is-test-mode": False},
            "envelope-sender": f"bounce+{key[:12]}@{DOMAIN}",
            "method": "http",
            "storage": {"url": f"{self.base_url}/v3/domains/{DOMAIN}/messages/{key}", "key": key},
        }
        return mid, msg

    def _status(self, code: int, message: str, attempt: int, mx: str) -> dict[str, Any]:
        return {
            "tls": True,
            "mx-host": mx,
            "code": code,
            "description": "",
            "session-seconds": round(self.rng.uniform(0.2, 3.0), 6),
            "utf8": True,
            "attempt-no": attempt,
            "message": message,
            "certificate-verified": True,
        }

    def _tracking(self, kind: str, ts: float, msg: dict[str, Any], rcpt: str) -> dict[str, Any]:
        ua, ctype, cos, dev, cname, bot = self.rng.choice(_AGENTS)
        out: dict[str, Any] = {
            "event": kind,
            "id": ids.event_id(),
            "timestamp": ts,
            "log-level": "warn" if kind == "complained" else "info",
            "recipient": rcpt,
            "recipient-domain": rcpt.rpartition("@")[2],
            "campaigns": [],
            "tags": list(msg["tags"]),
            "user-variables": dict(msg["user-variables"]),
            "message": {"headers": {"message-id": msg["headers"]["message-id"]}},
        }
        if kind != "complained":
            out["ip"] = f"203.0.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"
            out["geolocation"] = dict(self.rng.choice(_GEO))
            out["client-info"] = {
                "client-type": ctype,
                "client-os": cos,
                "device-type": dev,
                "client-name": cname,
                "user-agent": ua,
                "bot": bot,
            }
        if kind == "clicked":
            out["url"] = f"https://example.com/posts/{self.rng.randrange(40)}"
        return out

    def message_events(
        self, rcpt: str, ts: float, subject: str, tags: list[str], uvars: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """Payloads of one message's life, in time order, up to ``t_end``."""
        rng = self.rng
        mid, msg = self._msg(rcpt, ts, subject, tags, uvars)
        if rng.random() < 0.002:
            self.sample_ids.append(mid)
        dlv: dict[str, Any] = {}
        mx = f"mx.{rcpt.rpartition('@')[2]}"
        yield render.accepted(ts=ts, msg=msg, dlv=dlv, recipient=rcpt)
        r = rng.random()
        t = ts + rng.uniform(0.3, 20.0)
        if r < 0.015:
            status = self._status(550, "5.1.1 The email account does not exist", 1, mx)
            yield render.failed(
                ts=t, msg=msg, dlv=dlv, recipient=rcpt, status=status,
                severity=Severity.PERMANENT, reason=Reason.BOUNCE, sending_ip="127.0.0.1",
            )  # fmt: skip
            return
        attempt = 1
        if r < 0.035:
            status = self._status(421, "4.7.0 Try again later", 1, mx)
            yield render.failed(
                ts=t, msg=msg, dlv=dlv, recipient=rcpt, status=status,
                severity=Severity.TEMPORARY, reason=Reason.GREYLISTED, sending_ip="127.0.0.1",
            )  # fmt: skip
            t += rng.uniform(300, 1800)
            attempt = 2
        status = self._status(250, "OK", attempt, mx)
        yield render.delivered(
            ts=t, msg=msg, dlv=dlv, recipient=rcpt, status=status, sending_ip="127.0.0.1"
        )
        if rng.random() < 0.45:
            opens = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
            t_open = t
            for _ in range(opens):
                t_open += min(rng.expovariate(1 / 7200), 86400.0)
                yield self._tracking(EventType.OPENED.value, t_open, msg, rcpt)
            if rng.random() < 0.13:
                yield self._tracking(EventType.CLICKED.value, t_open + 20, msg, rcpt)
            if rng.random() < 0.009:
                yield self._tracking(EventType.UNSUBSCRIBED.value, t_open + 40, msg, rcpt)
        if rng.random() < 0.0008:
            yield self._tracking(EventType.COMPLAINED.value, t + rng.uniform(600, 36000), msg, rcpt)

    def batches(self, n: int, t_start: float) -> Iterator[list[dict[str, Any]]]:
        """Lists of rows (each sorted by time) until ``n`` rows are made."""
        per_newsletter = self.recipients * 2.66 * 1.06
        newsletters = max(1, math.ceil(n / per_newsletter))
        spacing = (self.t_end - t_start - 3 * 3600) / newsletters
        made = 0
        issue = 0
        while made < n:
            t0 = t_start + issue * spacing
            rows: list[dict[str, Any]] = []
            subject = f"Bench Weekly: issue {issue + 1}"
            uvars = {"email-id": f"65f1c0ffee{issue:014d}"}
            for i in range(self.recipients):
                ts = t0 + i * 0.02 + self.rng.random() * 0.01  # 50 sends a second
                for p in self.message_events(
                    recipient(i), ts, subject, ["bulk-email", "ghost-email"], uvars
                ):
                    if p["timestamp"] <= self.t_end:
                        rows.append(render.row(self.domain_id, p))
            for _ in range(self.recipients // 20):  # sign-in links and welcome mail
                ts = t0 + self.rng.uniform(0, spacing)
                rcpt = recipient(self.rng.randrange(self.recipients))
                for p in self.message_events(rcpt, ts, "Secure sign in link", ["ghost-email"], {}):
                    if p["timestamp"] <= self.t_end:
                        rows.append(render.row(self.domain_id, p))
            rows.sort(key=lambda row: (row["ts_us"], row["id"]))
            rows = rows[: n - made]
            if not rows:  # past the end of the range: fewer events than asked for
                return
            made += len(rows)
            issue += 1
            yield rows


def _domain_id_sqlite(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT id FROM domains WHERE name = ?", (DOMAIN,)).fetchone()
    finally:
        db.close()
    return int(row[0])


def sqlite_cache(n: int, *, rebuild: bool = False) -> tuple[Path, Dataset]:
    """The cached SQLite store with ``n`` events (built when missing); its dataset facts."""
    name = f"events-v{LOADER_VERSION}-{schema_version()}-{n}"
    path = OUT / f"{name}.db"
    meta = OUT / f"{name}.json"
    if path.exists() and meta.exists() and not rebuild:
        print(f"  using the cached SQLite store {path.relative_to(OUT.parent.parent)}")
        return path, Dataset.load(meta)
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in OUT.glob(f"events-v*-{n}.*"):  # other versions of this size: 1.4 GB each
        stale.unlink()
    tmp = OUT / f"{name}.building.db"
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    env = server_env(sqlite_url(tmp), 1)
    cli(env, "migrate")
    cli(env, "domain", "add", DOMAIN)
    domain_id = _domain_id_sqlite(tmp)
    started = time.monotonic()
    t_end = float(int(time.time()))
    t_start = t_end - DAYS * 86400
    # ~8 newsletters to every member over the three days, whatever the size asked for.
    members = max(500, min(RECIPIENTS, n // 20))
    gen = _Gen(domain_id, t_end, "http://127.0.0.1:8080", members)
    engine = create_engine(f"sqlite:///{tmp}")
    made = 0
    with engine.connect() as conn:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
        # Secondary indexes are built once at the end: the same indexes, far faster.
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND tbl_name = 'events' AND sql IS NOT NULL"
        ).all()
        for ix_name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{ix_name}"')
        conn.commit()
        for rows in gen.batches(n, t_start):
            conn.execute(events.insert(), rows)
            conn.commit()
            made += len(rows)
            print(f"  generated and stored {made:,} events ({time.monotonic() - started:.0f} s)")
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
        conn.commit()
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    engine.dispose()
    dataset = Dataset(made, t_start, t_end, gen.sample_ids, members)
    tmp.rename(path)
    dataset.dump(meta)
    print(f"  built {path.name}: {made:,} events in {time.monotonic() - started:.0f} s")
    return path, dataset


async def copy_to_postgres(source: Path, url: str) -> float:
    """COPY every event of the SQLite store ``source`` into the migrated PostgreSQL ``url``."""
    import asyncpg
    from sqlalchemy.engine import make_url

    started = time.monotonic()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        domain_id = await conn.fetchval("SELECT id FROM domains WHERE name = $1", DOMAIN)
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        for ix in indexes:
            await conn.execute(f'DROP INDEX "{ix["indexname"]}"')
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            cur = src.execute(f"SELECT {', '.join(COLUMNS)} FROM events")
            d = COLUMNS.index("domain_id")
            while True:
                chunk = cur.fetchmany(50_000)
                if not chunk:
                    break
                records = [(*r[:d], domain_id, *r[d + 1 :]) for r in chunk]
                await conn.copy_records_to_table("events", records=records, columns=COLUMNS)
        finally:
            src.close()
        for ix in indexes:
            await conn.execute(ix["indexdef"])
        # What autovacuum does shortly after a bulk load; done now so the planner is not blind.
        await conn.execute("ANALYZE events")
    finally:
        await conn.close()
    return time.monotonic() - started
