"""Online monitoring: scores per version, auto-rollback on a regression, the paused lineage."""

from __future__ import annotations

import json

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    InvalidTransitionError,
    Monitor,
    PromptOptimizationMiddleware,
    PromptRegistry,
    PromptWorker,
    open_store,
)
from langchain_prompt_optimization.review.cli import main
from langchain_prompt_optimization.testing import ScriptedOptimizerModel
from langchain_prompt_optimization.testing.models import append_feedback

from .conftest import BASE_PROMPT, Context, make_harness

K = 3
MONITOR = Monitor(min_runs=K, margin=0.1)


def harness(store, **kwargs):
    kwargs.setdefault("optimize_every", K)
    kwargs.setdefault("monitor", MONITOR)
    return make_harness(store, rewrite=append_feedback, **kwargs)


def score_round(h, score, tag, user="jane", runs=K):
    """K runs of the user's agent, each with scored feedback (triggers one optimization)."""
    for i in range(runs):
        result = h.ask(user)
        h.middleware.add_feedback(result["trajectory_id"], f"{tag} note {i}.", score=score)
    return result


async def ascore_round(h, score, tag, user="jane"):
    for i in range(K):
        result = await h.aask(user)
        await h.middleware.aadd_feedback(result["trajectory_id"], f"{tag} note {i}.", score=score)
    return result


REASON = (
    "auto-rollback: v2 mean 0.00 over 3 scored runs is below parent v1 mean 1.00 "
    "by more than margin 0.10"
)


def assert_rolled_back(store):
    registry = PromptRegistry(store)
    history = registry.history("jane")
    assert [(v.version, v.status) for v in history] == [
        (3, "active"),
        (2, "inactive"),
        (1, "inactive"),
    ]
    v3, v2, v1 = history
    assert v3.text == v1.text == BASE_PROMPT  # byte-identical to the parent
    assert v3.reason == REASON
    assert v3.parent == 2
    assert v3.review["action"] == "auto-rollback"
    assert v3.review["of"] == 1
    assert v3.review["mean"] == 0.0
    assert v3.review["parent_mean"] == 1.0
    assert "base note 0." in v2.text  # nothing rewritten
    assert registry.paused("jane") == REASON
    assert registry.scores("jane") == [
        {"version": 2, "n": 3, "mean": 0.0},
        {"version": 1, "n": 3, "mean": 1.0},
    ]
    consumed = [fb for fb in registry.feedback("jane", pending_only=False) if fb.score == 0.0]
    assert [fb.consumed_by for fb in consumed] == [{"system": 3}] * K
    assert all(fb.prompt_versions == {"system": 2} for fb in consumed)


def assert_paused_then_resumed(h, store):
    registry = PromptRegistry(store)
    history = registry.history("jane")
    v4 = history[0]
    assert (v4.version, v4.status, v4.parent) == (4, "pending", 3)
    assert "paused for review" in v4.reason
    assert REASON in v4.reason
    assert registry.current("jane").version == 3
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    assert registry.resume("jane", note="checked") == REASON
    assert registry.paused("jane") is None
    with pytest.raises(InvalidTransitionError, match="not paused"):
        registry.resume("jane")


@pytest.fixture(params=["memory", "sqlite"])
def any_store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryStore()
    else:
        store = open_store(f"sqlite:///{tmp_path / 'monitor.db'}")
        yield store
        store.conn.close()  # type: ignore[attr-defined]


def test_regression_rolls_back_to_the_parent_and_pauses_the_lineage(any_store):
    h = harness(any_store)
    score_round(h, 1.0, "base")  # v1 serves, scores high -> v2 learned
    assert PromptRegistry(any_store).current("jane").version == 2
    score_round(h, 0.0, "learned")  # v2 serves, scores low -> rolled back
    assert_rolled_back(any_store)
    h.ask("jane")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    score_round(h, 1.0, "after")  # a new candidate is pending, not active
    assert_paused_then_resumed(h, any_store)
    score_round(h, 1.0, "resumed")  # resumed: learned candidates are served again
    registry = PromptRegistry(any_store)
    current = registry.current("jane")
    assert (current.version, current.status) == (5, "active")
    assert "resumed note 0." in current.text
    assert [v.version for v in registry.history("jane")] == [5, 4, 3, 2, 1]
    assert registry.history("jane")[1].status == "superseded"
    h.ask("jane")
    assert h.model.requests[-1].system_prompt == current.text


async def test_async_path_rolls_back_the_same(tmp_path):
    store = InMemoryStore()
    h = harness(store, mode="background")
    await ascore_round(h, 1.0, "base")
    assert await h.middleware.adrain(30)
    await ascore_round(h, 0.0, "learned")
    assert await h.middleware.adrain(30)
    assert_rolled_back(store)
    await ascore_round(h, 1.0, "after")
    assert await h.middleware.adrain(30)
    registry = PromptRegistry(store)
    assert (await registry.acurrent("jane")).version == 3
    assert (await registry.ahistory("jane"))[0].status == "pending"
    assert await registry.ascores("jane") == [
        {"version": 3, "n": 3, "mean": 1.0},
        {"version": 2, "n": 3, "mean": 0.0},
        {"version": 1, "n": 3, "mean": 1.0},
    ]
    assert await registry.apaused("jane") == REASON
    assert await registry.aresume("jane") == REASON
    assert await registry.apaused("jane") is None


