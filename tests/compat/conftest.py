"""Compatibility tests: the real client libraries against a live tidings server on 127.0.0.1.

``server`` runs once per database (through the ``settings`` fixture of ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.live import LiveServer, live_server
from tidings.config import Settings


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as s:
        yield s
