"""The SQLite lane: the sync run path's own connection to a file `open_store` opened, on the
caller's thread, bounded by a lock timeout and SQLite's busy timeout."""

from __future__ import annotations

import concurrent.futures
import sqlite3
import threading
from typing import Any

import pytest
from langgraph.store.base import GetOp, Item, PutOp

from langchain_prompt_optimization import open_store
from langchain_prompt_optimization.stores import sqlite_lane
from langchain_prompt_optimization.stores.io import Call, batch, call, write
from langchain_prompt_optimization.stores.sqlite_lane import lane_for

from .conftest import make_harness

NS = ("lane", "test")
GIVE_UP = 20.0  # below the store connection's own 30 s busy timeout; never the assertion


class _Blocking(Call[None]):
    """A store-less step that holds the lane until released (another run mid-call)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def run(self) -> None:
        self.entered.set()
        if not self.release.wait(GIVE_UP):
            pytest.fail("the blocking step was never released")

    async def arun(self) -> None:  # pragma: no cover - the lane is sync only
        raise NotImplementedError


def _read(key: str) -> Any:
    (item,) = yield from batch([GetOp(NS, key)])
    return item.value if isinstance(item, Item) else None


@pytest.fixture
def file_store(tmp_path: Any) -> Any:
    store = open_store(f"sqlite:///{tmp_path}/lane.db")
    yield store
    store.conn.close()


def test_stores_open_store_opened_to_write_have_a_lane(tmp_path, file_store):
    assert lane_for(file_store) is not None
    full = open_store(f"sqlite:///{tmp_path}/full.db?synchronous=full")  # syncs every commit
    assert lane_for(full) is None
    assert lane_for(open_store(f"sqlite:///{tmp_path}/lane.db", read_only=True)) is None
    assert lane_for(open_store("memory://")) is None


def test_the_lane_writes_and_reads_the_same_file(file_store):
    lane = lane_for(file_store)
    lane.drive(write([PutOp(NS, "k", {"v": 1})]), 1.0)
    assert file_store.get(NS, "k").value == {"v": 1}  # the store's own connection sees it
    file_store.put(NS, "j", {"v": 2})
    assert lane.drive(_read("j"), 1.0) == {"v": 2}


def test_a_busy_file_rolls_the_batch_back_within_the_time_left(tmp_path, file_store):
    lane = lane_for(file_store)
    holder = sqlite3.connect(f"{tmp_path}/lane.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            attempt = pool.submit(lane.drive, write([PutOp(NS, "k", {"v": 1})]), 0.3)
            if not concurrent.futures.wait({attempt}, timeout=GIVE_UP).done:
                pytest.fail("the lane waited for the busy file past its deadline")
            with pytest.raises(TimeoutError, match="database is locked"):
                attempt.result()
        assert lane.drive(_read("k"), 1.0) is None  # readers go on in WAL mode
    finally:
        holder.rollback()
        holder.close()
    assert file_store.get(NS, "k") is None  # rolled back: nothing lands late
    lane.drive(write([PutOp(NS, "k", {"v": 2})]), 1.0)  # the lane is usable again
    assert file_store.get(NS, "k").value == {"v": 2}


def test_a_lane_held_by_another_thread_times_out(file_store):
    lane = lane_for(file_store)
    step = _Blocking()

    def hold() -> Any:
        yield from call(step)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        holding = pool.submit(lane.drive, hold(), GIVE_UP)
        if not step.entered.wait(GIVE_UP):
            pytest.fail("the holding call never started")
        with pytest.raises(TimeoutError, match="connection is busy"):
            lane.drive(_read("k"), 0.2)
        step.release.set()
        holding.result(GIVE_UP)
    assert lane.drive(_read("k"), 1.0) is None


def test_a_closed_store_closes_its_lane(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/closed.db")
    lane = lane_for(store)
    lane.drive(write([PutOp(NS, "k", {"v": 1})]), 1.0)
    store.conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["closed.db"]  # no -wal left open
    with pytest.raises(sqlite3.ProgrammingError):
        lane.drive(_read("k"), 1.0)


def test_the_log_is_checkpointed_off_the_callers_thread(file_store, monkeypatch):
    monkeypatch.setattr(sqlite_lane, "CHECKPOINT_EVERY", 3)
    lane = lane_for(file_store)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ckpt") as pool:
        done = []
        real = sqlite_lane._checkpoint
        monkeypatch.setattr(
            sqlite_lane,
            "_checkpoint",
            lambda store: done.append((store, threading.current_thread().name, real(store))),
        )
        for i in range(7):
            lane.drive(write([PutOp(NS, f"k{i}", {"v": i})]), 1.0, pool)
    assert [(store, name.startswith("ckpt")) for store, name, _ in done] == [
        (file_store, True),
        (file_store, True),
    ]


def _io_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("promptopt-io")}


def test_sync_runs_reach_the_file_without_a_deadline_thread(file_store):
    h = make_harness(file_store)
    before = _io_threads()
    for _ in range(3):
        h.ask("jane")
    assert not _io_threads() - before
    assert file_store.search(("prompt_optimization", "jane", "trajectories"), limit=10)
