"""Hooks called directly with a built Runtime: one read, one write, no I/O on the model path."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents.middleware.types import ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    PromptOptimizationMiddleware,
    PromptRegistry,
    StorageSettings,
)
from langchain_prompt_optimization.testing import InstrumentedStore, ScriptedChatModel

from .conftest import BASE_PROMPT, SIGN_RULE, Context, make_harness


def _request(state: dict[str, Any], runtime: Runtime[Any], system: str | None) -> ModelRequest:
    return ModelRequest(
        model=ScriptedChatModel(responses=["ok"]),
        messages=list(state["messages"]),
        system_message=SystemMessage(content=system) if system is not None else None,
        state=state,  # type: ignore[arg-type]
        runtime=runtime,
    )


def _learned_store(store) -> Any:
    """A store where user 'u' has learned the sign-off rule (version 2)."""
    h = make_harness(store)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Sign as John Doe.")
    return h


def _run_hooks_sync(mw: PromptOptimizationMiddleware, runtime: Runtime[Any], system: str | None):
    state: dict[str, Any] = {"messages": [HumanMessage("hi", id="h1")]}
    state.update(mw.before_agent(state, runtime) or {})  # type: ignore[arg-type]
    seen: list[ModelRequest] = []

    def handler(req: ModelRequest) -> ModelResponse:
        seen.append(req)
        return ModelResponse(result=[AIMessage("done", id="a1")])

    mw.wrap_model_call(_request(state, runtime, system), handler)
    state["messages"].append(AIMessage("done", id="a1"))
    update = mw.after_agent(state, runtime)  # type: ignore[arg-type]
    return state, seen, update


def test_one_read_batch_before_and_one_write_batch_after(store):
    _learned_store(store)
    counted = InstrumentedStore(store)
    mw = PromptOptimizationMiddleware(store=counted, optimizer_model=ScriptedChatModel())
    runtime = Runtime(context=Context(user_id="u"), store=counted)

    state: dict[str, Any] = {"messages": [HumanMessage("hi", id="h1")]}
    update = mw.before_agent(state, runtime)  # type: ignore[arg-type]
    assert [b.is_read for b in counted.batches] == [True]
    assert update is not None
    assert update["prompt_versions"] == {"system": 2}
    state.update(update)

    counted.reset()
    seen: list[ModelRequest] = []

    def handler(req: ModelRequest) -> ModelResponse:
        seen.append(req)
        return ModelResponse(result=[AIMessage("done", id="a1")])

    mw.wrap_model_call(_request(state, runtime, BASE_PROMPT), handler)
    assert counted.batches == []  # no store I/O on the model-call path
    assert seen[0].system_prompt == f"{BASE_PROMPT}\n{SIGN_RULE}"

    state["messages"].append(AIMessage("done", id="a1"))
    mw.after_agent(state, runtime)  # type: ignore[arg-type]
    assert len(counted.batches) == 1
    assert counted.batches[0].is_write


async def test_async_hooks_make_the_same_round_trips(store):
    _learned_store(store)
    counted = InstrumentedStore(store)
    mw = PromptOptimizationMiddleware(store=counted, optimizer_model=ScriptedChatModel())
    runtime = Runtime(context={"user_id": "u"}, store=counted)
    state: dict[str, Any] = {"messages": [HumanMessage("hi", id="h1")]}
    state.update(await mw.abefore_agent(state, runtime) or {})  # type: ignore[arg-type]
    assert state["prompt_versions"] == {"system": 2}
    assert len(counted.batches) == 1

    async def handler(req: ModelRequest) -> ModelResponse:
        assert req.system_prompt == f"{BASE_PROMPT}\n{SIGN_RULE}"
        return ModelResponse(result=[AIMessage("done", id="a1")])

    await mw.awrap_model_call(_request(state, runtime, BASE_PROMPT), handler)
    assert len(counted.batches) == 1
    state["messages"].append(AIMessage("done", id="a1"))
    await mw.aafter_agent(state, runtime)  # type: ignore[arg-type]
    assert len(counted.batches) == 2
    assert counted.batches[1].is_write


def test_runs_through_create_agent_cost_one_read_and_one_write(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted, storage=StorageSettings(pin_cache_seconds=0))  # see test_pin_cache
    h.ask("u")  # first run also registers the user and records the prompt config
    counted.reset()
    for _ in range(3):
        h.ask("u")
    assert [(b.is_read, b.is_write) for b in counted.batches] == [(True, False), (False, True)] * 3


def test_a_run_never_mixes_versions_even_if_one_lands_mid_run(store):
    h = make_harness(store)
    first = h.ask("u")
    runtime = Runtime(context=Context(user_id="u"), store=store)
    mw = h.middleware
    state: dict[str, Any] = {"messages": [HumanMessage("hi", id="h1")]}
    state.update(mw.before_agent(state, runtime) or {})  # type: ignore[arg-type]
    # A new version lands while this run is in flight.
    mw.add_feedback(first["trajectory_id"], "Sign as John Doe.")
    assert PromptRegistry(store).current("u").version == 2
    prompts = []

    def handler(req: ModelRequest) -> ModelResponse:
        prompts.append(req.system_prompt)
        return ModelResponse(result=[AIMessage("x")])

    for _ in range(2):
        mw.wrap_model_call(_request(state, runtime, BASE_PROMPT), handler)
    assert prompts == [BASE_PROMPT, BASE_PROMPT]
    assert state["prompt_versions"] == {"system": 1}


def test_system_message_none_is_handled(store):
    h = make_harness(store, system_prompt=None, rewrite=lambda cur, text: "Sign as John Doe.")
    result = h.ask("u")
    assert h.model.requests[-1].system_prompt is None
    h.middleware.add_feedback(result["trajectory_id"], "Sign as John Doe.")
    h.ask("u")
    assert h.model.requests[-1].system_prompt == "Sign as John Doe."
    assert PromptRegistry(store).history("u")[-1].text == ""


def test_trajectory_is_json_with_run_messages_and_versions(store):
    from langgraph.checkpoint.memory import InMemorySaver

    from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive

    h = make_harness(store, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    h.ask("u", "first question", config=config)
    second = h.ask("u", "second question", config=config)
    user, record = drive(StoreLayout().resolve_trajectory(second["trajectory_id"]), store)
    assert user.user_id == "u"
    assert record.thread_id == "t"
    assert record.prompt_versions == {"system": 1}
    contents = [m["data"]["content"] for m in record.messages]
    assert contents[0] == "second question"  # only this run's messages
    assert "first question" not in contents
    assert record.messages[-1]["type"] == "ai"
    assert UserRef.of("u") == user


@pytest.mark.parametrize("context", [None, {}, Context(user_id=None)])
def test_missing_user_id_uses_the_default_namespace(context):
    store = InMemoryStore()
    h = make_harness(store)
    result = h.agent.invoke({"messages": [("user", "hi")]}, context=context)
    h.middleware.add_feedback(result["trajectory_id"], "Sign as John Doe.")
    assert PromptRegistry(store).current(None).version == 2
    assert PromptRegistry(store).users() == [None]
