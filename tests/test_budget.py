"""Budgets: spend caps per user, lineage or all, enforced through the store across processes."""

from __future__ import annotations

import json
import threading

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    Budget,
    PromptOptimizationMiddleware,
    PromptRegistry,
    PromptWorker,
    open_store,
)
from langchain_prompt_optimization.optimizer.budget import charge_usage, reserve_budget
from langchain_prompt_optimization.review.cli import main
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.testing import ScriptedOptimizerModel
from langchain_prompt_optimization.testing.models import append_feedback

from .conftest import BASE_PROMPT, SIGN_RULE
from .conftest import make_harness as _make_harness

DAY = 86_400.0
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


class Clock:
    """An injected clock: tests move to the next window instead of sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def next_day(self) -> None:
        self.now += DAY


def make_harness(store, **kwargs):
    """The shared harness with an optimizer that learns every feedback text."""
    return _make_harness(store, rewrite=append_feedback, **kwargs)


def _feedback(h, user: str, text: str = "Always sign emails as John Doe.") -> str:
    run = h.ask(user)
    return h.middleware.add_feedback(run["trajectory_id"], text)


async def _afeedback(h, user: str, text: str = "Always sign emails as John Doe.") -> str:
    run = await h.aask(user)
    return await h.middleware.aadd_feedback(run["trajectory_id"], text)


def _pending(store, user: str) -> list[str]:
    return [fb.id for fb in PromptRegistry(store).feedback(user)]


# -- configuration --------------------------------------------------------------------------


def test_budget_is_exported_and_validated_at_once():
    assert Budget(max_optimizer_calls=5).window == "1d"
    for window in ("1h", "23h", "24h", "48h", "1d", "7d", "366d"):
        Budget(max_optimizer_tokens=1, window=window)
    with pytest.raises(ValueError, match="needs max_optimizer_tokens, max_optimizer_calls"):
        Budget()
    for bad in (0, -1, True, 1.5, "10"):
        with pytest.raises(ValueError, match="max_optimizer_calls must be a positive int"):
            Budget(max_optimizer_calls=bad)
    with pytest.raises(ValueError, match=r"Budget\.per must be one of user, lineage, global"):
        Budget(max_optimizer_calls=1, per="team")
    for bad in ("1x", "0h", "36h", "", "1.5d", "d", "367d", 3600, None, " 1d"):
        with pytest.raises(ValueError, match=r"Budget\.window must be 1 to 23 hours or a whole"):
            Budget(max_optimizer_calls=1, window=bad)
    with pytest.raises(TypeError, match="clock must be callable"):
        Budget(max_optimizer_calls=1, clock=5)


def test_the_middleware_and_worker_check_budget_fast():
    with pytest.raises(TypeError, match="budget must be a Budget or None; got dict"):
        PromptOptimizationMiddleware(budget={"max_optimizer_calls": 1})
    with pytest.raises(ValueError, match="per='user'\\) needs scope='user'"):
        PromptOptimizationMiddleware(scope="global", budget=Budget(max_optimizer_calls=1))
    PromptOptimizationMiddleware(scope="global", budget=Budget(max_optimizer_calls=1, per="global"))
    with pytest.raises(ValueError, match=r"pass it to PromptWorker\(budget=\.\.\.\)"):
        PromptOptimizationMiddleware(mode="external", budget=Budget(max_optimizer_calls=1))
    with pytest.raises(TypeError, match="budget must be a Budget"):
        PromptWorker(InMemoryStore(), optimizer=ScriptedOptimizerModel(), budget=3)


# -- over budget: deferred, nothing lost, the next window picks it up -----------------------


def test_over_budget_defers_without_calling_the_model_and_the_next_window_learns(store):
    clock = Clock()
    h = make_harness(store, budget=Budget(max_optimizer_calls=1, clock=clock))
    _feedback(h, "jane")  # inline: 1 call, within the budget
    assert PromptRegistry(store).current("jane").text == f"{BASE_PROMPT}\n{SIGN_RULE}"
    calls = len(h.optimizer.requests)

    fid = _feedback(h, "jane", "Keep emails short.")  # the trigger fires: over budget
    assert len(h.optimizer.requests) == calls  # the model was not called
    assert _pending(store, "jane") == [fid]  # nothing lost, not even an attempt counted
    outcome = h.middleware.optimize_now("jane")
    assert outcome.status == "over_budget"
    assert "max_optimizer_calls=1" in outcome.error
    assert outcome.feedback_ids == (fid,)
    assert [v.version for v in PromptRegistry(store).history("jane")] == [2, 1]
    (item,) = PromptRegistry(store).feedback("jane")
    assert item.attempts == 0

    assert _feedback(h, "bob")  # another user has a budget of their own (per="user")
    assert PromptRegistry(store).current("bob").version == 2

    clock.next_day()
    outcome = h.middleware.optimize_now("jane")
    assert outcome.status == "optimized"
    assert outcome.feedback_ids == (fid,)
    assert _pending(store, "jane") == []


async def test_over_budget_async_twin(store):
    clock = Clock()
    h = make_harness(store, budget=Budget(max_optimizer_calls=1, clock=clock))
    await _afeedback(h, "jane")
    fid = await _afeedback(h, "jane", "Keep emails short.")
    outcome = await h.middleware.aoptimize_now("jane")
    assert (outcome.status, outcome.feedback_ids) == ("over_budget", (fid,))
    assert [fb.id for fb in await PromptRegistry(store).afeedback("jane")] == [fid]
    clock.next_day()
    assert (await h.middleware.aoptimize_now("jane")).status == "optimized"
    at = _utc(clock.now)
    usage = (await PromptRegistry(store).abudget_usage("jane", at=at)).usage
    assert usage["optimizer_calls"] == 1


def _utc(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


def test_a_token_cap_lets_one_optimization_run_alone_in_an_empty_window():
    # The estimate is capped at the budget: a single optimization larger than the whole
    # budget still runs in an empty window (else it could never run).
    store = InMemoryStore()
    clock = Clock()
    h = make_harness(store, budget=Budget(max_optimizer_tokens=10, clock=clock))
    _feedback(h, "jane")
    spent = PromptRegistry(store).budget_usage("jane", at=_utc(clock.now)).usage
    assert spent["input_tokens"] + spent["output_tokens"] > 10  # it overshot, alone
    _feedback(h, "jane", "Keep emails short.")
    assert h.middleware.optimize_now("jane").status == "over_budget"


def test_a_global_budget_caps_every_lineage_together(store):
    clock = Clock()
    # each optimization: one optimizer call and one screening judge call
    h = make_harness(store, budget=Budget(max_optimizer_calls=4, per="global", clock=clock))
    for user in ("a", "b", "c"):
        _feedback(h, user)
    learned = [u for u in ("a", "b", "c") if PromptRegistry(store).current(u).version == 2]
    assert learned == ["a", "b"]
    assert len(_pending(store, "c")) == 1
    report = PromptRegistry(store).budget_usage(per="global", at=_utc(clock.now))
    assert report.usage["calls"] == 4
    assert (report.usage["optimizer_calls"], report.usage["judge_calls"]) == (2, 2)
    assert set(report.by_user) == {"a", "b"}


def test_gate_calls_count_against_the_budget():
    from langchain_prompt_optimization import EvaluationGate, SafetySettings

    store = InMemoryStore()
    clock = Clock()
    gate = EvaluationGate(model=None, trajectory_match="unordered")
    h = make_harness(
        store,
        budget=Budget(max_optimizer_calls=100, clock=clock),
        safety=SafetySettings(gate=gate),
    )
    run = h.ask("jane")
    h.middleware.add_example(run, user_id="jane")
    h.middleware.add_feedback(run["trajectory_id"], "Always sign emails as John Doe.")
    usage = PromptRegistry(store).budget_usage("jane", at=_utc(clock.now)).usage
    assert usage["gate_calls"] >= 2  # the active and the candidate prompt replayed
    assert usage["optimizer_calls"] == 1
    assert usage["calls"] == usage["gate_calls"] + usage["optimizer_calls"] + usage["judge_calls"]


# -- across processes: stores sharing one SQLite file, racing reservations ----------------


def test_two_stores_on_one_sqlite_file_respect_one_budget(tmp_path):
    # Two store objects on one file behave as two processes (own connection, own in-process
    # claims); eight users optimize at once through both; the global cap holds exactly
    # (the estimate is the actual usage: one optimizer call, one screening judge call).
    uri = f"sqlite:///{tmp_path}/shared.db"
    stores = [open_store(uri), open_store(uri)]
    clock = Clock()
    budget = Budget(max_optimizer_calls=6, per="global", clock=clock)
    harnesses = [make_harness(s, budget=budget) for s in stores]
    users = [f"user{i}" for i in range(8)]
    runs = {user: harnesses[i % 2].ask(user)["trajectory_id"] for i, user in enumerate(users)}
    start = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def give_feedback(i: int, user: str) -> None:
        start.wait()
        try:
            harnesses[i % 2].middleware.add_feedback(runs[user], "Always sign emails as John Doe.")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=give_feedback, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    calls = sum(len(h.optimizer.requests) for h in harnesses)
    report = PromptRegistry(stores[0]).budget_usage(per="global", at=_utc(clock.now))
    assert report.usage["optimizer_calls"] == calls
    assert report.usage["calls"] <= 6  # the cap: at most three optimizations of two calls
    assert 1 <= calls <= 3
    learned = [u for u in users if PromptRegistry(stores[1]).current(u).version == 2]
    assert len(learned) == calls
    for user in set(users) - set(learned):  # the rest wait, nothing lost
        assert len(_pending(stores[0], user)) == 1
    for s in stores:
        s.conn.close()


def _lockstep(store, jobs):
    """Drive jobs one request at a time, in turn: every reservation reads before the
    others write, as racing processes would."""
    results: dict[int, object] = {}
    requests = {i: next(job) for i, job in enumerate(jobs)}
    while requests:
        for i in list(requests):
            try:
                requests[i] = jobs[i].send(requests[i].run(store))
            except StopIteration as stop:
                results[i] = stop.value
                del requests[i]
    return [results[i] for i in range(len(jobs))]


def test_racing_reservations_never_overshoot_a_global_cap(store):
    layout = StoreLayout()
    budget = Budget(max_optimizer_calls=3, per="global", clock=Clock())
    estimate = {"calls": 2, "input_tokens": 10, "output_tokens": 5}
    jobs = [reserve_budget(layout, budget, UserRef.of(u), estimate) for u in ("a", "b")]
    first, second = _lockstep(store, jobs)
    admitted = [r for r, _ in (first, second) if r is not None]
    assert len(admitted) <= 1  # 2 + 2 > 3: at most one of them runs
    assert all(reason is not None for r, reason in (first, second) if r is None)
    # what is left reserved fits the cap
    window = budget.current_window()
    charges = drive(layout.usage_charges(window, None), store)
    assert sum(c.usage["calls"] for c in charges) <= 3


def test_reservations_that_fit_together_are_both_admitted(store):
    layout = StoreLayout()
    budget = Budget(max_optimizer_calls=4, per="global", clock=Clock())
    estimate = {"calls": 2, "input_tokens": 10, "output_tokens": 5}
    jobs = [reserve_budget(layout, budget, UserRef.of(u), estimate) for u in ("a", "b")]
    results = _lockstep(store, jobs)
    assert all(reservation is not None for reservation, _ in results)


# -- workers: the pending mark survives an over-budget pass ------------------------------------


def test_a_worker_keeps_an_over_budget_owner_pending_for_the_next_window():
    store = InMemoryStore()
    clock = Clock()
    app = make_harness(store, mode="external")
    worker = PromptWorker(
        store,
        optimizer=ScriptedOptimizerModel(rewrite=app.optimizer.rewrite),
        budget=Budget(max_optimizer_calls=1, clock=clock),
    )
    _feedback(app, "jane")
    assert worker.run_once() == 1
    fid = _feedback(app, "jane", "Keep emails short.")
    assert worker.run_once() == 0  # over budget: deferred
    assert _pending(store, "jane") == [fid]
    assert worker.run_once() == 0  # still marked, still deferred
    clock.next_day()
    assert worker.run_once() == 1
    assert _pending(store, "jane") == []


# -- the CLI --------------------------------------------------------------------------------


def test_promptopt_usage_shows_the_window(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path}/cli.db"
    store = open_store(uri)
    h = make_harness(store)
    _feedback(h, "jane")
    _feedback(h, "bob")
    store.conn.close()

    assert main(["--store", uri, "--json", "usage", "jane"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["per"] == "user"
    assert data["usage"]["optimizer_calls"] == 1
    assert data["by_user"] == [{"user_id": "jane", "usage": data["usage"]}]

    assert main(["--store", uri, "usage", "--all-users", "--window", "7d"]) == 0
    table = capsys.readouterr().out
    for shown in ("jane", "bob", "total", "optimizations"):
        assert shown in table
    assert "optimizer 1" in table

    assert main(["--store", uri, "usage", "jane", "--window", "2x"]) == 2
    assert "window must be 1 to 23 hours or a whole number of days" in capsys.readouterr().err


def test_overshoot_comes_only_from_usage_beyond_the_estimates(store):
    # Documented bound: a window ends at most sum(actual - reserved) over the optimizations
    # it admitted above the cap; reservations themselves never exceed it.
    layout = StoreLayout()
    clock = Clock()
    budget = Budget(max_optimizer_calls=3, per="global", clock=clock)
    estimate = {"calls": 1, "input_tokens": 1, "output_tokens": 1}
    admitted = []
    for user in ("a", "b"):
        reservation, reason = drive(
            reserve_budget(layout, budget, UserRef.of(user), estimate), store
        )
        assert reason is None
        admitted.append(reservation)
    actual = {"calls": 2, "input_tokens": 3, "output_tokens": 3}  # e.g. gate replays
    for reservation in admitted:
        owner = UserRef.from_label(reservation.owner)
        drive(charge_usage(layout, owner, reservation, actual, "optimized"), store)
    total = PromptRegistry(store).budget_usage(per="global", at=_utc(clock.now)).usage["calls"]
    assert total == 4  # over the cap of 3 ...
    assert total - 3 <= sum(actual["calls"] - r.usage["calls"] for r in admitted)  # ... by <= 2
    reservation, reason = drive(reserve_budget(layout, budget, UserRef.of("c"), estimate), store)
    assert reservation is None  # and nothing more is admitted in this window
    assert "4 calls" in reason or "5 calls" in reason


_WORKER = """
import sys
from langchain_prompt_optimization import Budget, PromptWorker
from langchain_prompt_optimization.testing import ScriptedOptimizerModel

