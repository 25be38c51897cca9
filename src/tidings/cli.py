"""Thin commands: migrate, serve, domain add, key create, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import subprocess
import sys
from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError

from tidings.config import ROLES_AVAILABLE, Role, Settings, split_hostport
from tidings.core.vocab import DeliveryMode, KeyKind, KeyRole
from tidings.errors import TidingsError
from tidings.supervise import FD_ENV

DEMO_DOMAIN = "demo.tidings.test"


def _settings(*, migrated: bool = False) -> Settings:
    """The settings; with ``migrated`` an embedded SQLite store is brought up to date first."""
    settings = Settings()
    logging.getLogger().setLevel(settings.log_level)
    if migrated and settings.is_sqlite:
        from tidings.store.migrations import migrate

        migrate(settings.database_url)
    return settings


def cmd_migrate(args: argparse.Namespace) -> int:
    from tidings.store.migrations import migrate

    migrate(_settings().database_url)
    print("database is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.role:
        os.environ["TIDINGS_ROLE"] = args.role
    if args.workers is not None:
        os.environ["TIDINGS_HTTP_WORKERS"] = str(args.workers)
    settings = _settings()
    role: Role = settings.role
    if role not in ROLES_AVAILABLE:
        print(
            f"tidings: role {role!r} is not available in this build yet "
            f"(available: {', '.join(ROLES_AVAILABLE)})",
            file=sys.stderr,
        )
        return 2
    if settings.delivery_mode is not DeliveryMode.CAPTURE:
        print(
            f"tidings: delivery mode {settings.delivery_mode.value!r} is not available in this "
            "build yet (available: capture)",
            file=sys.stderr,
        )
        return 2
    n = settings.http_workers
    # A server process started by ``tidings.supervise`` serves the socket it was handed.
    inherited = os.environ.pop(FD_ENV, None)
    if settings.is_sqlite and inherited is None:
        # In its own process: a supervisor of several server processes stays small.
        subprocess.run(
            [sys.executable, "-m", "tidings", "migrate"], check=True, stdout=subprocess.DEVNULL
        )
    if role == "worker":
        from tidings.runtime import (
            Runtime,
            freeze_heap,
            stop_signals,
            tune_process,
            until_signalled,
        )

        tune_process()
        runtime = Runtime(settings, role)
        freeze_heap()

        async def work() -> None:
            async with runtime:
                stop = stop_signals()
                print(
                    f"tidings delivering (role worker, {settings.delivery_mode.value})", flush=True
                )
                await until_signalled(stop)

        asyncio.run(work())
        return 0
    host, port = split_hostport(settings.http_listen, 8080)
    if inherited is None:
        print(
            f"tidings serving the Mailgun API at {settings.base_url} (role {role}, "
            f"{n} process{'es' if n > 1 else ''})",
            flush=True,
        )
    if n > 1 and inherited is None:
        # Each process builds its own runtime (engine, group committer, worker) from the env;
        # a small standard-library parent holds the socket and watches them.
        argv = [sys.executable, "-m", "tidings.supervise", host, str(port), str(n)]
        os.execv(sys.executable, argv)
    from tidings.runtime import Runtime, freeze_heap, tune_process

    tune_process()
    config = uvicorn.Config(
        Runtime(settings, role).asgi(),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    config.load()  # imports uvicorn's protocol modules now, before the heap is frozen
    freeze_heap()
    if inherited is None:
        server.run()
    else:
        server.run(sockets=[socket.socket(fileno=int(inherited))])
    return 0


async def _add_domain(settings: Settings, name: str) -> tuple[Any, bool]:
    from tidings.domains import service
    from tidings.store.engine import make_engine
    from tidings.store.repos import domains as repo

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            existing = await repo.get_by_name(conn, name=service.validate_name(name))
            if existing is not None:
                return existing, False
            return await service.add(conn, settings, name), True
    finally:
        await engine.dispose()


def _print_records(settings: Settings, domain: Any) -> None:
    from tidings.domains import service

    sending, receiving = service.records(domain, settings)
    print("DNS records to set:")
    for rec in sending + receiving:
        prio = f" {rec.priority}" if rec.priority else ""
        print(f"  {rec.name}\t{rec.record_type}{prio}\t{rec.value}")
    if _is_address(settings.hostname):
        print(
            f"note: this server is known by an address ({settings.hostname}); MX and CNAME "
            "records must name a host, so set TIDINGS_MAIL_HOSTNAME (or TIDINGS_PUBLIC_URL) "
            "to its DNS name before publishing them"
        )


def _is_address(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def cmd_domain_add(args: argparse.Namespace) -> int:
    settings = _settings(migrated=True)
    domain, created = asyncio.run(_add_domain(settings, args.name))
    print(f"domain {domain.name} {'created' if created else 'already exists'}")
    _print_records(settings, domain)
    return 0


async def _create_key(
    settings: Settings, domain_name: str | None, description: str
) -> tuple[str, str | None]:
    """A new key's secret, and the name of the domain it may send for (None: account key)."""
    from tidings.domains.service import validate_name
    from tidings.store.engine import make_engine
    from tidings.store.repos import domains as domain_repo
    from tidings.store.repos import keys as key_repo

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            if domain_name is not None:
                name = validate_name(domain_name)
                domain = await domain_repo.get_by_name(conn, name=name)
                if domain is None:
                    raise TidingsError(f"Domain not found: {name}")
                _, secret = await key_repo.create(
                    conn,
                    kind=KeyKind.DOMAIN,
                    role=KeyRole.SENDING,
                    domain_id=domain.id,
                    description=description,
                )
                return secret, domain.name
            _, secret = await key_repo.create(conn, description=description)
            return secret, None
    finally:
        await engine.dispose()


