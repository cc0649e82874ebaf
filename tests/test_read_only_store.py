"""Read-only commands work on a read-only SQLite file and leave it untouched; write commands
on it fail with a clear message."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from langchain_prompt_optimization import PromptRegistry, open_store
from langchain_prompt_optimization.stores import aopen_store

from .conftest import make_harness

ROOT = Path(__file__).parent.parent
USER = "jane.doe@example.com"
READS = [
    ["users", "--json"],
    ["history", USER, "--json"],
    ["show", USER, "--json"],
    ["diff", USER, "1", "2", "--json"],
    ["feedback", USER, "--all", "--json"],
    ["examples", USER, "--json"],
]


def _build(path: Path) -> str:
    """A SQLite store where Jane learned v2, closed cleanly (no -wal left)."""
    uri = f"sqlite:///{path}"
    store = open_store(uri)
    h = make_harness(store)
    h.middleware.add_feedback(h.ask(USER)["trajectory_id"], "Sign as John Doe.")
    store.conn.close()  # type: ignore[attr-defined]
    return uri


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def _as_nobody() -> list[str] | None:
    """A command prefix that runs a program as the unprivileged `nobody` user."""
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        return None
    if shutil.which("setpriv"):
        return [
            "setpriv",
            f"--reuid={nobody.pw_uid}",
            f"--regid={nobody.pw_gid}",
            "--clear-groups",
        ]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    return None


@pytest.fixture
def read_only_dir():
    """A directory `nobody` can reach (pytest's tmp_path is private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="promptopt-ro-", dir="/tmp"))
    directory.chmod(0o755)
    yield directory
    directory.chmod(0o755)
    shutil.rmtree(directory, ignore_errors=True)


def test_read_commands_work_for_an_unprivileged_user_on_a_read_only_file(read_only_dir):
    prefix = _as_nobody() if os.geteuid() == 0 else []
    if prefix is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no 'nobody' user or setpriv/runuser to drop root on CI")
        pytest.skip("no unprivileged user to run as")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "200", "HOME": "/tmp"}
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import langchain_prompt_optimization.review.cli"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if probe.returncode != 0:
        # The checkout or the interpreter lives where `nobody` cannot read (a private home
        # directory): the in-process read-only tests below still run.
        pytest.skip(f"'nobody' cannot run this checkout's code here: {probe.stderr[-200:]}")
    store_dir = read_only_dir / "data"
    store_dir.mkdir()
    uri = _build(store_dir / "store.db")
    (store_dir / "store.db").chmod(0o444)
    store_dir.chmod(0o555)
    before = _snapshot(store_dir)
    env.pop("PROMPTOPT_STORE", None)
    main = "import sys; from langchain_prompt_optimization.review.cli import main; sys.exit(main())"

    def promptopt(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, sys.executable, "-c", main, "--store", uri, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    outputs = {}
    for args in READS:
        done = promptopt(*args)
        assert done.returncode == 0, (args, done.stderr)
        outputs[args[0]] = json.loads(done.stdout)
    assert outputs["users"] == {"users": [USER]}
    assert [v["version"] for v in outputs["history"]["versions"]] == [2, 1]
    assert "John Doe" in outputs["show"]["text"]
    assert "+" in outputs["diff"]["diff"]
    assert len(outputs["feedback"]["feedback"]) == 1

    refused = promptopt("rollback", USER, "1")
    assert refused.returncode == 2
    assert "read-only" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _snapshot(store_dir) == before  # same files, same bytes


def test_read_only_open_uses_sqlite_read_only_mode_and_creates_nothing(tmp_path):
    uri = _build(tmp_path / "store.db")
    before = _snapshot(tmp_path)
    assert set(before) == {"store.db"}

    store = open_store(uri, read_only=True)
    conn = store.conn  # type: ignore[attr-defined]
    with pytest.raises(sqlite3.OperationalError, match="readonly database"):
        conn.execute("INSERT INTO store (prefix, key, value) VALUES ('a', 'b', '{}')")
    registry = PromptRegistry(store)
    assert registry.users() == [USER]
    assert [v.version for v in registry.history(USER)] == [2, 1]
    assert len(registry.feedback(USER, pending_only=False)) == 1
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        registry.rollback(USER, 1)
    conn.close()

    by_uri = PromptRegistry(uri, read_only=True)
    assert by_uri.current(USER).version == 2
    by_uri.store.conn.close()  # type: ignore[attr-defined]
    assert _snapshot(tmp_path) == before  # no migrations, no -wal/-shm, same bytes


def test_read_only_open_reads_a_live_file_with_a_writer_holding_it(tmp_path):
    uri = _build(tmp_path / "store.db")
    writer = open_store(uri)  # the app, still running: its -wal exists
    make_harness(writer).ask("bob")
    assert (tmp_path / "store.db-wal").exists()
    files = set(_snapshot(tmp_path))
    main_bytes = (tmp_path / "store.db").read_bytes()

    reader = PromptRegistry(uri, read_only=True)
    assert reader.users() == [USER, "bob"]  # the writer's committed runs, from its WAL
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.store.conn.execute("DELETE FROM store")  # type: ignore[attr-defined]
    reader.store.conn.close()  # type: ignore[attr-defined]
    assert set(_snapshot(tmp_path)) == files
    assert (tmp_path / "store.db").read_bytes() == main_bytes
    writer.conn.close()  # type: ignore[attr-defined]


def test_read_only_open_refuses_a_missing_file_or_a_non_store(tmp_path):
    with pytest.raises(ValueError, match="no SQLite store"):
        open_store(f"sqlite:///{tmp_path / 'missing.db'}", read_only=True)
    assert not (tmp_path / "missing.db").exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    with pytest.raises(ValueError, match="not a store"):
        open_store(f"sqlite:///{other}", read_only=True)


def test_async_read_only_open(tmp_path):
    uri = _build(tmp_path / "store.db")
    before = _snapshot(tmp_path)

    async def scenario() -> list[str | None]:
        store = await aopen_store(uri, read_only=True)
        try:
            users = await PromptRegistry(store).ausers()
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await store.conn.execute("DELETE FROM store")  # type: ignore[attr-defined]
            return users
        finally:
            await store.conn.close()  # type: ignore[attr-defined]

    assert asyncio.run(scenario()) == [USER]
    assert _snapshot(tmp_path) == before
