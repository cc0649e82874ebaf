"""The pin cache: a user's next runs are pinned without a store read while the read is current;
a write of this process drops it at once, another process's change is served at most
`pin_cache_seconds` late, and a run past the cache still answers within the store deadline."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sqlite3
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from langchain.agents import create_agent
from langgraph.store.base import GetOp, PutOp
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptRegistry, StorageSettings, aopen_store, open_store
from langchain_prompt_optimization.errors import TrajectoryNotFoundError
from langchain_prompt_optimization.middleware import pin_cache
from langchain_prompt_optimization.stores import StoreLayout, drive
from langchain_prompt_optimization.stores.io import write
from langchain_prompt_optimization.stores.watch import WriteWatch
from langchain_prompt_optimization.testing import InstrumentedStore

from .conftest import Context, make_harness, postgres_schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from langgraph.store.base import Op, Result

CACHED = StorageSettings(pin_cache_seconds=3600)  # in these tests only a write or the clock ends it
GIVE_UP = 60.0  # only a limit for a hung test, never the assertion


def _served(result: dict[str, Any]) -> bool:
    """Whether the run was served the learned sign-off."""
    return bool(result["messages"][-1].content.endswith("John Doe"))


def _kinds(store: InstrumentedStore) -> list[tuple[bool, bool]]:
    return [(b.is_read, b.is_write) for b in store.batches]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pin cache's clock, moved by the test (`clock[0] += seconds`)."""
    now = [1000.0]
    monkeypatch.setattr(pin_cache, "_now", lambda: now[0])
    return now


# -- runs of one user pinned without a store read -------------------------------------------------


def test_a_users_next_runs_are_pinned_without_a_store_read(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted, storage=CACHED)
    h.ask("u")  # reads; its capture registers the user and records the configuration
    h.ask("u")  # reads again (those writes dropped the first read), now kept
    counted.reset()
    results = [h.ask("u") for _ in range(3)]
    assert _kinds(counted) == [(False, True)] * 3  # only each run's capture
    assert len({r["trajectory_id"] for r in results}) == 3
    assert all(r["prompt_versions"] == {"system": 1} for r in results)


async def test_async_a_users_next_runs_are_pinned_without_a_store_read(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted, storage=CACHED)
    await h.aask("u")
    await h.aask("u")
    counted.reset()
    for _ in range(3):
        await h.aask("u")
    assert _kinds(counted) == [(False, True)] * 3


def test_zero_seconds_reads_the_store_before_every_run(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted, storage=StorageSettings(pin_cache_seconds=0))
    h.ask("u")
    counted.reset()
    for _ in range(3):
        h.ask("u")
    assert _kinds(counted) == [(True, False), (False, True)] * 3


def test_another_user_is_read_on_its_own(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted, storage=CACHED)
    h.ask("u")
    h.ask("u")
    counted.reset()
    h.ask("v")  # nothing kept for v
    assert _kinds(counted)[0] == (True, False)


# -- a write of this process drops the kept read at once ------------------------------------------


def test_a_version_learned_by_another_middleware_of_this_process_is_served_at_once(store):
    app_a = make_harness(store, storage=CACHED)
    app_b = make_harness(store, storage=CACHED)
    app_b.ask("jane")
    assert not _served(app_b.ask("jane"))  # app B keeps jane's v1 pin
    app_a.middleware.add_feedback(app_a.ask("jane")["trajectory_id"], "Sign as John Doe.")
    assert PromptRegistry(store).current("jane").version == 2
    result = app_b.ask("jane")
    assert _served(result)
    assert result["prompt_versions"] == {"system": 2}


async def test_async_a_version_learned_by_another_middleware_is_served_at_once(store):
    app_a = make_harness(store, storage=CACHED)
    app_b = make_harness(store, storage=CACHED)
    await app_b.aask("jane")
    assert not _served(await app_b.aask("jane"))
    result = await app_a.aask("jane")
    await app_a.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
    assert _served(await app_b.aask("jane"))


def test_a_rollback_through_the_registry_of_this_process_is_served_at_once(store):
    h = make_harness(store, storage=CACHED)
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    assert _served(h.ask("jane"))
    assert _served(h.ask("jane"))  # kept
    PromptRegistry(store).rollback("jane", 1, note="too formal")
    result = h.ask("jane")
    assert not _served(result)
    assert result["prompt_versions"] == {"system": 3}


