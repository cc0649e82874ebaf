"""Feedback never depends on timing: runs still landing, retries, idempotency keys."""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime
from langgraph.store.base import PutOp

from langchain_prompt_optimization import (
    FeedbackOutcomeUnknownError,
    PromptOptimizationError,
    PromptOptimizationMiddleware,
    PromptRegistry,
    TrajectoryNotFoundError,
)
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.stores.records import TrajectoryRecord, utcnow
from langchain_prompt_optimization.testing import InstrumentedStore

from .conftest import SIGN_RULE, Context, make_harness


def _writes_to(ops, kind: str) -> bool:
    return any(isinstance(op, PutOp) and op.namespace[-1] == kind for op in ops)


class LateCaptureStore(InstrumentedStore):
    """Holds every write of a run's capture (a trajectory put) until `release()`: the run's
    deadline passes while its capture is still in flight, deterministically."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.landed = threading.Event()

    def release(self) -> None:
        self.gate.set()

    def batch(self, ops):
        ops = list(ops)
        held = _writes_to(ops, "trajectories")
        if held:
            assert self.gate.wait(30), "capture never released"
        result = super().batch(ops)
        if held:
            self.landed.set()
        return result

    async def abatch(self, ops):
        ops = list(ops)
        held = _writes_to(ops, "trajectories")
        if held:
            assert await asyncio.to_thread(self.gate.wait, 30), "capture never released"
        result = await super().abatch(ops)
        if held:
            self.landed.set()
        return result


def _feedback_of(store, user_id: str | None) -> list:
    layout = StoreLayout()
    user = UserRef.of(user_id)
    return drive(layout.feedback_of(user, user, pending_only=False), store)


def _trajectory_ids(store, user_id: str) -> list[str]:
    layout = StoreLayout()
    ns = (*layout.prefix, UserRef.of(user_id).label, "trajectories")
    return [item.key for item in drive(layout._search_all(ns, None), store)]


# -- item 2: feedback on a run whose capture has not landed ------------------------------------


def test_feedback_on_a_new_users_run_still_landing_is_stored_and_joined(store):
    late = LateCaptureStore(store)
    h = make_harness(late, store_timeout=0.2, optimize_every=2)
    tid = h.ask("jane@example.com")["trajectory_id"]  # the capture misses its deadline
    assert not late.landed.is_set()
    assert _trajectory_ids(store, "jane@example.com") == []  # not registered, no run yet
    fid = h.middleware.add_feedback(tid, "Always sign emails as John Doe.")
    other_process = PromptOptimizationMiddleware(store=store, optimize_every=10)
    fid2 = other_process.add_feedback(tid, "Sign as John Doe.", score=0.2)
    late.release()
    assert late.landed.wait(30)
    assert _trajectory_ids(store, "jane@example.com") == [tid]
    items = PromptRegistry(store).feedback("jane@example.com")
    assert {fb.id for fb in items} == {fid, fid2}
    assert {fb.trajectory_id for fb in items} == {tid}
    assert h.middleware.buffered_writes == 0
    outcome = h.middleware.optimize_now("jane@example.com")
    assert outcome.status == "optimized", outcome
    assert PromptRegistry(store).current("jane@example.com").text.endswith(SIGN_RULE)
    # the optimizer saw the run the feedback is about: it landed before the optimization
    assert "Write to Bob." in str(h.optimizer.requests[-1])


def test_feedback_on_a_run_that_never_lands_is_consumed_without_it(store):
    late = LateCaptureStore(store)
    h = make_harness(late, store_timeout=0.2, optimize_every=1)
    tid = h.ask("jane")["trajectory_id"]
    # inline mode: the optimization runs now, the run is not stored: it proceeds without it
    h.middleware.add_feedback(tid, "Always sign emails as John Doe.")
    [item] = _feedback_of(store, "jane")
    assert item.status == "consumed"
    assert item.prompt_versions is None  # its score counts for no version: run unknown
    late.release()
    assert late.landed.wait(30)


async def test_async_feedback_on_a_run_still_landing_is_stored(store):
    late = LateCaptureStore(store)
    h = make_harness(late, store_timeout=0.2, optimize_every=5)
    tid = (await h.aask("jane"))["trajectory_id"]
    fid = await h.middleware.aadd_feedback(tid, "Sign as John Doe.", feedback_id="k-1")
    assert fid == "k-1"
    late.release()
    await asyncio.to_thread(late.landed.wait, 30)
    [item] = PromptRegistry(store).feedback("jane")
    assert (item.id, item.trajectory_id) == ("k-1", tid)


def test_ids_of_registered_users_do_not_carry_the_user(store):
    h = make_harness(store)
    first = h.ask("jane@example.com")["trajectory_id"]
    second = h.ask("jane@example.com")["trajectory_id"]
    assert first.count("-") == 2  # new user: the id carries the label until registered
    assert second.count("-") == 1
    assert "jane" not in second
    h.middleware.add_feedback(first, "x")
    h.middleware.add_feedback(second, "y")


def test_ids_that_were_never_issued_or_are_malformed_still_raise(store):
    h = make_harness(store)
    real = h.ask("u")["trajectory_id"]
    digest = real.split("-")[0]
    long_ago = datetime.now(UTC) - timedelta(days=2)
    stale = f"{digest}-{'0' * 20}{int(long_ago.timestamp() * 1000):012x}"
    future = f"{digest}-{'f' * 32}"
    other = UserRef.of("mallory").digest
    wrong_user = f"{other}-{real.split('-')[1]}-dQ"  # label "u" with mallory's digest
    for bad, why in [
        (stale, "no such trajectory"),
        (future, "no such trajectory"),
        (wrong_user, "does not match"),
        (real + "-!!", "not a trajectory id"),
        (f"{'0' * 24}-{real.split('-')[1]}", "no user namespace"),
    ]:
        with pytest.raises(TrajectoryNotFoundError, match=why):
            h.middleware.add_feedback(bad, "x")
    assert _feedback_of(store, "u") == []


def test_ids_minted_before_ids_carried_their_time_still_resolve(store):
    h = make_harness(store)
    h.ask("u")  # registers the user
    layout = StoreLayout()
    user = UserRef.of("u")
    old = f"{user.digest}-{uuid.uuid4().hex}"
    record = TrajectoryRecord(old, "u", None, {"system": 1}, [], utcnow())
    store.put((*layout.prefix, user.label, "trajectories"), old, record.to_json())
    fid = h.middleware.add_feedback(old, "x")
    [item] = _feedback_of(store, "u")
    assert (item.id, item.prompt_versions) == (fid, {"system": 1})


# -- item 3: no second copy on retry -----------------------------------------------------------


class FailAfterFeedbackWrite(InstrumentedStore):
    """The feedback write commits, then the store fails: the next batch after it (`"read"`),
    or the write's own answer (`"write"`: the caller cannot know it committed)."""

    def __init__(self, inner, mode: str) -> None:
        super().__init__(inner)
        self.mode = mode
        self.armed = True
        self._fail_next = False

    def batch(self, ops):
        ops = list(ops)
        if self._fail_next:
            self._fail_next = False
            raise ConnectionError("connection lost")
        result = super().batch(ops)
        if self.armed and _writes_to(ops, "feedback"):
            self.armed = False
            if self.mode == "write":
                raise ConnectionError("connection lost after commit")
            self._fail_next = True
        return result


