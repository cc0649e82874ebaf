"""open_store: memory, SQLite paths, and clear errors for bad URIs."""

from __future__ import annotations

import os

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import default_store_uri, open_store
from langchain_prompt_optimization.stores import mask_uri


def test_memory_uri():
    assert isinstance(open_store("memory://"), InMemoryStore)


def test_sqlite_relative_and_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rel = open_store("sqlite:///nested/dir/rel.db")
    rel.put(("a",), "k", {"v": 1})
    assert (tmp_path / "nested" / "dir" / "rel.db").exists()
    absolute = tmp_path / "abs.db"
    store = open_store(f"sqlite:///{absolute}")
    store.put(("a",), "k", {"v": 2})
    again = open_store(f"sqlite:///{absolute}")
    assert again.get(("a",), "k").value == {"v": 2}
    journal = again.conn.execute("PRAGMA journal_mode").fetchone()[0]  # type: ignore[attr-defined]
    assert journal == "wal"


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("", "malformed store URI"),
        ("prompts.db", "malformed store URI"),
        ("redis://localhost", "unknown store URI scheme"),
        ("sqlite://relative.db", "malformed SQLite URI"),
        ("sqlite:///", "malformed SQLite URI"),
        ("sqlite:////proc/forbidden/x.db", "cannot open SQLite store"),
    ],
)
def test_bad_uris_fail_with_a_clear_message(uri, match):
    with pytest.raises(ValueError, match=match):
        open_store(uri)


def test_passwords_are_masked_in_errors():
    assert mask_uri("postgresql://bob:s3cret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    with pytest.raises(ValueError, match="unknown store URI scheme") as info:
        open_store("mysql://bob:s3cret@db/x")
    assert "s3cret" not in str(info.value)


def test_default_store_uri_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMPTOPT_STORE", "memory://")
    assert default_store_uri() == "memory://"
    monkeypatch.delenv("PROMPTOPT_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    expected = "sqlite:///" + os.path.join(tmp_path, "langchain-prompt-optimization", "store.db")
    assert default_store_uri() == expected


def test_zero_argument_middleware_uses_the_embedded_sqlite_store(monkeypatch, tmp_path):
    from langchain.agents import create_agent

    from langchain_prompt_optimization import PromptOptimizationMiddleware, PromptRegistry
    from langchain_prompt_optimization.testing import ScriptedChatModel

    monkeypatch.delenv("PROMPTOPT_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    mw = PromptOptimizationMiddleware()
    agent = create_agent(
        ScriptedChatModel(responses=["hi"]), system_prompt="Be kind.", middleware=[mw]
    )
    result = agent.invoke({"messages": [("user", "hello")]}, context={"user_id": "ann"})
    db = tmp_path / "langchain-prompt-optimization" / "store.db"
    assert db.exists()
    registry = PromptRegistry(f"sqlite:///{db}")
    assert registry.users() == ["ann"]
    assert registry.current("ann").text == "Be kind."
    assert result["trajectory_id"]


def test_http_uri_of_an_unreachable_server_is_a_clear_error():
    pytest.importorskip("langgraph_sdk")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ValueError, match="cannot reach LangGraph server store"):
        open_store(f"http://127.0.0.1:{port}")


async def test_http_uri_async_open_checks_the_server():
    pytest.importorskip("langgraph_sdk")
    import socket

    from langchain_prompt_optimization import aopen_store

    with pytest.raises(ValueError, match="malformed LangGraph server URI"):
        await aopen_store("http://")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ValueError, match="cannot reach LangGraph server store"):
        await aopen_store(f"https://127.0.0.1:{port}")


# -- SQLite durability: synchronous=NORMAL by default, FULL on request -----------------------

_LEVELS = {"normal": 1, "full": 2, "extra": 3}  # what PRAGMA synchronous answers


@pytest.mark.parametrize(("query", "level"), [("", "normal"), ("?synchronous=full", "full"),
                                              ("?synchronous=EXTRA", "extra")])  # fmt: skip
def test_sqlite_commits_without_fsync_unless_asked(tmp_path, query, level):
    store = open_store(f"sqlite:///{tmp_path}/s.db{query}")
    assert (tmp_path / "s.db").exists()  # the query is not part of the file name
    got = store.conn.execute("PRAGMA synchronous").fetchone()[0]  # type: ignore[attr-defined]
    assert got == _LEVELS[level]


@pytest.mark.parametrize(("query", "level"), [("", "normal"), ("?synchronous=full", "full")])
async def test_async_sqlite_commits_without_fsync_unless_asked(tmp_path, query, level):
    from langchain_prompt_optimization import aopen_store

    store = await aopen_store(f"sqlite:///{tmp_path}/s.db{query}")
    try:
        async with store.conn.execute("PRAGMA synchronous") as cursor:  # type: ignore[attr-defined]
            assert (await cursor.fetchone())[0] == _LEVELS[level]
    finally:
        await store.conn.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("query", ["?synchronous=off", "?journal_mode=memory", "?synchronous"])
def test_unknown_sqlite_options_fail_fast(tmp_path, query):
    with pytest.raises(ValueError, match="only option is \\?synchronous="):
        open_store(f"sqlite:///{tmp_path}/s.db{query}")
    with pytest.raises(ValueError, match="only option is \\?synchronous="):
        open_store(f"sqlite:///{tmp_path}/s.db{query}", read_only=True)


def test_a_sqlite_commit_survives_a_crash_of_the_process(tmp_path):
    """synchronous=NORMAL: what was committed before a kill -9 is in the file."""
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path}/crash.db"
    code = (
        "import os, signal, sys\n"
        "from langchain_prompt_optimization import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "for i in range(50):\n"
        "    store.put(('runs',), f'r{i}', {'i': i})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code, uri], env=env, timeout=120, check=False)
    assert done.returncode == -9  # killed, never closed
    store = open_store(uri)
    assert len(store.search(("runs",), limit=100)) == 50