async def test_async_a_rollback_through_the_registry_is_served_at_once(store):
    h = make_harness(store, storage=CACHED)
    result = await h.aask("jane")
    await h.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
    assert _served(await h.aask("jane"))
    await PromptRegistry(store).arollback("jane", 1, note="too formal")
    assert not _served(await h.aask("jane"))


def test_a_base_prompt_changed_in_code_is_rebased_although_the_pin_is_kept(store):
    h = make_harness(store, storage=CACHED)
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    assert _served(h.ask("jane"))
    assert _served(h.ask("jane"))  # kept
    moved = create_agent(
        h.model,
        tools=[],
        system_prompt="You write short emails.",
        middleware=[h.middleware],
        store=store,
        context_schema=Context,
    )
    ask = {"messages": [("user", "Write to Bob.")]}
    moved.invoke(ask, context=Context(user_id="jane"))  # the new base is served as it is
    result = moved.invoke(ask, context=Context(user_id="jane"))  # and starts a new lineage
    assert result["prompt_versions"] == {"system": 3}
    assert h.model.requests[-1].system_prompt == "You write short emails."
    assert PromptRegistry(store).current("jane").text == "You write short emails."


# -- another process's change: at most pin_cache_seconds late --------------------------------------


@contextlib.contextmanager
def _file_or_server(kind: str, tmp_path: Any) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/store.db"
        return
    with postgres_schema() as uri:
        yield uri