model = ScriptedOptimizerModel()
budget = Budget(max_optimizer_calls=6, per="global", clock=lambda: float(sys.argv[2]))
PromptWorker(sys.argv[1], optimizer=model, budget=budget, concurrency=4).run_once()
"""


def test_two_worker_processes_on_one_sqlite_file_respect_one_global_budget(tmp_path):
    import os
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path}/shared.db"
    store = open_store(uri)
    app = make_harness(store, mode="external")
    users = [f"user{i}" for i in range(8)]
    for user in users:
        _feedback(app, user)
    store.conn.close()

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, uri, str(T0)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert outputs  # the workers ran to the end

    store = open_store(uri)
    registry = PromptRegistry(store)
    usage = registry.budget_usage(per="global", at=_utc(T0)).usage
    assert usage["calls"] <= 6  # the cap: at most three optimizations of two calls
    assert 1 <= usage["optimizer_calls"] <= 3
    learned = [u for u in users if registry.current(u).version == 2]
    assert len(learned) == usage["optimizer_calls"]
    waiting = [u for u in users if u not in learned]
    assert all(len(_pending(store, u)) == 1 for u in waiting)  # deferred, not lost
    store.conn.close()


def test_the_worker_and_the_server_graph_take_a_budget():
    from langchain_prompt_optimization.server import make_optimizer_graph

    budget = Budget(max_optimizer_calls=1)
    worker = PromptWorker(InMemoryStore(), optimizer=ScriptedOptimizerModel(), budget=budget)
    assert worker.budget is budget
    assert PromptOptimizationMiddleware(budget=budget).budget is budget
    make_optimizer_graph(ScriptedOptimizerModel(), budget=budget)
    with pytest.raises(TypeError, match="budget must be a Budget or None; got int"):
        make_optimizer_graph(ScriptedOptimizerModel(), budget=5)


# -- async stores: the budget path never blocks the event loop ------------------------------


async def _budget_on_async_store(store) -> None:
    from langchain.agents import create_agent

    from langchain_prompt_optimization.testing import ScriptedChatModel

    from .conftest import Context, email_reply
    from .test_no_blocking import _on_loop

    clock = Clock()
    optimizer = ScriptedOptimizerModel()
    mw = PromptOptimizationMiddleware(
        optimizer=optimizer, budget=Budget(max_optimizer_calls=1, per="global", clock=clock)
    )
    agent = create_agent(
        ScriptedChatModel(responses=email_reply),
        system_prompt=BASE_PROMPT,
        middleware=[mw],
        store=store,
        context_schema=Context,
    )

    async def feedback(user: str, text: str) -> str:
        run = await _on_loop(
            agent.ainvoke({"messages": [("user", "Hi")]}, context=Context(user_id=user))
        )
        return await _on_loop(mw.aadd_feedback(run["trajectory_id"], text))

    await feedback("jane", SIGN_RULE)
    fid = await feedback("bob", SIGN_RULE)
    outcome = await _on_loop(mw.aoptimize_now("bob"))
    assert (outcome.status, outcome.feedback_ids) == ("over_budget", (fid,))
    assert len(optimizer.requests) == 1
    registry = PromptRegistry(store)
    report = await _on_loop(registry.abudget_usage(per="global", at=_utc(clock.now)))
    assert report.usage["optimizer_calls"] == 1
    clock.next_day()
    assert (await _on_loop(mw.aoptimize_now("bob"))).status == "optimized"


async def test_budgets_on_an_async_sqlite_store_never_block(tmp_path):
    from langchain_prompt_optimization import aopen_store

    from .test_no_blocking import _on_loop

    store = await _on_loop(aopen_store(f"sqlite:///{tmp_path}/store.db"))
    await _budget_on_async_store(store)


async def test_budgets_on_an_async_postgres_store_never_block(pg_uri):
    from langchain_prompt_optimization import aopen_store

    from .test_no_blocking import _on_loop

    store = await _on_loop(aopen_store(pg_uri))
    try:
        await _budget_on_async_store(store)
    finally:
        await store.conn.close()
