"""Edge cases: what users send that must neither fail a run nor corrupt what is stored."""

from __future__ import annotations

import logging

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptOptimizationMiddleware, PromptRegistry
from langchain_prompt_optimization.testing import ScriptedChatModel

from .conftest import BASE_PROMPT, SIGN_RULE, Context, make_harness


def test_edited_json_example_reaches_the_model_with_single_braces(store):
    template = 'Reply as JSON like {"ok": true}.'
    edited = 'Reply as JSON like {"ok": true, "sig": "JD"}. Be brief.'
    h = make_harness(store, system_prompt=template, rewrite=lambda cur, text: edited)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Add the signature field.")
    h.ask("u")
    assert h.model.requests[-1].system_prompt == edited


def test_lone_surrogate_user_id_gets_its_own_namespace(store):
    h = make_harness(store)
    result = h.agent.invoke({"messages": [("user", "hi")]}, context=Context("jane\ud800"))
    assert result["messages"][-1].content
    assert PromptRegistry(store).users() == ["jane\ud800"]
    assert [v.version for v in PromptRegistry(store).history("jane\ud800")] == [1]


@pytest.mark.parametrize(
    "feedback",
    [{1: "int key"}, {"score": 1, "nested": {"x": float("nan")}}, {"t": object()}, "bad \ud800"],
)
def test_feedback_that_would_not_store_identically_is_refused(store, feedback):
    h = make_harness(store)
    tid = h.ask("u")["trajectory_id"]
    with pytest.raises(TypeError):
        h.middleware.add_feedback(tid, feedback)
    assert PromptRegistry(store).feedback("u", pending_only=False) == []


def test_bad_in_band_feedback_is_ignored_and_the_run_still_recorded(store, caplog):
    from langgraph.checkpoint.memory import InMemorySaver

    h = make_harness(store, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    h.ask("u", config=config)
    with caplog.at_level(logging.WARNING):
        second = h.agent.invoke(
            {"messages": [("user", "again")], "feedback": {1: "int key"}},
            context=Context("u"),
            config=config,
        )
    assert "in-band feedback ignored" in caplog.text
    h.middleware.add_feedback(second["trajectory_id"], "Sign as John Doe.")
    assert PromptRegistry(store).current("u").text.endswith(SIGN_RULE)


def test_unknown_provider_string_fails_at_construction():
    with pytest.raises(ValueError, match="cannot tell its provider"):
        PromptOptimizationMiddleware(optimizer_model="nosuchprovider-model")


def test_a_model_that_cannot_be_created_never_raises_from_add_feedback(store, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    h = make_harness(store, optimizer_model="openai:gpt-4o-mini")
    tid = h.ask("u")["trajectory_id"]
    h.middleware.add_feedback(tid, "Sign as John Doe.")
    outcome = h.middleware.optimize_now("u")
    assert outcome.status == "failed"
    assert "cannot create the optimizer model" in outcome.error
    assert [fb.status for fb in PromptRegistry(store).feedback("u")] == ["pending"]


def test_feedback_by_id_in_a_fresh_process_uses_the_default_store(monkeypatch, tmp_path):
    from langchain.agents import create_agent

    monkeypatch.delenv("PROMPTOPT_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    mw = PromptOptimizationMiddleware()
    agent = create_agent(ScriptedChatModel(responses=["hi"]), system_prompt="Hi.", middleware=[mw])
    tid = agent.invoke({"messages": [("user", "x")]}, context={"user_id": "ann"})["trajectory_id"]
    fresh = PromptOptimizationMiddleware(mode="external")  # another process: no run here
    fresh.add_feedback(tid, "Be warmer.")
    db = tmp_path / "langchain-prompt-optimization" / "store.db"
    assert [fb.trajectory_id for fb in PromptRegistry(f"sqlite:///{db}").feedback("ann")] == [tid]


def test_feedback_that_always_breaks_the_optimizer_is_set_aside(store):
    def rewrite(current, text):
        if "POISON" in text:
            msg = "context_length_exceeded"
            raise RuntimeError(msg)
        return f"{current}\n{SIGN_RULE}"

    h = make_harness(store, rewrite=rewrite)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "POISON")
    for _ in range(2):
        assert h.middleware.optimize_now("u").status == "failed"
    (poison,) = PromptRegistry(store).feedback("u", pending_only=False)
    assert (poison.status, poison.attempts) == ("failed", 3)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Sign as John Doe.")
    assert PromptRegistry(store).current("u").text == f"{BASE_PROMPT}\n{SIGN_RULE}"


def test_optimizer_input_stays_within_the_trajectory_budget():
    store = InMemoryStore()
    huge = ScriptedChatModel(responses=lambda request: "x" * 200_000)
    h = make_harness(store, model=huge, max_trajectory_chars=8_000)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "y" * 50_000)
    sent = len(h.optimizer.requests[0].text)
    assert sent < 8_000 * 2 + 4_000  # trajectory + feedback budgets + langmem's template
    assert "characters cut" in h.optimizer.requests[0].text
