"""pytest plugin (registered through the `pytest11` entry point): fixtures for agents that learn.

Fixtures:

- `prompt_store`: a fresh store, InMemoryStore by default; parametrize it indirectly over
  `"memory"`, `"sqlite"` and `"postgres"` (PostgreSQL at `$PROMPTOPT_TEST_PG`, default
  `postgresql://postgres@127.0.0.1:5432/test`, on a fresh schema; skipped when it does not
  answer, failed under `CI=true`).
- `scripted_model`: `scripted_model(responses, **kwargs) -> ScriptedChatModel`.
- `scripted_optimizer`: `scripted_optimizer(rewrite=append_feedback, **kwargs) ->
  ScriptedOptimizerModel`.
- `optimizing_agent`: `optimizing_agent(model=None, *, tools=(), system_prompt=...,
  optimizer=None, store=None, **middleware_kwargs) -> OptimizingAgent` — an agent built with
  `create_agent`, its middleware and its store. `optimizer` is the optimizer model (default: a
  scripted one), or an `OptimizerSettings` (its model defaults to a scripted one).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization.middleware import PromptOptimizationMiddleware
from langchain_prompt_optimization.optimizer.settings import OptimizerSettings
from langchain_prompt_optimization.stores import open_store
from langchain_prompt_optimization.testing.models import (
    ScriptedChatModel,
    ScriptedOptimizerModel,
    append_feedback,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from langgraph.store.base import BaseStore

__all__ = ["OptimizingAgent", "open_test_store"]

PG_ENV = "PROMPTOPT_TEST_PG"
_DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class OptimizingAgent:
    """An agent with the middleware, as built by the `optimizing_agent` fixture."""

    agent: Any
    middleware: PromptOptimizationMiddleware
    store: BaseStore
    model: Any
    optimizer: Any

    def invoke(self, text: str, *, user_id: str | None = None, **kwargs: Any) -> Any:
        """Run the agent on one user message for `user_id`."""
        return self.agent.invoke(
            {"messages": [("user", text)]}, context={"user_id": user_id}, **kwargs
        )

    async def ainvoke(self, text: str, *, user_id: str | None = None, **kwargs: Any) -> Any:
        """Async twin of `invoke`."""
        return await self.agent.ainvoke(
            {"messages": [("user", text)]}, context={"user_id": user_id}, **kwargs
        )


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextlib.contextmanager
def open_test_store(kind: str, tmp_dir: str) -> Iterator[BaseStore]:
    """A fresh store of `kind` (`memory`, `sqlite`, `postgres`), cleaned up afterwards."""
    if kind == "memory":
        yield InMemoryStore()
        return
    if kind == "sqlite":
        store = open_store(f"sqlite:///{tmp_dir}/prompt_store.db")
        try:
            yield store
        finally:
            store.conn.close()  # type: ignore[attr-defined]
        return
    if kind != "postgres":
        msg = f"prompt_store kind must be memory, sqlite or postgres; got {kind!r}"
        raise ValueError(msg)
    import psycopg

    uri = os.environ.get(PG_ENV, _DEFAULT_PG)
    try:
        psycopg.connect(uri, connect_timeout=3).close()
    except Exception as exc:
        reason = f"PostgreSQL at {uri} does not answer: {exc}"
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in uri else "?"
    store = open_store(f"{uri}{sep}options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.conn.close()  # type: ignore[attr-defined]
        with psycopg.connect(uri, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def prompt_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[BaseStore]:
    """A fresh store (`memory` unless parametrized indirectly with `sqlite` / `postgres`)."""
    kind = getattr(request, "param", "memory")
    with open_test_store(kind, str(tmp_path)) as store:
        yield store


@pytest.fixture
def scripted_model() -> Callable[..., ScriptedChatModel]:
    """Factory: `scripted_model(responses, **kwargs)` -> `ScriptedChatModel`."""

    def make(responses: Any = ("ok",), **kwargs: Any) -> ScriptedChatModel:
        if isinstance(responses, tuple):
            responses = list(responses)
        kwargs.setdefault("repeat_last", not callable(responses))
        return ScriptedChatModel(responses=responses, **kwargs)

    return make


@pytest.fixture
def scripted_optimizer() -> Callable[..., ScriptedOptimizerModel]:
    """Factory: `scripted_optimizer(rewrite=append_feedback, **kwargs)`."""

    def make(
        rewrite: Callable[[str, str], str] = append_feedback, **kwargs: Any
    ) -> ScriptedOptimizerModel:
        return ScriptedOptimizerModel(rewrite=rewrite, **kwargs)

    return make


@pytest.fixture
def optimizing_agent(
    prompt_store: BaseStore,
    scripted_model: Callable[..., ScriptedChatModel],
    scripted_optimizer: Callable[..., ScriptedOptimizerModel],
) -> Callable[..., OptimizingAgent]:
    """Factory: an agent with `PromptOptimizationMiddleware` on `prompt_store`."""
    from langchain.agents import create_agent

    def make(
        model: Any = None,
        *,
        tools: Sequence[Any] = (),
        system_prompt: str | None = "You are a helpful assistant.",
        optimizer: Any = None,
        store: BaseStore | None = None,
        checkpointer: Any = None,
        **middleware_kwargs: Any,
    ) -> OptimizingAgent:
        model = model if model is not None else scripted_model()
        settings = optimizer if isinstance(optimizer, OptimizerSettings) else None
        if settings is not None:
            optimizer = settings.model
        if optimizer is None:
            optimizer = scripted_optimizer()
        store = store if store is not None else prompt_store
        moved = {
            "kind",
            "optimizer_config",
            "max_feedback_per_optimization",
            "max_trajectory_chars",
        }
        if settings is not None:
            middleware_kwargs["optimizer"] = replace(settings, model=optimizer)
        elif moved & middleware_kwargs.keys():
            middleware_kwargs["optimizer_model"] = optimizer  # with old keywords (they warn)
        else:
            middleware_kwargs["optimizer"] = optimizer
        middleware = PromptOptimizationMiddleware(**middleware_kwargs)
        agent = create_agent(
            model,
            tools=list(tools),
            system_prompt=system_prompt,
            middleware=[middleware],
            store=store,
            checkpointer=checkpointer,
        )
        return OptimizingAgent(agent, middleware, store, model, optimizer)

    return make
