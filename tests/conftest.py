"""Shared fixtures: stores parametrized over backends, scripted agents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from langchain.agents import create_agent
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptOptimizationMiddleware, open_store
from langchain_prompt_optimization.testing import (
    ScriptedChatModel,
    ScriptedOptimizerModel,
    ScriptedRequest,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from langgraph.store.base import BaseStore

BASE_PROMPT = "You are an email assistant."
SIGN_RULE = "Always sign emails as John Doe."


@dataclass
class Context:
    user_id: str | None = None


def sign_rewrite(current: str, text: str) -> str:
    """A compliant optimizer: learns the sign-off when the feedback asks for it."""
    if "John Doe" in text and SIGN_RULE not in current:
        return f"{current}\n{SIGN_RULE}"
    return current


def email_reply(request: ScriptedRequest) -> str:
    """The agent model: signs emails only when its system prompt tells it to."""
    body = "Dear Bob,\nThe report is attached."
    if request.system_prompt and SIGN_RULE in request.system_prompt:
        return f"{body}\n-- John Doe"
    return body


@dataclass
class Harness:
    agent: Any
    middleware: PromptOptimizationMiddleware
    model: ScriptedChatModel
    optimizer: ScriptedOptimizerModel
    store: BaseStore

    def ask(self, user_id: str | None, text: str = "Write to Bob.", **config: Any) -> Any:
        return self.agent.invoke(
            {"messages": [("user", text)]}, context=Context(user_id=user_id), **config
        )

    async def aask(self, user_id: str | None, text: str = "Write to Bob.", **config: Any) -> Any:
        return await self.agent.ainvoke(
            {"messages": [("user", text)]}, context=Context(user_id=user_id), **config
        )


def make_harness(
    store: BaseStore,
    *,
    rewrite: Any = sign_rewrite,
    system_prompt: str | None = BASE_PROMPT,
    tools: list[Any] | None = None,
    model: ScriptedChatModel | None = None,
    checkpointer: Any = None,
    **middleware_kwargs: Any,
) -> Harness:
    optimizer = ScriptedOptimizerModel(rewrite=rewrite)
    middleware_kwargs.setdefault("optimizer_model", optimizer)
    middleware = PromptOptimizationMiddleware(**middleware_kwargs)
    model = model or ScriptedChatModel(responses=email_reply)
    agent = create_agent(
        model,
        tools=tools or [],
        system_prompt=system_prompt,
        middleware=[middleware],
        store=store,
        context_schema=Context,
        checkpointer=checkpointer,
    )
    return Harness(agent, middleware, model, optimizer, store)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[BaseStore]:
    """A fresh store: InMemoryStore, and a SqliteStore file (which catches non-JSON records)."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    sqlite_store = open_store(f"sqlite:///{tmp_path}/store.db")
    yield sqlite_store
    sqlite_store.conn.close()  # type: ignore[attr-defined]