def cmd_key_create(args: argparse.Namespace) -> int:
    settings = _settings(migrated=True)
    secret, domain = asyncio.run(_create_key(settings, args.domain, args.description))
    kind = "account key" if domain is None else f"sending key for {domain}"
    print(f"created an API key ({kind}); it is shown only now:")
    print(secret)
    return 0


async def _demo(settings: Settings) -> tuple[str, str | None]:
    from tidings.store.engine import make_engine
    from tidings.store.repos import domains as domain_repo
    from tidings.store.repos import keys as key_repo

    engine = make_engine(settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            _, newest = await domain_repo.list_page(conn, limit=1, skip=0, state=None, search=None)
            has_keys = await key_repo.count(conn) > 0
    finally:
        await engine.dispose()
    if newest:
        domain = newest[0].name
    else:
        domain = DEMO_DOMAIN
        await _add_domain(settings, DEMO_DOMAIN)
    secret = None if has_keys else (await _create_key(settings, None, "demo key"))[0]
    return domain, secret


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings(migrated=True)
    domain, secret = asyncio.run(_demo(settings))
    base = settings.base_url
    print(f"API base URL: {base}")
    print(f"domain:       {domain}")
    if secret:
        print(f"API key:      {secret}   (shown once; `tidings key create` makes another)")
        key = secret
    else:
        print("API key:      one exists (shown only when made); `tidings key create` makes another")
        key = "KEY"
    print("try:")
    print(
        f"  curl -s --user 'api:{key}' {base}/v3/{domain}/messages "
        f"-F from='Demo <demo@{domain}>' -F to=you@example.com -F subject=Hello -F text=Hi"
    )
    print(f"  curl -s --user 'api:{key}' {base}/v3/{domain}/events")
    print(f"  curl -s --user 'api:{key}' {base}/v3/{domain}/capture")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidings", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    serve = sub.add_parser("serve", help="run the service")
    serve.add_argument("--role", choices=get_args(Role), help="default: TIDINGS_ROLE or all")
    serve.add_argument("--workers", type=int, help="HTTP processes (TIDINGS_HTTP_WORKERS)")
    serve.set_defaults(func=cmd_serve)
    domain = sub.add_parser("domain", help="manage domains").add_subparsers(
        dest="action", required=True
    )
    add = domain.add_parser("add", help="create a domain and print its DNS records")
    add.add_argument("name")
    add.set_defaults(func=cmd_domain_add)
    key = sub.add_parser("key", help="manage API keys").add_subparsers(dest="action", required=True)
    create = key.add_parser("create", help="create an API key; prints it alone on the last line")
    create.add_argument("--domain", help="make a sending-only key for this domain")
    create.add_argument("--description", default="")
    create.set_defaults(func=cmd_key_create)
    sub.add_parser("demo", help="create a demo domain and key if none exist").set_defaults(
        func=cmd_demo
    )
    return p


def _db_reason(exc: BaseException) -> str:
    """One line on why the store could not be reached, without the URL (it may hold a
    password)."""
    if isinstance(exc, ArgumentError):
        return "TIDINGS_DATABASE_URL is not a database URL (sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB)"
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}"[:300]


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic announces each of its plugins at INFO when it is first imported (seven lines
    # per command); the upgrades it runs stay visible.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        code = args.func(args)
    except TidingsError as exc:
        print(f"tidings: {exc.message}", file=sys.stderr)
        code = 1
    except (OSError, TimeoutError, DBAPIError, ArgumentError) as exc:
        print(f"tidings: the database cannot be used: {_db_reason(exc)}", file=sys.stderr)
        code = 1
    except ValidationError as exc:  # a bad TIDINGS_* setting: name and rule, never the value
        for err in exc.errors(include_input=False, include_url=False):
            name = "TIDINGS_" + "_".join(str(p) for p in err["loc"]).upper()
            print(f"tidings: bad setting {name}: {err['msg']}", file=sys.stderr)
        code = 2
    raise SystemExit(code)