def test_optimize_now_reports_rolled_back_without_calling_the_optimizer():
    store = InMemoryStore()
    h = harness(store, mode="external")
    score_round(h, 1.0, "base")
    assert h.middleware.optimize_now("jane").status == "optimized"
    score_round(h, 0.0, "learned")
    calls = len(h.optimizer.requests)
    outcome = h.middleware.optimize_now("jane")
    assert outcome.status == "rolled_back"
    assert outcome.versions["system"].version == 3
    assert outcome.versions["system"].text == BASE_PROMPT
    assert len(outcome.feedback_ids) == K
    assert len(h.optimizer.requests) == calls  # the batch never reached the optimizer
    assert_rolled_back(store)


@pytest.mark.parametrize(
    ("monitor", "low"),
    [
        (MONITOR, 0.95),  # the drop is within the margin
        (Monitor(min_runs=K + 1, margin=0.1), 0.0),  # fewer than min_runs scored runs
        (Monitor(min_runs=K, margin=0.1, enabled=False), 0.0),
        (None, 0.0),
    ],
)
def test_no_rollback_within_margin_below_min_runs_or_disabled(monitor, low):
    store = InMemoryStore()
    h = harness(store, monitor=monitor)
    score_round(h, 1.0, "base")
    score_round(h, low, "learned")
    registry = PromptRegistry(store)
    history = registry.history("jane")
    assert [(v.version, v.status) for v in history] == [
        (3, "active"),
        (2, "inactive"),
        (1, "inactive"),
    ]
    assert all(v.review is None for v in history)
    assert "learned note 0." in history[0].text
    assert registry.paused("jane") is None
    assert registry.scores("jane")[0] == {"version": 2, "n": 3, "mean": pytest.approx(low)}


def test_scores_are_counted_once_when_the_optimizer_fails_then_succeeds():
    store = InMemoryStore()
    h = harness(store)
    h.optimizer.fail_with = RuntimeError("provider down")
    score_round(h, 1.0, "base")
    registry = PromptRegistry(store)
    assert registry.history("jane")[0].status == "failed"
    assert registry.scores("jane") == []  # nothing consumed, nothing counted
    h.optimizer.fail_with = None
    assert h.middleware.optimize_now("jane").status == "optimized"
    assert registry.scores("jane") == [{"version": 1, "n": 3, "mean": 1.0}]
    assert h.middleware.optimize_now("jane").status == "no_feedback"
    assert registry.scores("jane") == [{"version": 1, "n": 3, "mean": 1.0}]
    score_round(h, 0.0, "learned")
    v4 = registry.current("jane")
    assert v4.version == 4
    assert v4.text == BASE_PROMPT
    assert v4.reason == REASON.replace("v2 mean", "v3 mean")
    assert registry.scores("jane") == [
        {"version": 3, "n": 3, "mean": 0.0},
        {"version": 1, "n": 3, "mean": 1.0},
    ]


def test_in_band_feedback_is_attributed_to_the_versions_that_served_the_run():
    store = InMemoryStore()
    h = harness(store, optimize_every=1)
    config = {"configurable": {"thread_id": "t-1"}}
    h.ask("jane", config=config)
    h.agent.invoke(
        {"messages": [("user", "Again.")], "feedback": {"comment": "Great.", "score": 1.0}},
        context=Context("jane"),
        config=config,
    )
    (item,) = PromptRegistry(store).feedback("jane", pending_only=False)
    assert item.source == "in_band"
    assert item.prompt_versions == {"system": 1}
    assert PromptRegistry(store).scores("jane") == [{"version": 1, "n": 1, "mean": 1.0}]


def test_worker_applies_the_monitor_the_middleware_recorded(tmp_path):
    uri = f"sqlite:///{tmp_path / 'worker.db'}"
    store = open_store(uri)
    h = harness(store, mode="external")  # min_runs=3 recorded; the default would be 5
    worker = PromptWorker(store, optimizer_model=ScriptedOptimizerModel(rewrite=append_feedback))
    score_round(h, 1.0, "base")
    assert worker.run_once() == 1
    score_round(h, 0.0, "learned")
    assert worker.run_once() == 1
    assert_rolled_back(store)
    store.conn.close()  # type: ignore[attr-defined]


