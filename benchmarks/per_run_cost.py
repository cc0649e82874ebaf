"""Per-run cost of the middleware, measured side by side (issue: benchmarks, items 1-3).

For each store (InMemory, SQLite file, PostgreSQL when it answers), three agents run the same
scripted instant model with one tool call:

- `none`: no middleware;
- `minimal`: a hand-written middleware doing exactly one store read before the run and one
  store write after it (the floor for anything that records runs);
- `promptopt`: `PromptOptimizationMiddleware`.

Runs are interleaved one by one in one process (none, minimal, promptopt, then the reverse
order, ...), so the three see the same machine load; a round's figure is the mean per run,
the tables report the median over rounds of wall-clock and of process CPU time and the ratios
promptopt/minimal and promptopt/none. Run with `make bench` (or
`python -m benchmarks.per_run_cost --rounds 15 --runs 30`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import uuid
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langgraph.store.memory import InMemoryStore

from benchmarks.common import instant, interleaved, lookup, pg_schema
from langchain_prompt_optimization import PromptOptimizationMiddleware, open_store
from langchain_prompt_optimization.testing import InstrumentedStore, ScriptedChatModel


class MinimalMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """Exactly one store read before the run and one store write after it."""

    def before_agent(self, state: Any, runtime: Any) -> None:
        runtime.store.get(("minimal", str(runtime.context["user_id"])), "prompt")

    def after_agent(self, state: Any, runtime: Any) -> None:
        runtime.store.put(
            ("minimal", str(runtime.context["user_id"]), "runs"),
            uuid.uuid4().hex,
            {"messages": [m.model_dump(mode="json") for m in state["messages"]]},
        )


def _agent(store: Any, middleware: list[Any]) -> Any:
    model = ScriptedChatModel(responses=instant)
    return create_agent(model, tools=[lookup], system_prompt="You help.", middleware=middleware,
                        store=store)  # fmt: skip


def _stores(tmp: str, stack: contextlib.ExitStack) -> list[tuple[str, Any]]:
    stores: list[tuple[str, Any]] = [("memory", InMemoryStore())]
    stores.append(("sqlite", open_store(f"sqlite:///{tmp}/bench-{uuid.uuid4().hex}.db")))
    uri = stack.enter_context(pg_schema())
    if uri is not None:
        stores.append(("postgres", open_store(uri)))
    return stores


def measure(store: Any, rounds: int, runs: int) -> dict[str, dict[str, float]]:
    agents = {
        "none": _agent(store, []),
        "minimal": _agent(store, [MinimalMiddleware()]),
        "promptopt": _agent(store, [PromptOptimizationMiddleware(store=store)]),
    }
    return interleaved(agents, rounds, runs)


def round_trips() -> dict[str, tuple[int, int]]:
    """Store batches per run without feedback (read batches, write batches): a user's run
    that reads its pin (the first in `pin_cache_seconds`) and one served from the pin cache."""
    store = InstrumentedStore(InMemoryStore())
    agent = _agent(store, [PromptOptimizationMiddleware()])
    found = {}
    agent.invoke({"messages": [("user", "go")]}, context={"user_id": "u"})  # registers u
    for label in ("pin read", "pin cached"):
        store.reset()
        agent.invoke({"messages": [("user", "go")]}, context={"user_id": "u"})
        found[label] = (
            sum(b.is_read for b in store.batches),
            sum(b.is_write for b in store.batches),
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--tmp", default="/tmp")
    args = parser.parse_args()
    cores, python = os.cpu_count(), platform.python_version()
    print(f"machine: {platform.machine()}, {cores} cores, Python {python}")
    print(f"rounds={args.rounds} x runs={args.runs}, runs interleaved one by one, medians\n")
    header = (
        "| store | none (ms) | minimal (ms) | promptopt (ms) "
        "| promptopt / minimal | promptopt / none |\n|---|---|---|---|---|---|"
    )
    with contextlib.ExitStack() as stack:
        results = [(label, measure(store, args.rounds, args.runs))
                   for label, store in _stores(args.tmp, stack)]  # fmt: skip
    for kind, title in (("wall", "wall-clock per run"), ("cpu", "process CPU time per run")):
        print(f"{title}\n\n{header}")
        for label, measured in results:
            m = measured[kind]
            print(
                f"| {label} | {m['none'] * 1e3:.2f} | {m['minimal'] * 1e3:.2f} | "
                f"{m['promptopt'] * 1e3:.2f} | {m['promptopt'] / m['minimal']:.2f}x | "
                f"{m['promptopt'] / m['none']:.2f}x |"
            )
        print()
    print()
    for label, (reads, writes) in round_trips().items():
        print(f"store round trips per run without feedback ({label}): {reads} read, {writes} write")


if __name__ == "__main__":
    main()
