"""mode="server" and the optimizer graph in process: scheduling per user, sync and async."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from langchain_prompt_optimization import (
    EvaluationGate,
    PromptOptimizationMiddleware,
    PromptRegistry,
    SafetySettings,
)
from langchain_prompt_optimization import server as server_module
from langchain_prompt_optimization.server import make_optimizer_graph, optimizer_thread_id
from langchain_prompt_optimization.stores import DEFAULT_PREFIX, StoreLayout, UserRef, drive
from langchain_prompt_optimization.testing import ScriptedOptimizerModel

from .conftest import BASE_PROMPT, SIGN_RULE, make_harness, sign_rewrite

LEARNED = f"{BASE_PROMPT}\n{SIGN_RULE}"


def _pending(store: Any) -> list[str | None]:
    return [ref.user_id for ref in drive(StoreLayout().pending_owners(), store)]


def _graph(store: Any) -> Any:
    graph = make_optimizer_graph(model=ScriptedOptimizerModel(rewrite=sign_rewrite))
    return graph.copy(update={"store": store})


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[UserRef]:
    """The owners `mode="server"` queued an optimizer run for (sync and async)."""
    calls: list[UserRef] = []

    def schedule(owner: UserRef, prefix: tuple[str, ...] = ()) -> str:
        assert prefix == DEFAULT_PREFIX
        calls.append(owner)
        return "run"

    async def aschedule(owner: UserRef, prefix: tuple[str, ...] = ()) -> str:
        return schedule(owner, prefix)

    monkeypatch.setattr(server_module, "schedule_optimization", schedule)
    monkeypatch.setattr(server_module, "aschedule_optimization", aschedule)
    return calls


def test_feedback_queues_the_user_and_the_graph_optimizes_them(store, queued):
    h = make_harness(store, mode="server")
    assert h.middleware.mode == "server"
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    assert [owner.user_id for owner in queued] == ["jane"]
    assert _pending(store) == ["jane"]
    assert h.optimizer.requests == []  # nothing optimized in the app

    graph = _graph(store)
    assert graph.invoke({"user_id": "bob"}) == {"outcomes": []}  # bob has nothing pending
    (outcome,) = graph.invoke({"user_id": "jane"})["outcomes"]
    assert outcome["status"] == "optimized"
    assert outcome["versions"] == {"system": 2}
    assert _pending(store) == []
    assert graph.invoke({"user_id": "jane"}) == {"outcomes": []}  # a queued repeat: no-op
    h.ask("jane")
    assert h.model.requests[-1].system_prompt == LEARNED


async def test_async_feedback_queues_and_a_sweep_optimizes_every_pending_user(store, queued):
    h = make_harness(store, mode="server")
    for user in ("ann", "ben"):
        first = await h.aask(user)
        await h.middleware.aadd_feedback(first["trajectory_id"], "Sign as John Doe.")
    assert [owner.user_id for owner in queued] == ["ann", "ben"]

    result = await _graph(store).ainvoke({})  # no user: sweep every pending owner
    assert sorted(o["user_id"] for o in result["outcomes"]) == ["ann", "ben"]
    assert {o["status"] for o in result["outcomes"]} == {"optimized"}
    registry = PromptRegistry(store)
    assert [v.version for v in registry.history("ann")] == [2, 1]
    await h.aask("ben")
    assert h.model.requests[-1].system_prompt == LEARNED


def test_in_band_feedback_queues_too(queued):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    from .conftest import Context

    h = make_harness(InMemoryStore(), mode="server", checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    h.ask("jane", config=config)
    h.agent.invoke(
        {"messages": [("user", "again")], "feedback": "Sign as John Doe."},
        context=Context("jane"),
        config=config,
    )
    assert [owner.user_id for owner in queued] == ["jane"]


def test_the_shipped_graph_without_a_model_leaves_the_work_pending(monkeypatch, queued):
    from langgraph.store.memory import InMemoryStore

    monkeypatch.delenv(server_module.MODEL_ENV, raising=False)
    store = InMemoryStore()
    h = make_harness(store, mode="server")
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    graph = make_optimizer_graph().copy(update={"store": store})
    (outcome,) = graph.invoke({"user_id": "jane"})["outcomes"]
    assert outcome["status"] == "failed"
    assert server_module.MODEL_ENV in outcome["error"]
    assert _pending(store) == ["jane"]


class _Runs:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create(self, **kwargs: Any) -> dict[str, Any]:
        self.created.append(kwargs)
        return {"run_id": f"r{len(self.created)}"}

    async def acreate(self, **kwargs: Any) -> dict[str, Any]:
        return self.create(**kwargs)


class _Client:
    def __init__(self, runs: _Runs, *, is_async: bool) -> None:
        self.runs = type("R", (), {"create": runs.acreate if is_async else runs.create})()


def test_scheduling_queues_one_run_per_user_thread(monkeypatch, caplog):
    import langgraph_sdk

    runs = _Runs()
    urls: list[str | None] = []

    def client(*, is_async: bool) -> Any:
        def make(url: str | None = None) -> _Client:
            urls.append(url)
            return _Client(runs, is_async=is_async)

        return make

    monkeypatch.setattr(langgraph_sdk, "get_sync_client", client(is_async=False))
    monkeypatch.setattr(langgraph_sdk, "get_client", client(is_async=True))
    jane, bob = UserRef.of("jane"), UserRef.of("bob")

    monkeypatch.delenv(server_module.URL_ENV, raising=False)
    with caplog.at_level(logging.WARNING, logger=server_module.__name__):
        assert server_module.schedule_optimization(jane) is None  # sync needs a URL
    assert server_module.URL_ENV in caplog.text
    assert runs.created == []

    import asyncio

    assert asyncio.run(server_module.aschedule_optimization(jane, DEFAULT_PREFIX)) == "r1"
    assert urls == [None]  # inside the server: the server itself
    monkeypatch.setenv(server_module.URL_ENV, "http://127.0.0.1:2024")
    monkeypatch.setenv(server_module.GRAPH_ENV, "my_optimizer")
    assert server_module.schedule_optimization(bob, DEFAULT_PREFIX) == "r2"
    assert urls[-1] == "http://127.0.0.1:2024"
    first, second = runs.created
    assert first["thread_id"] == optimizer_thread_id(jane, DEFAULT_PREFIX)
    assert second["thread_id"] == optimizer_thread_id(bob, DEFAULT_PREFIX) != first["thread_id"]
    assert first["thread_id"] == optimizer_thread_id(UserRef.of("jane"), DEFAULT_PREFIX)
    assert first["multitask_strategy"] == second["multitask_strategy"] == "enqueue"
    assert first["if_not_exists"] == "create"
    assert (first["assistant_id"], second["assistant_id"]) == ("prompt_optimizer", "my_optimizer")
    assert first["input"] == {"user_id": "jane", "label": jane.label}


def test_server_mode_is_validated():
    with pytest.raises(ValueError, match="server"):
        PromptOptimizationMiddleware(mode="later")
    with pytest.raises(ValueError, match="mode='server'"):
        PromptOptimizationMiddleware(mode="server", safety=SafetySettings(gate=EvaluationGate()))
    with pytest.raises(ValueError, match="gate"):
        make_optimizer_graph(
            model="openai:gpt-4o-mini", safety=SafetySettings(gate=EvaluationGate())
        )
