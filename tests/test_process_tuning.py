"""Process settings of a server: rarer young collections, and start-up's heap frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidings.runtime import GC_YOUNG_THRESHOLD, freeze_heap, tune_process


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


@pytest.mark.usefixtures("restore_gc")
def test_tune_process_makes_young_collections_rarer() -> None:
    _, middle, old = gc.get_threshold()
    tune_process()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, middle, old)
    assert GC_YOUNG_THRESHOLD > 700  # CPython's default


@pytest.mark.usefixtures("restore_gc")
def test_freeze_heap_takes_what_exists_out_of_collections() -> None:
    class Node:
        pass

    keep = [Node() for _ in range(1000)]
    gc.unfreeze()
    freeze_heap()
    assert gc.get_freeze_count() >= len(keep)
    assert not any(o is keep[0] for o in gc.get_objects())  # the collectors' lists skip it


def test_a_server_process_does_not_load_what_only_commands_need(tmp_path: Path) -> None:
    """cryptography (DKIM keys, about 11 MB), dnspython (domain verification) and alembic
    (migrations) are loaded on demand: a server that adds no domain never needs them."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tidings.config import Settings\n"
        "from tidings.runtime import Runtime\n"
        "Runtime(Settings(), 'all')\n"
        "print(sorted(m for m in ('cryptography', 'dns', 'alembic') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env["TIDINGS_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