def test_a_read_failing_after_the_feedback_write_does_not_raise(store):
    flaky = FailAfterFeedbackWrite(store, "read")
    h = make_harness(flaky, optimize_every=5)
    tid = h.ask("jane")["trajectory_id"]
    fid = h.middleware.add_feedback(tid, "Sign as John Doe.")  # stored: no error, no retry
    assert [fb.id for fb in _feedback_of(store, "jane")] == [fid]


def test_an_unknown_write_outcome_is_reported_and_a_retry_stores_once(store):
    flaky = FailAfterFeedbackWrite(store, "write")
    h = make_harness(flaky, optimize_every=5)
    tid = h.ask("jane")["trajectory_id"]
    with pytest.raises(FeedbackOutcomeUnknownError) as info:
        h.middleware.add_feedback(tid, "Sign as John Doe.", feedback_id="ticket-1")
    assert isinstance(info.value, PromptOptimizationError)
    assert info.value.feedback_id == "ticket-1"
    assert "safe" in str(info.value)
    assert h.middleware.add_feedback(tid, "Sign as John Doe.", feedback_id="ticket-1") == (
        "ticket-1"
    )
    assert [fb.id for fb in _feedback_of(store, "jane")] == ["ticket-1"]


def test_a_retry_with_the_same_feedback_id_never_stores_a_second_copy(store):
    h = make_harness(store, optimize_every=1)
    tid = h.ask("jane")["trajectory_id"]
    assert h.middleware.add_feedback(tid, "Sign as John Doe.", feedback_id="k") == "k"
    [consumed] = _feedback_of(store, "jane")
    assert consumed.status == "consumed"
    assert h.middleware.add_feedback(tid, "Sign as John Doe.", feedback_id="k") == "k"
    assert _feedback_of(store, "jane") == [consumed]  # not pending again, not consumed twice
    with pytest.raises(ValueError, match="another run"):
        h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "y", feedback_id="k")
    # without a key, identical feedback given twice is two items (legitimately repeated)
    h.middleware.add_feedback(tid, "Sign as John Doe.")
    h.middleware.add_feedback(tid, "Sign as John Doe.")
    assert len(_feedback_of(store, "jane")) == 3


def test_feedback_id_is_validated_before_anything_is_stored(store):
    h = make_harness(store)
    tid = h.ask("jane")["trajectory_id"]
    for bad, error in [
        (5, TypeError),
        ("", ValueError),
        ("   ", ValueError),
        ("x" * 129, ValueError),
        ("a\x00b", ValueError),
        ("a\ud83d", ValueError),
    ]:
        with pytest.raises(error):
            h.middleware.add_feedback(tid, "x", feedback_id=bad)  # type: ignore[arg-type]
    assert _feedback_of(store, "jane") == []
    assert h.middleware.add_feedback(tid, "x", feedback_id="é" * 128) == "é" * 128


def test_a_retried_capture_attaches_in_band_feedback_once(store):
    h = make_harness(store, optimize_every=5)
    previous = h.ask("jane")["trajectory_id"]
    runtime = Runtime(context=Context(user_id="jane"), store=store)
    state = {
        "messages": [HumanMessage("Write to Bob.", id="h1")],
        "trajectory_id": previous,
        "feedback": "Sign as John Doe.",
    }
    state = {**state, **(h.middleware.before_agent(state, runtime) or {})}  # type: ignore[arg-type]
    state["messages"] = [*state["messages"], AIMessage("Dear Bob", id="a1")]
    h.middleware.after_agent(state, runtime)  # type: ignore[arg-type]
    h.middleware.after_agent(state, runtime)  # type: ignore[arg-type]  # the hook re-run
    [item] = _feedback_of(store, "jane")
    assert (item.trajectory_id, item.source) == (previous, "in_band")
