"""``python -m bench [send|cpu|events] [--db sqlite,postgres] ...``: run the benchmarks."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench.common import OUT, machine_note


def _dbs(value: str) -> list[str]:
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    aliases = {"pg": "postgres", "postgresql": "postgres"}
    names = [aliases.get(n, n) for n in names]
    for n in names:
        if n not in ("sqlite", "postgres"):
            raise argparse.ArgumentTypeError(f"unknown database {n!r} (sqlite, postgres)")
    return names


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("part", nargs="?", choices=("all", "send", "cpu", "events"), default="all")
    p.add_argument("--db", type=_dbs, default=["sqlite", "postgres"], help="sqlite,postgres")
    p.add_argument("--duration", type=float, default=15.0, help="send: measured seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="send: warm-up seconds")
    p.add_argument(
        "--workers",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 2],
        help="send: server process counts to run, each for tidings and the ceiling (1,2)",
    )
    p.add_argument(
        "--drain",
        type=float,
        default=15.0,
        help="send: most seconds to wait for the worker to deliver the backlog after the load",
    )
    p.add_argument("--sends", type=int, default=4000, help="cpu: sends per round")
    p.add_argument("--rounds", type=int, default=2, help="cpu: rounds per database (best kept)")
    p.add_argument("--events", type=int, default=1_000_000, help="events: rows stored")
    p.add_argument("--requests", type=int, default=200, help="events: requests per kind")
    p.add_argument("--rebuild", action="store_true", help="events: ignore the cached SQLite file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = subprocess.run(["date", "-u"], capture_output=True, text=True, check=False).stdout
    print(f"tidings bench, {stamp.strip()}, {machine_note()}", flush=True)
    print(f"command: {sys.executable} -m bench {' '.join(argv or sys.argv[1:])}".rstrip())
    started = time.monotonic()
    lines: list[str] = []
    if args.part in ("all", "send"):
        from bench import send

        lines += send.table(send.run(args))
    if args.part in ("all", "cpu"):
        from bench import cpu

        lines += cpu.table(cpu.run(args))
    if args.part in ("all", "events"):
        from bench import events

        lines += events.table(events.run(args))
    print("\nsummary (Markdown):")
    print("\n".join(lines))
    print(f"bench finished in {time.monotonic() - started:.0f} s; logs under {OUT / 'logs'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