def test_worker_does_not_roll_back_when_the_middleware_disabled_monitoring():
    store = InMemoryStore()
    h = harness(store, mode="external", monitor=None)
    worker = PromptWorker(store, optimizer_model=ScriptedOptimizerModel(rewrite=append_feedback))
    score_round(h, 1.0, "base")
    worker.run_once()
    score_round(h, 0.0, "learned", runs=5)  # enough for the default Monitor() to roll back
    worker.run_once()
    current = PromptRegistry(store).current("jane")
    assert current.version == 3
    assert "learned note 0." in current.text


def test_approving_or_rolling_back_resumes_the_lineage():
    store = InMemoryStore()
    h = harness(store)
    score_round(h, 1.0, "base")
    score_round(h, 0.0, "learned")
    score_round(h, 1.0, "after")
    registry = PromptRegistry(store)
    assert registry.paused("jane") == REASON
    registry.approve("jane", 4, note="fine")
    assert registry.paused("jane") is None
    assert registry.current("jane").version == 4
    score_round(h, 1.0, "more")
    assert registry.current("jane").version == 5  # activated: no longer paused

    store = InMemoryStore()
    h = harness(store)
    score_round(h, 1.0, "base")
    score_round(h, 0.0, "learned")
    registry = PromptRegistry(store)
    registry.rollback("jane", 2, note="try it again")
    assert registry.paused("jane") is None


def test_cli_history_shows_scores_and_paused_and_resume_clears_it(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(uri)
    h = harness(store)
    score_round(h, 1.0, "base")
    score_round(h, 0.0, "learned")
    store.conn.close()  # type: ignore[attr-defined]
    capsys.readouterr()

    assert main(["--store", uri, "--json", "history", "jane"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paused"] == data["hold"] == REASON
    assert data["scores"] == [
        {"version": 2, "n": 3, "mean": 0.0},
        {"version": 1, "n": 3, "mean": 1.0},
    ]
    assert [v["version"] for v in data["versions"]] == [3, 2, 1]

    assert main(["--store", uri, "history", "jane"]) == 0
    human = capsys.readouterr().out
    assert "PAUSED for review" in human
    assert "0.00 n=3" in human
    assert "1.00 n=3" in human

    assert main(["--store", uri, "--json", "resume", "jane", "--note", "ok"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "user_id": "jane",
        "prompt": "system",
        "resumed": REASON,
        "released": REASON,
    }
    assert main(["--store", uri, "resume", "jane"]) == 2
    assert "not paused" in capsys.readouterr().err
    assert main(["--store", uri, "resume", "nobody"]) == 1
    assert main(["--store", uri, "--json", "history", "jane"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["paused"] is None
    assert data["hold"] is None


def test_bad_monitor_config_fails_fast():
    for bad in ({"min_runs": 0}, {"min_runs": True}, {"margin": -0.1}, {"margin": float("nan")}):
        with pytest.raises(ValueError, match="Monitor"):
            Monitor(**bad)
    with pytest.raises(ValueError, match="enabled"):
        Monitor(enabled="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="monitor must be a Monitor"):
        PromptOptimizationMiddleware(monitor={"min_runs": 3})  # type: ignore[arg-type]


def test_old_records_without_monitoring_fields_still_load():
    from langchain_prompt_optimization.stores import ActivePrompt, FeedbackItem, PromptConfig

    item = FeedbackItem.from_json(
        {
            "id": "f",
            "trajectory_id": "t",
            "feedback": "x",
            "status": "pending",
            "created_at": "2026-01-01T00:00:00+00:00",
        }
    )
    assert item.prompt_versions is None
    assert ActivePrompt.from_json({"version": 2, "text": "t", "latest": 2}).paused is None
    assert PromptConfig.from_json({}).monitor is None
    assert Monitor.from_json(None) == Monitor()


def test_feedback_carried_to_a_new_base_is_not_counted_twice():
    store = InMemoryStore()
    score_round(harness(store), 1.0, "base")
    moved = harness(store, system_prompt=f"{BASE_PROMPT} Be kind.", on_base_change="carry")
    moved.ask("jane")  # observes the new base in code
    moved.ask("jane")  # starts the new lineage, re-learns the carried feedback on it
    registry = PromptRegistry(store)
    assert [fb.status for fb in registry.feedback("jane", pending_only=False)] == ["consumed"] * K
    assert "base note 0." in registry.current("jane").text
    assert registry.scores("jane") == [{"version": 1, "n": 3, "mean": 1.0}]


def test_a_fault_in_monitoring_never_blocks_learning_or_the_run(monkeypatch, caplog):
    import langchain_prompt_optimization.optimizer.rollback as rollback

    def broken(*args, **kwargs):
        raise RuntimeError("monitoring bug")

    monkeypatch.setattr(rollback, "find_regression", broken)
    store = InMemoryStore()
    h = harness(store)
    score_round(h, 1.0, "base")
    result = score_round(h, 0.0, "learned")
    assert result["messages"][-1].content  # the run answered
    current = PromptRegistry(store).current("jane")
    assert current.version == 3  # optimized as usual, not rolled back
    assert "monitoring bug" in caplog.text
