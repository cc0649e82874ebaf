"""Write-behind capture (group commit), measured side by side with sync capture.

(a) Per-run cost on a file SQLite store and on PostgreSQL: the same scripted one-tool-call
agent with `empty` (a middleware whose hooks do nothing), `sync` (`PromptOptimizationMiddleware`,
`capture="sync"`) and `write_behind` (`capture="write_behind"`). Rounds are interleaved, the
order alternates from round to round, the table reports medians per run and ratios to `empty`.

(b) Transactions for 20 concurrent runs (threads, then asyncio): store write batches counted
with `InstrumentedStore`, sync vs write-behind, after `flush_writes()`.

Run: `python -m benchmarks.capture_cost --rounds 15 --runs 40`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import threading
import time
import uuid
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware

from benchmarks.common import instant, lookup, pg_schema
from langchain_prompt_optimization import (
    PromptOptimizationMiddleware,
    StorageSettings,
    open_store,
)
from langchain_prompt_optimization.testing import InstrumentedStore, ScriptedChatModel

WRITE_BEHIND = StorageSettings(capture="write_behind", max_capture_delay=0.05)


class EmptyMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """The same hooks as ours, doing nothing: the floor of any middleware."""

    def before_agent(self, state: Any, runtime: Any) -> None:
        return None

    def after_agent(self, state: Any, runtime: Any) -> None:
        return None


def _agent(store: Any, middleware: list[Any]) -> Any:
    model = ScriptedChatModel(responses=instant)
    return create_agent(model, tools=[lookup], system_prompt="You help.", middleware=middleware,
                        store=store)  # fmt: skip


def _stores(tmp: str, stack: contextlib.ExitStack) -> list[tuple[str, Any]]:
    stores: list[tuple[str, Any]] = [
        ("sqlite", open_store(f"sqlite:///{tmp}/bench-{uuid.uuid4().hex}.db"))
    ]
    uri = stack.enter_context(pg_schema())
    if uri is not None:
        stores.append(("postgres", open_store(uri)))
    return stores


def measure(store: Any, rounds: int, runs: int) -> dict[str, float]:
    behind = PromptOptimizationMiddleware(store=store, storage=WRITE_BEHIND)
    agents = {
        "empty": _agent(store, [EmptyMiddleware()]),
        "sync": _agent(store, [PromptOptimizationMiddleware(store=store)]),
        "write_behind": _agent(store, [behind]),
    }
    users = [f"user-{i}" for i in range(10)]
    samples: dict[str, list[float]] = {name: [] for name in agents}
    for agent in agents.values():  # warm up
        agent.invoke({"messages": [("user", "go")]}, context={"user_id": "warm"})
    behind.flush_writes()
    for number in range(rounds):
        order = list(agents.items())
        if number % 2:
            order.reverse()
        for name, agent in order:
            start = time.perf_counter()
            for i in range(runs):
                agent.invoke({"messages": [("user", "go")]}, context={"user_id": users[i % 10]})
            samples[name].append((time.perf_counter() - start) / runs)
        behind.flush_writes()  # between rounds, outside the timed batches
    behind.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def transactions(store: Any, capture: str, *, use_async: bool, runs: int = 20) -> int:
    """Store write batches for `runs` concurrent runs (after the flush)."""
    counted = InstrumentedStore(store)
    storage = StorageSettings(capture=capture, max_capture_delay=0.05)  # type: ignore[arg-type]
    mw = PromptOptimizationMiddleware(store=counted, storage=storage)
    agent = _agent(counted, [mw])
    users = [f"tx-{uuid.uuid4().hex[:6]}-{i}" for i in range(runs)]
    counted.reset()
    if use_async:

        async def all_runs() -> None:
            message = {"messages": [("user", "go")]}
            await asyncio.gather(*(agent.ainvoke(message, context={"user_id": u}) for u in users))

        asyncio.run(all_runs())
    else:
        barrier = threading.Barrier(runs)

        def one(user: str) -> None:
            barrier.wait()
            agent.invoke({"messages": [("user", "go")]}, context={"user_id": user})

        threads = [threading.Thread(target=one, args=(u,)) for u in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    mw.flush_writes()
    mw.close()
    return sum(b.is_write for b in counted.batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"rounds={args.rounds} x runs={args.runs}, interleaved, alternating, medians per run\n")
    print("| store | empty (ms) | sync (ms) | write_behind (ms) | sync / empty "
          "| write_behind / empty |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    with contextlib.ExitStack() as stack:
        stores = _stores(args.tmp, stack)
        for label, store in stores:
            m = measure(store, args.rounds, args.runs)
            print(
                f"| {label} | {m['empty'] * 1e3:.2f} | {m['sync'] * 1e3:.2f} | "
                f"{m['write_behind'] * 1e3:.2f} | {m['sync'] / m['empty']:.2f}x | "
                f"{m['write_behind'] / m['empty']:.2f}x |"
            )
        print("\n20 concurrent runs: store write batches (transactions)\n")
        print("| store | driver | sync | write_behind | ratio |")
        print("|---|---|---|---|---|")
        for label, store in stores:
            for use_async in (False, True):
                sync = transactions(store, "sync", use_async=use_async)
                behind = transactions(store, "write_behind", use_async=use_async)
                driver = "asyncio" if use_async else "threads"
                print(f"| {label} | {driver} | {sync} | {behind} | {sync / max(behind, 1):.1f}x |")


if __name__ == "__main__":
    main()
