"""The run state a checkpointer saves: versions and hashes, never a learned prompt text."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import OptimizerSettings, PromptOptimizationMiddleware
from langchain_prompt_optimization.middleware.pinning import META, PINNED
from langchain_prompt_optimization.stores.records import content_hash
from langchain_prompt_optimization.testing import (
    InstrumentedStore,
    ScriptedChatModel,
    ScriptedOptimizerModel,
)

from .conftest import BASE_PROMPT, SIGN_RULE, Context, email_reply, make_harness, sign_rewrite

LEARNED = f"{BASE_PROMPT}\n{SIGN_RULE}"


def _middleware() -> PromptOptimizationMiddleware:
    return PromptOptimizationMiddleware(
        optimizer=OptimizerSettings(model=ScriptedOptimizerModel(rewrite=sign_rewrite))
    )


def _learn(store: Any) -> None:
    """User 'u' learns the sign-off: version 2 is active."""
    h = make_harness(store)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Sign as John Doe.")


def _dump(values: Any) -> str:
    return json.dumps(values, default=repr)


def test_checkpoints_hold_no_prompt_text_and_no_stored_configuration(store):
    _learn(store)
    h = make_harness(store, checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t1"}}
    h.ask("u", config=config)
    h.ask("u", config=config)
    assert h.model.requests[-1].system_prompt == LEARNED  # served the learned version
    states = list(h.agent.get_state_history(config))
    assert states
    for snapshot in states:
        dumped = _dump(snapshot.values)
        assert SIGN_RULE not in dumped
        assert BASE_PROMPT not in dumped  # the stored configuration holds the base text
        assert "stored_config" not in dumped
    values = h.agent.get_state(config).values
    assert values["prompt_versions"] == {"system": 2}
    assert values[PINNED] == {"system": content_hash(LEARNED)}
    assert "config_hash" in values[META]


@tool
def lookup(name: str) -> str:
    """Look up a contact."""
    return f"{name} <bob@example.com>"


def _interrupted_agent(store: Any, saver: Any, config: Any) -> None:
    """A run pinned by one middleware, stopped before its tool call (an interrupt)."""
    call = AIMessage("", tool_calls=[{"name": "lookup", "args": {"name": "Bob"}, "id": "c1"}])
    agent = create_agent(
        ScriptedChatModel(responses=[call]),
        tools=[lookup],
        system_prompt=BASE_PROMPT,
        middleware=[_middleware()],
        store=store,
        checkpointer=saver,
        context_schema=Context,
        interrupt_before=["tools"],
    )
    agent.invoke({"messages": [("user", "Write to Bob.")]}, context=Context("u"), config=config)


def _resumed_agent(store: Any, saver: Any) -> tuple[Any, ScriptedChatModel]:
    """The same thread in another process: a fresh middleware, an empty text cache."""
    model = ScriptedChatModel(responses=email_reply)
    agent = create_agent(
        model,
        tools=[lookup],
        system_prompt=BASE_PROMPT,
        middleware=[_middleware()],
        store=store,
        checkpointer=saver,
        context_schema=Context,
    )
    return agent, model


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_a_run_resumed_in_a_fresh_process_serves_its_pinned_version(use_async):
    inner = InMemoryStore()
    _learn(inner)
    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": str(uuid.uuid4())}}
    _interrupted_agent(inner, saver, config)
    counted = InstrumentedStore(inner)
    agent, model = _resumed_agent(counted, saver)
    if use_async:
        result = await agent.ainvoke(None, config=config, context=Context("u"))
    else:
        result = agent.invoke(None, config=config, context=Context("u"))
    assert model.requests[0].system_prompt == LEARNED
    assert result["messages"][-1].content.endswith("-- John Doe")
    reads = [b for b in counted.batches if b.is_read]
    assert len(reads) == 1  # the pinned version's text, read by version in one batch
    assert len([b for b in counted.batches if b.is_write]) == 1  # the capture


async def test_a_resumed_run_whose_text_cannot_be_read_serves_the_base_prompt():
    inner = InMemoryStore()
    _learn(inner)
    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": "t-down"}}
    _interrupted_agent(inner, saver, config)
    down = InstrumentedStore(inner)
    down.down = True
    agent, model = _resumed_agent(down, saver)
    result = await agent.ainvoke(None, config=config, context=Context("u"))
    assert model.requests[0].system_prompt == BASE_PROMPT  # logged; the run still answers
    assert result["messages"][-1].content
