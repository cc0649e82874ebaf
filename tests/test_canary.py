"""Canary rollout: arms split by thread (user), one arm per run, a test decides, reviewers stop."""

from __future__ import annotations

import json

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    Canary,
    InvalidTransitionError,
    PromptOptimizationMiddleware,
    PromptRegistry,
    PromptWorker,
    open_store,
)
from langchain_prompt_optimization.optimizer.canary import decide_canary, welch_t_test
from langchain_prompt_optimization.review.cli import main
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.stores.canary_record import in_canary_arm
from langchain_prompt_optimization.testing import ScriptedOptimizerModel
from langchain_prompt_optimization.testing.models import append_feedback

from .conftest import BASE_PROMPT, make_harness

TONE = {"name": "tone", "prompt": "Be brief."}
ROLLOUT = Canary(fraction=0.5, min_runs=3)


def harness(store, **kwargs):
    kwargs.setdefault("rollout", ROLLOUT)
    return make_harness(store, rewrite=append_feedback, prompts=[TONE], **kwargs)


def on_thread(thread):
    return {"config": {"configurable": {"thread_id": thread}}}


def start_canary(h, user="jane"):
    """One scored run whose feedback makes a candidate set: it becomes the canary (v2)."""
    first = h.ask(user, **on_thread("seed"))
    h.middleware.add_feedback(first["trajectory_id"], "Mention the due date.", score=0.5)
    registry = PromptRegistry(h.store)
    assert [(v.version, v.status) for v in registry.history(user)][:2] == [
        (2, "canary"),
        (1, "active"),
    ]
    assert registry.current(user).version == 1  # the active version is unchanged
    return registry


def canary_id(store, user="jane", prompt="system"):
    active, _ = drive(StoreLayout().read_active(UserRef.of(user), [prompt]), store)
    return active[prompt].canary["id"]


def check_run(h, result):
    """The run was served one arm, whole: both prompts' versions, the text the model saw."""
    versions = result["prompt_versions"]
    assert versions["system"] == versions["tone"]  # never mixed
    registry = PromptRegistry(h.store)
    served = {v.version: v.text for v in registry.history("jane")}
    assert h.model.requests[-1].system_prompt == served[versions["system"]]
    return "canary" if versions["system"] == 2 else "active"


def run_arms(h, scores, threads=40):
    """Runs on fresh threads, scored by arm, until the canary is decided."""
    registry = PromptRegistry(h.store)
    arms = []
    for i in range(threads):
        result = h.ask("jane", **on_thread(f"t{i}"))
        arm = check_run(h, result)
        arms.append(arm)
        h.middleware.add_feedback(result["trajectory_id"], f"Note {i}.", score=scores[arm])
        recorded = {fb.trajectory_id: fb for fb in registry.feedback("jane", pending_only=False)}
        assert recorded[result["trajectory_id"]].prompt_versions == result["prompt_versions"]
        if registry.history("jane")[-2].status != "canary":  # v2 decided
            return arms
    pytest.fail(f"the canary was not decided after {threads} runs: {arms}")


