"""Shared fixtures: stores parametrized over backends, scripted agents."""

from __future__ import annotations

import contextlib
import os
import uuid
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


PG_URI = os.environ.get("PROMPTOPT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_available() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        import psycopg

        psycopg.connect(PG_URI, connect_timeout=3).close()
    except Exception as exc:
        return f"PostgreSQL at {PG_URI} does not answer: {exc}"
    return None


def need_postgres() -> None:
    """Skip when PostgreSQL is unreachable; under CI (CI=true) fail instead."""
    why = postgres_available()
    if why is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why} (CI must run the PostgreSQL tests; .ci/run starts the server)")
    pytest.skip(why)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema; yields a store URI whose search_path points at it."""
    import psycopg

    need_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URI, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URI else "?"
    try:
        yield f"{PG_URI}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URI, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_uri() -> Iterator[str]:
    """A store URI on a fresh PostgreSQL schema."""
    with postgres_schema() as uri:
        yield uri


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[BaseStore]:
    """A fresh store: InMemoryStore, a SqliteStore file and a PostgresStore schema (the SQL
    stores catch non-JSON records and real concurrency)."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    if request.param == "sqlite":
        sqlite_store = open_store(f"sqlite:///{tmp_path}/store.db")
        yield sqlite_store
        sqlite_store.conn.close()  # type: ignore[attr-defined]
        return
    with postgres_schema() as uri:
        pg_store = open_store(uri)
        yield pg_store
        pg_store.conn.close()  # type: ignore[attr-defined]
