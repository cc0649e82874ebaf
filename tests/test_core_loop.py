"""The core loop through create_agent: run, feedback, optimize, next run gets the new prompt."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from langchain_prompt_optimization import (
    PromptOptimizationMiddleware,
    PromptRegistry,
    TrajectoryNotFoundError,
)

from .conftest import BASE_PROMPT, SIGN_RULE, Context, make_harness

KINDS = ["prompt_memory", "metaprompt", "gradient"]


@pytest.mark.parametrize("kind", KINDS)
def test_feedback_rewrites_the_next_run_prompt_for_that_user_only(store, kind):
    h = make_harness(store, kind=kind)
    first = h.ask("jane.doe@example.com")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    assert "John Doe" not in first["messages"][-1].content
    assert first["prompt_versions"] == {"system": 1}
    assert isinstance(first["trajectory_id"], str)

    h.middleware.add_feedback(first["trajectory_id"], "Always sign emails as John Doe.")

    second = h.ask("jane.doe@example.com")
    assert h.model.requests[-1].system_prompt == f"{BASE_PROMPT}\n{SIGN_RULE}"
    assert second["messages"][-1].content.endswith("-- John Doe")
    assert second["prompt_versions"] == {"system": 2}

    h.ask("john.smith@example.com")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT

    history = PromptRegistry(store).history("jane.doe@example.com")
    assert [(v.version, v.status) for v in history] == [(2, "active"), (1, "inactive")]
    assert history[0].optimizer_kind == kind
    assert history[0].parent == 1
    assert history[1].text == BASE_PROMPT
    assert history[0].reason
    assert history[0].created_at >= history[1].created_at
    assert PromptRegistry(store).current("jane.doe@example.com").version == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_async_path_learns_the_same(store, kind):
    h = make_harness(store, kind=kind)
    first = await h.aask("jane.doe@example.com")
    await h.middleware.aadd_feedback(first["trajectory_id"], "Always sign emails as John Doe.")
    second = await h.aask("jane.doe@example.com")
    assert h.model.requests[-1].system_prompt == f"{BASE_PROMPT}\n{SIGN_RULE}"
    assert second["prompt_versions"] == {"system": 2}
    await h.aask("someone-else")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    current = await PromptRegistry(store).acurrent("jane.doe@example.com")
    assert current.text == f"{BASE_PROMPT}\n{SIGN_RULE}"


def test_kinds_make_the_documented_number_of_optimizer_calls(store):
    calls = {}
    for kind in KINDS:
        h = make_harness(store, kind=kind, namespace_prefix=("po", kind))
        result = h.ask("u")
        h.middleware.add_feedback(result["trajectory_id"], "Sign as John Doe.")
        calls[kind] = len(h.optimizer.requests)
        version = PromptRegistry(store, namespace_prefix=("po", kind)).current("u")
        assert version.usage["optimizer_calls"] == calls[kind]
        assert version.usage["calls"] >= calls[kind]  # the screening judge's call counts too
        assert version.usage["input_tokens"] > 0
    assert calls["prompt_memory"] == 1
    assert calls["metaprompt"] == 5  # langmem default max_reflection_steps
    assert calls["gradient"] == 3  # think, recommend, update


def test_feedback_with_the_id_alone_from_another_middleware_instance(store):
    h = make_harness(store)
    result = h.ask("jane.doe@example.com")
    # A different process: only the store and the trajectory id are shared.
    other = make_harness(store).middleware
    other_store_mw = PromptOptimizationMiddleware(
        store=store, optimizer_model=h.optimizer, optimize_every=1
    )
    del other
    other_store_mw.add_feedback(result["trajectory_id"], "Always sign emails as John Doe.")
    assert PromptRegistry(store).current("jane.doe@example.com").text.endswith(SIGN_RULE)
    h.ask("jane.doe@example.com")
    assert h.model.requests[-1].system_prompt.endswith(SIGN_RULE)


def test_unknown_or_malformed_trajectory_id_raises_keyerror(store):
    h = make_harness(store)
    h.ask("u")
    for bad in ["nope", "0" * 24 + "-" + "0" * 32, ""]:
        with pytest.raises(KeyError) as info:
            h.middleware.add_feedback(bad, "x")
        assert isinstance(info.value, TrajectoryNotFoundError)
        assert "unknown trajectory id" in str(info.value)
    real = h.ask("u")["trajectory_id"]
    forged = real[:25] + "f" * 32
    with pytest.raises(TrajectoryNotFoundError, match="no such trajectory"):
        h.middleware.add_feedback(forged, "x")


def test_bad_feedback_values_are_rejected_before_anything_is_stored(store):
    h = make_harness(store)
    tid = h.ask("u")["trajectory_id"]
    with pytest.raises(ValueError, match="empty"):
        h.middleware.add_feedback(tid, "   ")
    with pytest.raises(TypeError):
        h.middleware.add_feedback(tid, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        h.middleware.add_feedback(tid, "ok", score="high")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        h.middleware.add_feedback(tid, "ok", score=float("nan"))
    assert PromptRegistry(store).history("u")[0].version == 1


def test_optimize_every_waits_for_enough_feedback(store):
    h = make_harness(store, optimize_every=3)
    ids = [h.ask("u")["trajectory_id"] for _ in range(3)]
    h.middleware.add_feedback(ids[0], "Sign as John Doe.")
    h.middleware.add_feedback(ids[1], "Sign as John Doe please.", score=0.2)
    assert h.optimizer.requests == []
    assert PromptRegistry(store).current("u").version == 1
    h.middleware.add_feedback(ids[2], {"developer_feedback": "sign as John Doe", "score": 0})
    assert len(h.optimizer.requests) == 1
    assert "score" in h.optimizer.requests[0].text
    current = PromptRegistry(store).current("u")
    assert current.version == 2
    assert len(current.feedback_ids) == 3


def test_in_band_feedback_on_the_same_thread_with_a_checkpointer(store):
    h = make_harness(store, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t-1"}}
    first = h.ask("jane", config=config)
    h.agent.invoke(
        {"messages": [("user", "Write to Ann.")], "feedback": "Always sign emails as John Doe."},
        context=Context(user_id="jane"),
        config=config,
    )
    history = PromptRegistry(store).history("jane")
    assert history[0].text.endswith(SIGN_RULE)
    feedback = history[0].feedback_ids
    assert len(feedback) == 1
    third = h.ask("jane", config=config)
    assert h.model.requests[-1].system_prompt.endswith(SIGN_RULE)
    assert third["trajectory_id"] != first["trajectory_id"]
    # The feedback key does not linger in the thread's state.
    h.ask("jane", config=config)
    assert len(PromptRegistry(store).history("jane")) == 2


def test_in_band_feedback_without_a_checkpointer_uses_the_thread_id(store):
    h = make_harness(store)
    config = {"configurable": {"thread_id": "thread-9"}}
    first = h.ask("jane", config=config)
    h.agent.invoke(
        {"messages": [("user", "again")], "feedback": "Sign as John Doe."},
        context=Context(user_id="jane"),
        config=config,
    )
    current = PromptRegistry(store).current("jane")
    assert current.version == 2
    (item,) = PromptRegistry(store).feedback("jane", pending_only=False)
    assert item.trajectory_id == first["trajectory_id"]
    assert item.source == "in_band"
    assert item.status == "consumed"
    assert current.feedback_ids == (item.id,)


async def test_in_band_feedback_async(store):
    h = make_harness(store, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t-async"}}
    await h.aask("jane", config=config)
    await h.agent.ainvoke(
        {"messages": [("user", "again")], "feedback": "Sign as John Doe."},
        context=Context(user_id="jane"),
        config=config,
    )
    assert (await PromptRegistry(store).acurrent("jane")).version == 2


def test_background_mode_never_delays_and_drain_waits(store):
    import threading

    release = threading.Event()

    def slow_rewrite(current, text):
        release.wait(60)  # give-up limit: the test releases it
        return f"{current}\n{SIGN_RULE}"

    h = make_harness(store, rewrite=slow_rewrite, mode="background")
    tid = h.ask("u")["trajectory_id"]
    h.middleware.add_feedback(tid, "Sign as John Doe.")  # returns while the optimizer blocks
    h.ask("u")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    release.set()
    assert h.middleware.drain(timeout=60)
    h.ask("u")
    assert h.model.requests[-1].system_prompt.endswith(SIGN_RULE)
    h.middleware.close()


async def test_background_mode_async_tasks_and_adrain(store):
    h = make_harness(store, mode="background")
    tid = (await h.aask("u"))["trajectory_id"]
    await h.middleware.aadd_feedback(tid, "Sign as John Doe.")
    assert await h.middleware.adrain(timeout=60)
    await h.aask("u")
    assert h.model.requests[-1].system_prompt.endswith(SIGN_RULE)


def test_external_mode_only_records_and_optimize_now_runs(store):
    h = make_harness(store, mode="external")
    tid = h.ask("u")["trajectory_id"]
    h.middleware.add_feedback(tid, "Sign as John Doe.")
    assert h.optimizer.requests == []
    assert PromptRegistry(store).current("u").version == 1
    outcome = h.middleware.optimize_now("u")
    assert outcome.status == "optimized"
    assert outcome.versions["system"].version == 2
    assert h.middleware.optimize_now("u").status == "no_feedback"


async def test_aoptimize_now(store):
    h = make_harness(store, mode="external")
    tid = (await h.aask(None))["trajectory_id"]
    await h.middleware.aadd_feedback(tid, "Sign as John Doe.")
    outcome = await h.middleware.aoptimize_now(None)
    assert outcome.status == "optimized"
    await h.aask(None)
    assert h.model.requests[-1].system_prompt.endswith(SIGN_RULE)
    assert PromptRegistry(store).users() == [None]


def test_named_prompts_are_optimized_together_and_readable_per_user(store):
    triage = {
        "name": "triage",
        "prompt": "Ignore newsletters.",
        "when_to_update": "feedback about which emails to ignore",
    }

    def rewrite(current, text):
        if current.startswith("Ignore") and "newsletter from Acme" in text:
            return f"{current} Never ignore Acme."
        return current

    def classify(choices, text):
        return ["triage"] if "newsletter" in text else ["system"]

    h = make_harness(store, rewrite=rewrite, prompts=[triage])
    h.optimizer.classify = classify
    result = h.ask("u")
    assert result["prompt_versions"] == {"system": 1, "triage": 1}
    assert h.middleware.get_prompt("triage", user_id="u") == "Ignore newsletters."
    h.middleware.add_feedback(result["trajectory_id"], "The newsletter from Acme matters.")
    assert (
        h.middleware.get_prompt("triage", user_id="u") == "Ignore newsletters. Never ignore Acme."
    )
    assert h.middleware.get_prompt("triage", user_id="v") == "Ignore newsletters."
    assert h.middleware.get_prompt(user_id="u") == BASE_PROMPT
    assert PromptRegistry(store).current("u", prompt="triage").version == 2
    assert PromptRegistry(store).current("u").version == 1
    after = h.ask("u")
    assert after["prompt_versions"] == {"system": 1, "triage": 2}
    with pytest.raises(KeyError):
        h.middleware.get_prompt("nope", user_id="u")


async def test_named_prompt_async_read(store):
    h = make_harness(store, prompts=[{"name": "tone", "prompt": "Be brief."}])
    await h.aask("u")
    assert await h.middleware.aget_prompt("tone", user_id="u") == "Be brief."


def test_prompt_for_run_reads_the_pinned_text(store):
    h = make_harness(store, prompts=[{"name": "tone", "prompt": "Be brief."}])
    state = h.ask("u")
    assert h.middleware.prompt_for_run(state, "tone") == "Be brief."
    with pytest.raises(KeyError):
        h.middleware.prompt_for_run(state, "missing")


def test_history_survives_a_new_middleware_and_registry(store):
    h = make_harness(store)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Sign as John Doe.")
    again = make_harness(store)
    again.ask("u")
    assert again.model.requests[-1].system_prompt.endswith(SIGN_RULE)
    assert PromptRegistry(store).users() == ["u"]


def test_feedback_must_be_json(store):
    import datetime

    h = make_harness(store)
    tid = h.ask("u")["trajectory_id"]
    with pytest.raises(TypeError, match="JSON-serializable"):
        h.middleware.add_feedback(tid, {"when": datetime.datetime.now()})


def test_concurrent_optimizations_of_one_user_never_fork_versions(store):
    """Two middleware instances (as two app replicas in one process) race on one store."""
    import threading

    started = threading.Event()
    release = threading.Event()

    def slow(current, text):
        started.set()
        release.wait(60)  # give-up limit: the test releases it
        return f"{current}\n{SIGN_RULE}"

    h = make_harness(store, rewrite=slow, mode="external")
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "John Doe")
    other = make_harness(store, rewrite=slow, mode="external")
    other.ask("v")  # a replica that has served a run knows the store
    first = threading.Thread(target=h.middleware.optimize_now, args=("u",))
    first.start()
    assert started.wait(60)
    assert other.middleware.optimize_now("u").status == "busy"
    assert h.middleware.optimize_now("u").status == "busy"
    release.set()
    first.join(60)
    assert len(h.optimizer.requests) == 1
    assert other.optimizer.requests == []
    history = PromptRegistry(store).history("u")
    assert [(v.version, v.status) for v in history] == [(2, "active"), (1, "inactive")]
    assert other.middleware.optimize_now("u").status == "no_feedback"


def test_two_optimizers_reading_the_lease_at_once_do_not_both_win(store):
    """Both read the lease before either writes it: only one may commit a version.

    On a store without an atomic lease (InMemoryStore here) both may call the optimizer;
    the loser finds at commit time that it lost the lease and reports `busy`. SQLite and
    PostgreSQL take the lease in one statement, so there the race cannot start."""
    import threading

    from langgraph.store.base import GetOp
    from langgraph.store.memory import InMemoryStore

    from langchain_prompt_optimization.testing import InstrumentedStore

    barrier = threading.Barrier(2)

    class PausingStore(InstrumentedStore):
        def batch(self, ops):
            ops = list(ops)
            me = threading.current_thread()
            reads_lease = any(isinstance(op, GetOp) and op.key == "lease" for op in ops)
            if reads_lease and me.name.startswith("racer") and not getattr(me, "paused", False):
                me.paused = True  # type: ignore[attr-defined]
                result = self.inner.batch(ops)
                barrier.wait(timeout=60)  # both racers have read the lease
                return result
            return self.inner.batch(ops)

    # One store object per racer, as two app replicas have: this process's in-memory claim
    # (per store object) lets both through to the store lease, where the race is.
    racers = [
        make_harness(
            PausingStore(store), mode="external", rewrite=lambda cur, text, t=tag: f"{cur}\n{t}"
        )
        for tag in ("RULE A", "RULE B")
    ]
    racers[0].middleware.add_feedback(racers[0].ask("u")["trajectory_id"], "x")
    racers[1].ask("v")
    outcomes = {}
    threads = [
        threading.Thread(
            name=f"racer-{i}",
            target=lambda i=i: outcomes.__setitem__(i, racers[i].middleware.optimize_now("u")),
        )
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # The loser is either turned away (`busy`) or, if it got the lease once the winner was
    # done, finds the feedback consumed (`no_feedback`).
    assert sorted(o.status for o in outcomes.values()) in (
        ["busy", "optimized"],
        ["no_feedback", "optimized"],
    )
    if isinstance(store, InMemoryStore):  # the race happened: both read, then both went on
        assert all(getattr(t, "paused", False) for t in threads)
        assert not barrier.broken
    history = PromptRegistry(store).history("u")
    assert [v.version for v in history] == [2, 1]
    (winner,) = [i for i, o in outcomes.items() if o.status == "optimized"]
    assert history[0].text.endswith(("RULE A", "RULE B")[winner])


def test_outcome_reports_optimizer_usage_even_when_no_prompt_changed():
    from langgraph.store.memory import InMemoryStore

    h = make_harness(InMemoryStore(), mode="external")
    h.middleware.add_feedback(h.ask("kim")["trajectory_id"], "Nothing to change.")
    outcome = h.middleware.optimize_now("kim")
    assert outcome.status == "unchanged"
    assert outcome.usage["calls"] >= 1
    assert outcome.usage["input_tokens"] > 0