# -- the policy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fraction": 0}, "fraction"),
        ({"fraction": 1.0}, "fraction"),
        ({"fraction": True}, "fraction"),
        ({"min_runs": 0}, "min_runs"),
        ({"min_runs": 2.5}, "min_runs"),
        ({"alpha": 0.9}, "alpha"),
        ({"min_runs": 10, "max_runs": 5}, "max_runs"),
    ],
)
def test_bad_canary_settings_fail_fast(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Canary(**kwargs)


def test_rollout_must_be_a_canary():
    with pytest.raises(TypeError, match="rollout must be a Canary"):
        PromptOptimizationMiddleware(rollout={"fraction": 0.2})  # type: ignore[arg-type]


def test_welch_t_test_matches_the_reference_value():
    # scipy.stats.ttest_ind([1, 2, 3, 4, 5], [2, 3, 4, 5, 6], equal_var=False).pvalue
    assert welch_t_test([1, 2, 3, 4, 5], [2, 3, 4, 5, 6]) == pytest.approx(0.346593507, abs=1e-6)
    assert welch_t_test([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert welch_t_test([1.0, 1.0], [0.0, 0.0]) == 0.0


def test_decision_needs_min_runs_per_arm_and_significance():
    policy = Canary(fraction=0.5, min_runs=3, max_runs=6)
    assert decide_canary(policy, [1.0] * 9, [0.0, 0.0]).decision == "continue"
    promoted = decide_canary(policy, [1.0, 1.0, 0.9], [0.0, 0.1, 0.0])
    assert promoted.decision == "promote"
    assert promoted.to_json()["canary"] == {"n": 3, "mean": pytest.approx(2.9 / 3)}
    assert promoted.to_json()["test"] == "welch-t"
    assert decide_canary(policy, [0.0, 0.1, 0.0], [1.0, 1.0, 0.9]).decision == "reject"
    noisy = [0.0, 1.0, 0.5]
    assert decide_canary(policy, noisy, noisy).decision == "continue"
    inconclusive = decide_canary(policy, noisy * 2, noisy * 2)
    assert (inconclusive.decision, inconclusive.why[:17]) == ("reject", "no significant di")


def test_arms_split_near_the_fraction_and_are_sticky():
    keys = [f"thread:{i}" for i in range(10_000)]
    chosen = [in_canary_arm("abc123", 0.2, key) for key in keys]
    assert 1_800 <= sum(chosen) <= 2_200  # a deterministic hash: the same count on every run
    assert chosen == [in_canary_arm("abc123", 0.2, key) for key in keys]
    other = [in_canary_arm("def456", 0.2, key) for key in keys]
    assert other != chosen  # each canary draws its own arm


# -- through create_agent, on every backend ----------------------------------------------------


def test_candidate_starts_as_a_canary_serving_a_fraction_of_threads(store):
    h = harness(store)
    start_canary(h)
    cid = canary_id(store)
    assert canary_id(store, prompt="tone") == cid  # one candidate set, one arm choice
    arms = {}
    for i in range(30):
        result = h.ask("jane", **on_thread(f"t{i}"))
        arms[f"t{i}"] = check_run(h, result)
        assert arms[f"t{i}"] == ("canary" if in_canary_arm(cid, 0.5, f"thread:t{i}") else "active")
    assert set(arms.values()) == {"canary", "active"}
    for thread in ("t0", "t1", "t2", "t3"):  # sticky per thread
        assert check_run(h, h.ask("jane", **on_thread(thread))) == arms[thread]


def test_canary_scoring_better_is_promoted_with_its_evidence(store):
    h = harness(store)
    start_canary(h)
    arms = run_arms(h, {"canary": 1.0, "active": 0.0})
    registry = PromptRegistry(store)
    for prompt in ("system", "tone"):
        v2 = next(v for v in registry.history("jane", prompt=prompt) if v.version == 2)
        assert v2.status == "active"
        assert v2.replaced == 1
        evidence = v2.canary
        assert evidence["decision"] == "promote"
        assert evidence["test"] == "welch-t"
        assert evidence["canary"] == {"n": arms.count("canary"), "mean": 1.0}
        assert evidence["active"] == {"n": arms.count("active"), "mean": 0.0}
        assert min(evidence["canary"]["n"], evidence["active"]["n"]) == 3
        assert evidence["p_value"] == 0.0
    # The feedback that waited is learned from next: a new canary, built on the promoted v2.
    v3 = registry.history("jane")[0]
    assert (v3.version, v3.status, v3.parent) == (3, "canary", 2)
    assert "Note 0." in v3.text


def test_canary_scoring_worse_is_rejected_and_the_active_stays(store):
    h = harness(store)
    start_canary(h)
    run_arms(h, {"canary": 0.0, "active": 1.0})
    registry = PromptRegistry(store)
    v2 = next(v for v in registry.history("jane") if v.version == 2)
    assert v2.status == "rejected"
    assert v2.canary["decision"] == "reject"
    assert v2.canary["canary"]["mean"] == 0.0
    assert v2.canary["active"]["mean"] == 1.0
    assert v2.reason.startswith("canary rejected: canary scores lower")
    assert registry.current("jane").version == 1
    assert registry.current("jane").text == BASE_PROMPT


def test_a_reviewer_stops_the_canary_and_everyone_gets_the_active(store):
    h = harness(store)
    registry = start_canary(h)
    stopped = registry.stop_canary("jane", note="off-brand")
    assert sorted((v.prompt, v.version, v.status) for v in stopped) == [
        ("system", 2, "rejected"),
        ("tone", 2, "rejected"),
    ]
    v2 = next(v for v in registry.history("jane") if v.version == 2)
    assert v2.review["action"] == "canary-stop"
    assert v2.reason == "canary stopped by a reviewer: off-brand"
    for i in range(12):
        assert h.ask("jane", **on_thread(f"t{i}"))["prompt_versions"] == {"system": 1, "tone": 1}
    with pytest.raises(InvalidTransitionError, match="no canary runs"):
        registry.stop_canary("jane")


def test_approval_comes_first_then_the_canary(store):
    h = harness(store, require_approval=True)
    first = h.ask("jane", **on_thread("seed"))
    h.middleware.add_feedback(first["trajectory_id"], "Mention the due date.", score=0.5)
    registry = PromptRegistry(store)
    assert registry.history("jane")[0].status == "pending"
    approved = registry.approve("jane", 2)
    assert approved.status == "canary"
    registry.approve("jane", 2, prompt="tone")
    assert canary_id(store) == canary_id(store, prompt="tone")  # approved apart, one arm
    assert registry.current("jane").version == 1
    seen = {check_run(h, h.ask("jane", **on_thread(f"t{i}"))) for i in range(20)}
    assert seen == {"canary", "active"}


def test_a_rollback_stops_the_canary():
    store = InMemoryStore()
    h = harness(store)
    registry = start_canary(h)
    run_arms(h, {"canary": 1.0, "active": 0.0})  # v2 promoted, v3 is the next canary
    assert registry.history("jane")[0].status == "canary"
    registry.rollback("jane", 1, note="back to base")
    history = {v.version: v for v in registry.history("jane")}
    assert history[3].status == "rejected"
    assert history[3].review["action"] == "canary-stop"
    assert registry.current("jane").version == 4
    for i in range(10):
        assert h.ask("jane", **on_thread(f"x{i}"))["prompt_versions"]["system"] == 4


def test_global_scope_assigns_the_arm_per_user():
    store = InMemoryStore()
    h = harness(store, scope="global", require_approval=False)
    first = h.ask("u0", **on_thread("seed"))
    h.middleware.add_feedback(first["trajectory_id"], "Mention the due date.", score=0.5)
    by_user = {}
    for i in range(20):
        user = f"u{i}"
        versions = {
            h.ask(user, **on_thread(f"{user}-{t}"))["prompt_versions"]["system"] for t in range(3)
        }
        assert len(versions) == 1  # every thread of a user: one arm
        by_user[user] = versions.pop()
    assert set(by_user.values()) == {1, 2}


def test_workers_follow_the_recorded_rollout(store):
    h = harness(store, mode="external")
    first = h.ask("jane", **on_thread("seed"))
    h.middleware.add_feedback(first["trajectory_id"], "Mention the due date.", score=0.5)
    worker = PromptWorker(store, optimizer_model=ScriptedOptimizerModel(rewrite=append_feedback))
    worker.run_once()
    registry = PromptRegistry(store)
    assert registry.history("jane")[0].status == "canary"
    for i in range(40):
        result = h.ask("jane", **on_thread(f"t{i}"))
        score = 1.0 if check_run(h, result) == "canary" else 0.0
        h.middleware.add_feedback(result["trajectory_id"], f"Note {i}.", score=score)
        worker.run_once()
        if registry.history("jane")[-2].status != "canary":
            break
    v2 = next(v for v in registry.history("jane") if v.version == 2)
    assert (v2.status, v2.canary["decision"]) == ("active", "promote")
    assert h.optimizer.requests == []  # the app only recorded; the worker did the work


# -- async -------------------------------------------------------------------------------------


async def test_async_canary_is_promoted_then_a_reviewer_stops_the_next():
    store = InMemoryStore()
    h = harness(store)
    first = await h.aask("jane", **on_thread("seed"))
    await h.middleware.aadd_feedback(first["trajectory_id"], "Mention the due date.", score=0.5)
    registry = PromptRegistry(store)
    assert (await registry.ahistory("jane"))[0].status == "canary"
    decided = False
    for i in range(40):
        result = await h.aask("jane", **on_thread(f"t{i}"))
        arm = "canary" if result["prompt_versions"] == {"system": 2, "tone": 2} else "active"
        if arm == "active":
            assert result["prompt_versions"] == {"system": 1, "tone": 1}
        score = 1.0 if arm == "canary" else 0.0
        await h.middleware.aadd_feedback(result["trajectory_id"], f"Note {i}.", score=score)
        history = await registry.ahistory("jane")
        if history[-2].status != "canary":
            decided = True
            break
    if not decided:
        pytest.fail("the canary was not decided after 40 runs")
    v2 = next(v for v in await registry.ahistory("jane") if v.version == 2)
    assert (v2.status, v2.canary["decision"]) == ("active", "promote")
    stopped = await registry.astop_canary("jane", note="enough")
    assert {(v.prompt, v.version) for v in stopped} == {("system", 3), ("tone", 3)}
    result = await h.aask("jane", **on_thread("after"))
    assert result["prompt_versions"] == {"system": 2, "tone": 2}


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_canary_stop(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(uri)
    start_canary(harness(store))
    store.conn.close()  # type: ignore[attr-defined]
    capsys.readouterr()
    assert main(["--store", uri, "--json", "canary", "stop", "jane", "--note", "no"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(v["prompt"], v["version"], v["status"]) for v in data["stopped"]] == [
        ("system", 2, "rejected"),
        ("tone", 2, "rejected"),
    ]
    assert main(["--store", uri, "canary", "stop", "jane"]) != 0
    assert "no canary runs" in capsys.readouterr().err


def test_cli_show_prints_the_evidence_of_a_promoted_canary(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(uri)
    h = harness(store)
    start_canary(h)
    arms = run_arms(h, {"canary": 1.0, "active": 0.0})
    store.conn.close()  # type: ignore[attr-defined]
    capsys.readouterr()
    assert main(["--store", uri, "show", "jane", "--version", "2"]) == 0
    shown = capsys.readouterr().out
    expected = (
        f"canary promote: canary 1.00 n={arms.count('canary')} vs active 0.00 "
        f"n={arms.count('active')}, welch-t p=0 (alpha 0.05)"
    )
    assert expected in shown
    assert main(["--store", uri, "--json", "show", "jane", "--version", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["canary"]["decision"] == "promote"


def test_arm_scores_split_by_served_versions_and_evaluators_can_be_left_out():
    from langchain_prompt_optimization.optimizer.canary import arm_scores
    from langchain_prompt_optimization.stores import FeedbackItem
    from langchain_prompt_optimization.stores.canary_record import CanaryRecord

    group = {
        name: CanaryRecord("c1", name, 3, "text", 2, 0.5, {}, "") for name in ("system", "tone")
    }

    def item(score, versions, source="api"):
        return FeedbackItem.new(
            "t", "fb", score, source=source, user_id="u", user_label="u", prompt_versions=versions
        )

    items = [
        item(1.0, {"system": 3, "tone": 3}),
        item(0.5, {"system": 2, "tone": 2}),
        item(0.9, {"system": 3, "tone": 3}, source="evaluator:judge"),
        item(0.0, {"system": 3, "tone": 2}),  # neither arm: not counted
        item(0.0, {"system": 1, "tone": 1}),  # an older version: not counted
        item(None, {"system": 3, "tone": 3}),  # unscored
    ]
    assert arm_scores(group, items) == ([1.0, 0.9], [0.5])
    assert arm_scores(group, items, count_evaluators=False) == ([1.0], [0.5])
    assert Canary(count_evaluators=False).to_json()["count_evaluators"] is False
    with pytest.raises(ValueError, match="count_evaluators"):
        Canary(count_evaluators="no")  # type: ignore[arg-type]
