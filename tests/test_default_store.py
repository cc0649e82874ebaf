"""The embedded default store: opened once per URI per process, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from langchain.agents import create_agent

from langchain_prompt_optimization import PromptOptimizationMiddleware, PromptRegistry
from langchain_prompt_optimization.stores import open as open_module
from langchain_prompt_optimization.testing import ScriptedChatModel

from .conftest import Context


@pytest.fixture
def counted_opens(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> list[str]:
    """The default store is a fresh SQLite file; every time it is opened is recorded with the
    name of the thread that opened it."""
    monkeypatch.setenv("PROMPTOPT_STORE", f"sqlite:///{tmp_path}/default.db")
    real = open_module._open_sqlite
    opens: list[str] = []

    def counted(uri: str, **kwargs: Any) -> Any:
        opens.append(threading.current_thread().name)
        return real(uri, **kwargs)

    monkeypatch.setattr(open_module, "_open_sqlite", counted)
    return opens


def _agent() -> tuple[Any, PromptOptimizationMiddleware]:
    mw = PromptOptimizationMiddleware()
    agent = create_agent(
        ScriptedChatModel(responses=lambda request: "ok"),
        tools=[],
        system_prompt="Base.",
        middleware=[mw],
        context_schema=Context,
    )
    return agent, mw


def test_concurrent_first_runs_open_the_default_store_once(counted_opens: list[str]) -> None:
    agents = [_agent() for _ in range(8)]
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run(agent: Any, index: int) -> None:
        try:
            barrier.wait()
            agent.invoke({"messages": [("user", "hi")]}, context=Context(user_id=f"u{index}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(agent, index)) for index, (agent, _) in enumerate(agents)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(counted_opens) == 1
    stores = {id(mw._stores.for_api()) for _, mw in agents}
    assert len(stores) == 1
    assert sorted(PromptRegistry(agents[0][1]._stores.for_api()).users()) == [
        f"u{i}" for i in range(8)
    ]


async def test_async_first_runs_open_the_default_store_once_off_the_loop(
    counted_opens: list[str],
) -> None:
    agents = [_agent() for _ in range(8)]
    loop_thread = threading.current_thread().name
    await asyncio.gather(
        *(
            agent.ainvoke({"messages": [("user", "hi")]}, context=Context(user_id=f"u{i}"))
            for i, (agent, _) in enumerate(agents)
        )
    )
    assert len(counted_opens) == 1
    assert counted_opens[0] != loop_thread
    store = agents[0][1]._stores.for_api()
    assert sorted(await PromptRegistry(store).ausers()) == [f"u{i}" for i in range(8)]
