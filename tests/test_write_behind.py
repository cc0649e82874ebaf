"""Write-behind capture (group commit): concurrent runs share one store batch; flush, close and
the exit flush land everything; refusals, outages and in-band feedback keep their guarantees."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING, Any

import pytest
from langgraph.store.base import PutOp

from langchain_prompt_optimization import PromptRegistry, StorageSettings
from langchain_prompt_optimization.middleware import write_behind
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.testing import InstrumentedStore

from .conftest import Context, make_harness

if TYPE_CHECKING:
    from collections.abc import Iterable

    from langgraph.store.base import BaseStore, Op, Result

# A writer that would wait a minute for companions: every commit in these tests is caused by
# a flush, a close, a waiting run or the exit flush, never by the clock.
HELD = StorageSettings(capture="write_behind", max_capture_delay=60.0)
RUNS = 20


class RefusingStore(InstrumentedStore):
    """Refuses (ValueError, as a driver's DataError) any batch writing the word POISON."""

    @staticmethod
    def _check(ops: list[Op]) -> None:
        for op in ops:
            if isinstance(op, PutOp) and "POISON" in json.dumps(op.value, default=str):
                msg = "the store refused this value"
                raise ValueError(msg)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        self._check(ops)
        return super().batch(ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        self._check(ops)
        return await super().abatch(ops)


def _trajectory_ids(store: Any, user: str | None) -> set[str]:
    layout = StoreLayout()
    namespace = (*layout.prefix, UserRef.of(user).label, "trajectories")
    return {item.key for item in drive(layout._search_all(namespace, None), store)}


def _writes(store: InstrumentedStore) -> int:
    return sum(record.is_write for record in store.batches)


def _concurrent_runs(h: Any, users: list[str]) -> list[str]:
    barrier = threading.Barrier(len(users))
    ids: dict[str, str] = {}

    def run(user: str) -> None:
        barrier.wait()
        ids[user] = h.ask(user)["trajectory_id"]

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [ids[user] for user in users]


def test_settings_validate_the_capture_mode_and_delay() -> None:
    assert StorageSettings().capture == "sync"
    assert StorageSettings(capture="write_behind", max_capture_delay=0).max_capture_delay == 0
    with pytest.raises(ValueError, match="capture"):
        StorageSettings(capture="later")  # type: ignore[arg-type]
    for bad in (-0.1, float("nan"), float("inf"), True, "0.05"):
        with pytest.raises(ValueError, match="max_capture_delay"):
            StorageSettings(capture="write_behind", max_capture_delay=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("capture", ["sync", "write_behind"])
def test_twenty_concurrent_runs_commit_in_one_batch(store: BaseStore, capture: str) -> None:
    counted = InstrumentedStore(store)
    storage = StorageSettings(capture=capture, max_capture_delay=60.0)  # type: ignore[arg-type]
    h = make_harness(counted, storage=storage)
    users = [f"user-{i}" for i in range(RUNS)]
    counted.reset()
    ids = _concurrent_runs(h, users)
    if capture == "write_behind":
        assert _writes(counted) == 0  # nothing committed yet: the runs did not wait for it
        assert h.middleware.buffered_writes == RUNS
        assert h.middleware.flush_writes() == RUNS
        assert _writes(counted) == 1
    else:
        assert _writes(counted) == RUNS
    assert h.middleware.buffered_writes == 0
    for user, trajectory_id in zip(users, ids, strict=True):
        assert _trajectory_ids(store, user) == {trajectory_id}


async def test_async_concurrent_runs_commit_in_one_batch(store: BaseStore) -> None:
    counted = InstrumentedStore(store)
    h = make_harness(counted, storage=HELD)
    users = [f"user-{i}" for i in range(RUNS)]
    counted.reset()
    results = await asyncio.gather(*(h.aask(user) for user in users))
    assert _writes(counted) == 0
    assert await h.middleware.aflush_writes() == RUNS
    assert _writes(counted) == 1
    for user, result in zip(users, results, strict=True):
        assert _trajectory_ids(store, user) == {result["trajectory_id"]}


def test_close_lands_everything_queued(store: BaseStore) -> None:
    h = make_harness(store, storage=HELD)
    ids = [h.ask("jane")["trajectory_id"] for _ in range(3)]
    assert _trajectory_ids(store, "jane") == set()
    h.middleware.close()
    assert _trajectory_ids(store, "jane") == set(ids)
    assert h.middleware.buffered_writes == 0
    later = h.ask("jane")["trajectory_id"]  # a capture after close starts a new writer
    h.middleware.flush_writes()
    assert later in _trajectory_ids(store, "jane")


def test_the_exit_flush_lands_everything_queued(store: BaseStore) -> None:
    h = make_harness(store, storage=HELD)
    ids = {h.ask(f"user-{i}")["trajectory_id"] for i in range(3)}
    write_behind._flush_at_exit()  # what atexit runs at interpreter exit
    landed = set().union(*(_trajectory_ids(store, f"user-{i}") for i in range(3)))
    assert landed == ids


def test_the_exit_flush_does_not_hang_on_a_silent_store() -> None:
    from langgraph.store.memory import InMemoryStore

    release = threading.Event()
    entered = threading.Event()

    class SilentStore(InstrumentedStore):
        def batch(self, ops: Iterable[Op]) -> list[Result]:
            ops = list(ops)
            if any(isinstance(op, PutOp) for op in ops):
                entered.set()
                release.wait()
            return super().batch(ops)

    silent = SilentStore(InMemoryStore())
    h = make_harness(silent, storage=StorageSettings(capture="write_behind", timeout=0.01))
    h.ask("jane")
    assert entered.wait(10)  # the writer is stuck in the store
    h.ask("jane")
    write_behind._flush_at_exit()  # returns although the store never answers
    assert h.middleware.buffered_writes == 1
    release.set()
    h.middleware._writer._group.flush(None)  # type: ignore[union-attr]
    assert len(_trajectory_ids(silent, "jane")) == 2


def test_a_refused_capture_is_set_aside_alone(store: BaseStore) -> None:
    refusing = RefusingStore(store)
    h = make_harness(refusing, storage=HELD)
    good = [h.ask("jane", "Write to Bob.")["trajectory_id"] for _ in range(2)]
    bad = h.ask("jane", "Write to POISON.")["trajectory_id"]
    good.append(h.ask("jane", "Write to Ann.")["trajectory_id"])
    refusing.reset()
    assert h.middleware.flush_writes() == 3
    assert _trajectory_ids(store, "jane") == set(good)
    assert h.middleware.rejected_writes == 1
    (rejected,) = h.middleware.rejected_write_details
    assert any(isinstance(op, PutOp) and op.key == bad for op in rejected.ops)
    assert "refused" in rejected.error
    assert h.middleware.buffered_writes == 0
    # one group batch refused, then one batch per capture
    assert _writes(refusing) == 3


def test_an_outage_buffers_the_group_and_recovery_writes_it(store: BaseStore) -> None:
    flaky = InstrumentedStore(store)
    h = make_harness(flaky, storage=HELD)
    h.ask("jane")  # registered, config recorded
    h.middleware.flush_writes()
    flaky.down = True
    ids = [h.ask("jane")["trajectory_id"] for _ in range(3)]  # answered during the outage
    with pytest.raises(ConnectionError):
        h.middleware.flush_writes()
    assert h.middleware.buffered_writes == 3
    flaky.down = False
    assert h.middleware.flush_writes() == 3
    assert set(ids) <= _trajectory_ids(store, "jane")
    assert h.middleware.buffered_writes == 0


def test_the_next_group_writes_the_outage_buffer_first(store: BaseStore) -> None:
    flaky = InstrumentedStore(store)
    h = make_harness(flaky, storage=HELD)
    flaky.down = True
    first = h.ask("jane")["trajectory_id"]
    with pytest.raises(ConnectionError):
        h.middleware.flush_writes()
    flaky.down = False
    second = h.ask("jane")["trajectory_id"]
    h.middleware._writer._group.flush(None)  # type: ignore[union-attr]  # the writer alone
    assert _trajectory_ids(store, "jane") == {first, second}


def test_in_band_feedback_is_committed_with_its_capture_before_the_run_returns(
    store: BaseStore,
) -> None:
    h = make_harness(store, storage=HELD)
    config = {"configurable": {"thread_id": "thread-9"}}
    first = h.ask("jane", config=config)  # queued, not committed
    second = h.agent.invoke(
        {"messages": [("user", "again")], "feedback": "Sign as John Doe."},
        context=Context(user_id="jane"),
        config=config,
    )
    # no flush: the run with feedback waited for its commit (and its companion's)
    assert _trajectory_ids(store, "jane") == {first["trajectory_id"], second["trajectory_id"]}
    (item,) = PromptRegistry(store).feedback("jane", pending_only=False)
    assert item.trajectory_id == first["trajectory_id"]
    assert item.source == "in_band"
    assert PromptRegistry(store).current("jane").version == 2  # the trigger saw it


async def test_async_in_band_feedback_is_committed_with_its_capture(store: BaseStore) -> None:
    h = make_harness(store, storage=HELD)
    config = {"configurable": {"thread_id": "thread-9"}}
    first = await h.aask("jane", config=config)
    await h.agent.ainvoke(
        {"messages": [("user", "again")], "feedback": "Sign as John Doe."},
        context=Context(user_id="jane"),
        config=config,
    )
    (item,) = await PromptRegistry(store).afeedback("jane", pending_only=False)
    assert item.trajectory_id == first["trajectory_id"]
    assert (await PromptRegistry(store).acurrent("jane")).version == 2


def test_feedback_on_a_run_still_queued_is_accepted_and_joined(store: BaseStore) -> None:
    h = make_harness(store, storage=HELD, optimize_every=2)
    tid = h.ask("jane")["trajectory_id"]
    assert _trajectory_ids(store, "jane") == set()
    feedback_id = h.middleware.add_feedback(tid, "Sign as John Doe.", feedback_id="fb-1")
    assert feedback_id == "fb-1"
    h.middleware.flush_writes()
    assert tid in _trajectory_ids(store, "jane")
    (item,) = PromptRegistry(store).feedback("jane")
    assert (item.id, item.trajectory_id) == ("fb-1", tid)


async def test_async_feedback_on_a_run_still_queued(store: BaseStore) -> None:
    h = make_harness(store, storage=HELD, optimize_every=2)
    tid = (await h.aask("jane"))["trajectory_id"]
    assert await h.middleware.aadd_feedback(tid, "Sign as John Doe.", feedback_id="fb-1") == "fb-1"
    await h.middleware.aflush_writes()
    assert tid in _trajectory_ids(store, "jane")
