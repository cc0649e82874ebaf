"""The user's run never fails because of the middleware; bad configuration fails fast."""

from __future__ import annotations

import logging
import uuid

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptOptimizationMiddleware, PromptRegistry
from langchain_prompt_optimization.testing import (
    InstrumentedStore,
    ScriptedOptimizerModel,
    StoreUnavailableError,
)

from .conftest import BASE_PROMPT, SIGN_RULE, Context, make_harness

LEARNED = f"{BASE_PROMPT}\n{SIGN_RULE}"


def _learned(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Sign as John Doe.")
    h.ask("u")
    assert h.model.requests[-1].system_prompt == LEARNED
    return h, counted


def test_store_down_serves_the_last_good_prompt(store, caplog):
    h, counted = _learned(store)
    counted.down = True
    with caplog.at_level(logging.WARNING):
        result = h.ask("u")
    assert result["messages"][-1].content.endswith("-- John Doe")
    assert h.model.requests[-1].system_prompt == LEARNED
    assert result["prompt_versions"] == {"system": 2}
    assert "could not read prompt versions" in caplog.text
    assert "could not record the run" in caplog.text


async def test_store_down_async_serves_the_last_good_prompt(store):
    h, counted = _learned(store)
    counted.down = True
    result = await h.aask("u")
    assert result["messages"][-1].content.endswith("-- John Doe")
    assert h.model.requests[-1].system_prompt == LEARNED


def test_store_down_with_no_history_in_memory_serves_the_base_prompt(store):
    _, counted = _learned(store)
    fresh = make_harness(counted)
    counted.down = True
    result = fresh.ask("u")
    assert fresh.model.requests[-1].system_prompt == BASE_PROMPT
    assert result["messages"][-1].content


def test_store_recovers_without_restart(store):
    h, counted = _learned(store)
    counted.down = True
    h.ask("u")
    counted.down = False
    result = h.ask("u")
    assert PromptRegistry(store).users() == ["u"]
    h.middleware.add_feedback(result["trajectory_id"], "fine")


def test_add_feedback_tells_the_caller_when_the_store_is_down(store):
    h, counted = _learned(store)
    tid = h.ask("u")["trajectory_id"]
    counted.down = True
    with pytest.raises(StoreUnavailableError):
        h.middleware.add_feedback(tid, "x")


def test_user_id_resolver_error_falls_back_to_default_namespace(caplog):
    def broken(runtime):
        raise RuntimeError("no auth")

    store = InMemoryStore()
    h = make_harness(store, get_user_id=broken)
    with caplog.at_level(logging.ERROR):
        result = h.ask("u")
    assert result["messages"][-1].content
    assert "get_user_id raised" in caplog.text
    assert PromptRegistry(store).users() == [None]


def test_background_optimizer_error_never_surfaces(store):
    h = make_harness(store, mode="background")
    h.optimizer.fail_with = ValueError("bad output")
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "x")
    assert h.middleware.drain(timeout=60)
    assert PromptRegistry(store).history("u")[0].status == "failed"
    assert h.ask("u")["messages"][-1].content


def test_no_optimizer_model_known_keeps_feedback_pending(store):
    # The middleware learns the agent's own model from its first model request.
    store_only = PromptOptimizationMiddleware(store=store)
    h = make_harness(store)
    tid = h.ask("u")["trajectory_id"]
    store_only.add_feedback(tid, "Sign as John Doe.")
    assert PromptRegistry(store).current("u").version == 1
    assert store_only.optimize_now("u").status == "failed"


def test_default_optimizer_model_is_the_agents_model(store):
    from langchain_prompt_optimization.testing import ScriptedChatModel

    def agent_model_reply(request):
        # The agent's model is then the optimizer and the model screener's judge too.
        if {"GeneralResponse", "JudgeVerdict"} & set(request.tools):
            return ScriptedOptimizerModel(rewrite=lambda cur, text: f"{cur}\n{SIGN_RULE}").reply(
                request
            )
        return "Hello"

    model = ScriptedChatModel(responses=agent_model_reply)
    h = make_harness(store, model=model, optimizer_model=None)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Sign as John Doe.")
    assert PromptRegistry(store).current("u").text == LEARNED
    assert any("GeneralResponse" in r.tools for r in model.requests)
    assert any("JudgeVerdict" in r.tools for r in model.requests)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "bogus"}, ValueError, "kind must be one of"),
        ({"mode": "later"}, ValueError, "mode must be one of"),
        ({"optimize_every": 0}, ValueError, "optimize_every"),
        ({"optimize_every": True}, ValueError, "optimize_every"),
        ({"max_trajectory_chars": -1}, ValueError, "max_trajectory_chars"),
        ({"optimizer_model": 42}, TypeError, "optimizer_model"),
        ({"optimizer_model": " "}, ValueError, "optimizer_model"),
        ({"store": 42}, TypeError, "store must be"),
        ({"store": "nope://x"}, ValueError, "unknown store URI scheme"),
        ({"store": "not a uri"}, ValueError, "malformed store URI"),
        ({"prompts": [{"name": "system", "prompt": "x"}]}, ValueError, "system prompt"),
        (
            {"prompts": [{"name": "a", "prompt": "x"}, {"name": "a", "prompt": "y"}]},
            ValueError,
            "duplicate",
        ),
        ({"prompts": [{"name": "a"}]}, TypeError, "must have a str"),
        ({"prompts": [{"name": "a", "prompt": "x", "when": 1}]}, ValueError, "unknown keys"),
        ({"prompts": {"name": "a", "prompt": "x"}}, TypeError, "list of langmem Prompt"),
        ({"get_user_id": "user"}, TypeError, "get_user_id"),
        ({"namespace_prefix": ("a.b",)}, ValueError, "invalid namespace prefix"),
        ({"namespace_prefix": ()}, ValueError, "at least one label"),
        ({"optimizer_config": "x"}, TypeError, "optimizer_config"),
    ],
)
def test_bad_configuration_fails_fast(kwargs, error, match):
    with pytest.raises(error, match=match):
        PromptOptimizationMiddleware(**kwargs)


def test_context_user_id_may_be_a_uuid():
    store = InMemoryStore()
    h = make_harness(store)
    uid = uuid.uuid4()
    h.agent.invoke({"messages": [("user", "hi")]}, context=Context(user_id=uid))  # type: ignore[arg-type]
    assert PromptRegistry(store).users() == [str(uid)]
