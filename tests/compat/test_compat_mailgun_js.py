"""mailgun.js (14.0.1, and 10.4.0 as Ghost pins it) driven by Node against a live server.

Contract §13.1 and §13.4: Ghost's batch send and its events paging loop. The Node script prints
what it sent and every event it read; the assertions are here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.compat.helpers import captured_mime, one
from tests.support.live import LiveServer

NODE_DIR = Path(__file__).parent / "node"
RECIPIENTS = ["reader.one@example.net", "reader.two@example.org"]
LIBS = {"14.0.1": "mailgun.js", "10.4.0": "mailgun-js-ghost"}


def installed_version(lib: str) -> str:
    """The installed version of ``lib``; fails (never skips) when node_modules is missing."""
    package = NODE_DIR / "node_modules" / lib / "package.json"
    if not package.is_file():
        pytest.fail(
            f"{package.relative_to(NODE_DIR.parent)} is missing: `make test` installs "
            "tests/compat/node/node_modules (or run `npm install` in tests/compat/node)"
        )
    version: str = json.loads(package.read_text())["version"]
    return version


def run_node(script: str, server: LiveServer, lib: str, **env: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the mailgun.js compatibility tests need Node.js 20")
    installed_version(lib)
    proc = subprocess.run(
        [node, str(NODE_DIR / script)],
        cwd=NODE_DIR,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            "NO_PROXY": "127.0.0.1,localhost",
            "MG_LIB": lib,
            "MG_URL": server.url,
            "MG_KEY": server.key,
            "MG_DOMAIN": server.domain,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    try:
        out: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"{script} exited {proc.returncode}: {proc.stdout!r}\n{proc.stderr}")
    assert proc.returncode == 0 and "error" not in out, (out, proc.stderr)
    return out


@pytest.mark.parametrize("version", list(LIBS))
def test_ghost_batch_send_and_events_paging(server: LiveServer, version: str) -> None:
    lib = LIBS[version]
    assert installed_version(lib) == version
    begin = time.time() - 2
    out = run_node(
        "ghost_batch.mjs", server, lib, MG_BEGIN=f"{begin:.3f}", MG_TO=",".join(RECIPIENTS)
    )

    # Real Mailgun echoes the supplied, unsubstituted Message-Id; Ghost depends on it.
    send = out["send"]
    assert send["id"] == "<%recipient.message_id%>"
    assert send["message"] == "Queued. Thank you."
    assert send["status"] == 200

    rv: dict[str, dict[str, str]] = out["recipientVariables"]
    items: list[dict[str, Any]] = out["items"]
    assert len(items) == 4, [(e["event"], e["recipient"]) for e in items]
    assert out["pageSizes"] == [2, 2]  # limit=2, then an empty page ends the loop
    assert len({e["id"] for e in items}) == 4
    # mailgun.js parsed every paging URL (it needs absolute URLs); the token is the last segment.
    for pages in (out["firstPages"], out["lastPages"]):
        assert set(pages) == {"first", "last", "next", "previous"}
        for name, link in pages.items():
            assert link["id"] == name
            assert link["url"].startswith(f"{server.url}/v3/{server.domain}/events/")
            assert link["page"] == link["url"].rsplit("/", 1)[1] != ""
    stamps = [e["timestamp"] for e in items]
    assert stamps == sorted(stamps) and stamps[0] >= begin
    for rcpt in RECIPIENTS:
        expected_id = rv[rcpt]["message_id"]
        for kind in ("accepted", "delivered"):
            e = one(items, kind, rcpt)  # each exactly once across all pages
            assert e["message"]["headers"]["message-id"] == expected_id
            assert e["user-variables"] == {"email-id": "abc"}
            assert e["tags"] == ["ghost-email", "bulk-email"]
            assert isinstance(e["timestamp"], float)
        status = one(items, "delivered", rcpt)["delivery-status"]
        assert status["code"] == 250 and type(status["code"]) is int

        # The message the recipient got carries its own substituted headers and body.
        mime = captured_mime(server, rcpt, expected_id).decode()
        assert f"Message-Id: <{expected_id}>" in mime.replace("Message-ID:", "Message-Id:")
        assert f"List-Unsubscribe: <{rv[rcpt]['list_unsubscribe']}>" in mime
        assert rv[rcpt]["name"] in mime
        assert "%recipient" not in mime
        other = next(r for r in RECIPIENTS if r != rcpt)
        assert other not in mime