def _cli(uri: str, *args: str) -> None:
    """Run `promptopt` in another process."""
    code = "import sys; from langchain_prompt_optimization.review.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*sys.path])}
    subprocess.run(
        [sys.executable, "-c", code, "--store", uri, *args],
        check=True,
        capture_output=True,
        env=env,
        timeout=GIVE_UP,
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_change_by_another_process_is_served_at_most_pin_cache_seconds_late(
    kind, tmp_path, clock
):
    with _file_or_server(kind, tmp_path) as uri:
        store = open_store(uri)
        try:
            h = make_harness(store, storage=StorageSettings(pin_cache_seconds=2.0))
            h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
            assert _served(h.ask("jane"))  # v2 read and kept at t=1000
            _cli(uri, "rollback", "jane", "1", "--note", "from another process")
            clock[0] += 1.9  # within the bound: the kept read (v2) still serves
            assert _served(h.ask("jane"))
            clock[0] += 0.1  # 2.0 s after the read began: read again
            result = h.ask("jane")
            assert not _served(result)
            assert result["prompt_versions"] == {"system": 3}
        finally:
            store.conn.close()  # type: ignore[attr-defined]


# -- a run past the cache still answers within the store deadline ----------------------------------


def _record(store: Any, trajectory_id: str) -> Any:
    try:
        return drive(StoreLayout().resolve_trajectory(trajectory_id), store)[1]
    except TrajectoryNotFoundError:
        return None


def _lock(path: Any) -> sqlite3.Connection:
    holder = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def _wait_landed(h: Any, store: Any, trajectory_ids: Iterable[str]) -> None:
    deadline = time.monotonic() + GIVE_UP
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            h.middleware.flush_writes()
        if h.middleware.buffered_writes == 0 and all(_record(store, t) for t in trajectory_ids):
            return
        time.sleep(0.2)
    pytest.fail("the runs' captures did not land after the file was released")


def _ask_in_thread(h: Any, user: str) -> Any:
    """`h.ask(user)` in a thread: fails the test unless it returns well before the store
    connection's own 30 s busy timeout."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(h.ask(user)), daemon=True)
    thread.start()
    thread.join(20.0)
    if thread.is_alive() or not results:
        pytest.fail("a run waited for the busy file instead of its deadline")
    return results[0]


def test_a_busy_sqlite_file_past_the_cache_still_answers_within_the_deadline(tmp_path, clock):
    path = tmp_path / "busy.db"
    store = open_store(f"sqlite:///{path}")
    h = make_harness(store, storage=StorageSettings(timeout=0.5, pin_cache_seconds=2.0))
    try:
        h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
        assert _served(h.ask("jane"))  # read and kept
        holder = _lock(path)
        try:
            first = _ask_in_thread(h, "jane")  # kept: no read; its write gives up, buffered
            clock[0] += 2.0
            second = _ask_in_thread(h, "jane")  # expired: read (WAL readers go on), buffered
            assert _served(first)
            assert _served(second)
            assert h.middleware.buffered_writes == 2
        finally:
            holder.rollback()
            holder.close()
        _wait_landed(h, store, [first["trajectory_id"], second["trajectory_id"]])
        assert _record(store, first["trajectory_id"]).pin_error is None
        assert _record(store, second["trajectory_id"]).pin_error is None
    finally:
        h.middleware.close()
        store.conn.close()  # type: ignore[attr-defined]


async def test_async_a_busy_sqlite_file_past_the_cache_still_answers_within_the_deadline(
    tmp_path, clock
):
    path = tmp_path / "busy.db"
    store = await aopen_store(f"sqlite:///{path}")
    check = open_store(f"sqlite:///{path}")
    h = make_harness(store, storage=StorageSettings(timeout=0.5, pin_cache_seconds=2.0))
    try:
        result = await h.aask("jane")
        await h.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
        assert _served(await h.aask("jane"))
        holder = _lock(path)
        try:
            first = await asyncio.wait_for(h.aask("jane"), GIVE_UP)
            clock[0] += 2.0
            second = await asyncio.wait_for(h.aask("jane"), GIVE_UP)
            assert _served(first)
            assert _served(second)
        finally:
            holder.rollback()
            holder.close()
        deadline = time.monotonic() + GIVE_UP
        ids = [first["trajectory_id"], second["trajectory_id"]]
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                await h.middleware.aflush_writes()
            if h.middleware.buffered_writes == 0 and all(_record(check, t) for t in ids):
                break
            await asyncio.sleep(0.2)
        else:
            pytest.fail("the runs' captures did not land after the file was released")
        assert _record(check, first["trajectory_id"]).pin_error is None
        assert _record(check, second["trajectory_id"]).pin_error.startswith("TimeoutError")
    finally:
        await store.conn.close()  # type: ignore[attr-defined]
        check.conn.close()  # type: ignore[attr-defined]


# -- the write watch -------------------------------------------------------------------------------

KEY = (("p", "u"), "active")


def test_a_write_after_the_watch_began_changes_the_read():
    watch = WriteWatch()
    generation = watch.watch([KEY])
    assert not watch.changed_since([KEY], generation)
    watch.wrote([PutOp(("p", "other"), "active", {"x": 1})])
    assert not watch.changed_since([KEY], generation)  # another key
    watch.wrote([PutOp(*KEY, {"x": 1})])
    assert watch.changed_since([KEY], generation)
    assert not watch.changed_since([KEY], watch.watch([KEY]))  # a read after it is current


def test_a_delete_changes_the_read():
    watch = WriteWatch()
    generation = watch.watch([KEY])
    watch.wrote([PutOp(*KEY, None)])
    assert watch.changed_since([KEY], generation)


def test_watching_past_the_limit_forgets_every_earlier_read():
    watch = WriteWatch(max_keys=2)
    generation = watch.watch([KEY])
    watch.watch([(("p", "v"), "active"), (("p", "w"), "active")])
    assert watch.changed_since([KEY], generation)


class _FailingStore(InMemoryStore):
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        msg = "the connection dropped after sending"
        raise ConnectionError(msg)


def test_a_failed_write_still_changes_the_read(monkeypatch):
    from langchain_prompt_optimization.stores import watch as watch_module

    watch = WriteWatch()
    monkeypatch.setattr(watch_module, "WRITES", watch)
    monkeypatch.setattr("langchain_prompt_optimization.stores.io.WRITES", watch)
    generation = watch.watch([KEY])
    with pytest.raises(ConnectionError):
        drive(write([PutOp(*KEY, {"x": 1})]), _FailingStore())  # it may have landed
    assert watch.changed_since([KEY], generation)
    drive(write([GetOp(*KEY)]), InMemoryStore())  # a read changes nothing
    assert not watch.changed_since([KEY], watch.watch([KEY]))


# -- settings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, True, "1"])
def test_pin_cache_seconds_must_be_finite_and_not_negative(bad):
    with pytest.raises(ValueError, match="pin_cache_seconds"):
        StorageSettings(pin_cache_seconds=bad)


def test_the_default_pin_cache_bound():
    assert StorageSettings().pin_cache_seconds == 1.0
    assert StorageSettings(pin_cache_seconds=0).pin_cache_seconds == 0
