"""Per-run cost of recording runs against a middleware with empty hooks, and write-behind
capture (group commit), measured side by side.

(a) Per-run cost on a file SQLite store and on PostgreSQL (`--stores memory` adds an
InMemoryStore: the hooks without any I/O): the same scripted one-tool-call agent with `empty`
(a middleware with our three hooks, doing nothing), `default` (`PromptOptimizationMiddleware()`:
sync capture, pin cache), `no_cache` (sync capture, `pin_cache_seconds=0`: every run reads its
pin), `write_behind` (`capture="write_behind"`, pin cache) and, on SQLite, `fsync` (the default
middleware on the same file opened with `?synchronous=full`: every commit waits for the
disk). Ten users take turns, so each user runs again well within the pin cache's 1 s (as in
a busy app; an app whose users come back less often than that pays the `no_cache` figure).
Runs are interleaved one by one (each configuration runs once in turn, the order alternating),
so every configuration sees the same machine load; a round's figure is the mean per run, the
tables report the median over rounds of wall-clock and of process CPU time (every thread,
the write-behind writer too) and their ratios to `empty`. The write-behind queue is flushed
between rounds, outside the timed runs. `--repeat N` repeats the whole measurement and adds
the median ratio of the repeats.

(b) Transactions for 20 concurrent runs (threads, then asyncio): store write batches counted
with `InstrumentedStore`, sync vs write-behind, after `flush_writes()`.

Run: `python -m benchmarks.capture_cost --rounds 7 --runs 30 --repeat 3`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import statistics
import threading
import uuid
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware

from benchmarks.common import instant, interleaved, lookup, pg_schema
from langchain_prompt_optimization import (
    PromptOptimizationMiddleware,
    StorageSettings,
    open_store,
)
from langchain_prompt_optimization.testing import InstrumentedStore, ScriptedChatModel

WRITE_BEHIND = StorageSettings(capture="write_behind", max_capture_delay=0.05)
COLUMNS = ("default", "no_cache", "write_behind", "fsync")


class EmptyMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """The same hooks as ours, doing nothing: the floor of any middleware."""

    def before_agent(self, state: Any, runtime: Any) -> None:
        return None

    def after_agent(self, state: Any, runtime: Any) -> None:
        return None

    def wrap_model_call(self, request: Any, handler: Any) -> Any:
        return handler(request)

    async def awrap_model_call(self, request: Any, handler: Any) -> Any:
        return await handler(request)


def _agent(store: Any, middleware: list[Any]) -> Any:
    model = ScriptedChatModel(responses=instant)
    return create_agent(model, tools=[lookup], system_prompt="You help.", middleware=middleware,
                        store=store)  # fmt: skip


def _stores(
    tmp: str, wanted: list[str], stack: contextlib.ExitStack, *, with_fsync: bool = True
) -> list[tuple[str, Any, Any]]:
    """(label, store, the same store opened with fsync on every commit or None)."""
    stores: list[tuple[str, Any, Any]] = []
    if "memory" in wanted:  # no I/O at all: what the hooks themselves cost
        stores.append(("memory", open_store("memory://"), None))
    if "sqlite" in wanted:
        uri = f"sqlite:///{tmp}/bench-{uuid.uuid4().hex}.db"
        fsync = open_store(f"{uri}?synchronous=full") if with_fsync else None
        stores.append(("sqlite", open_store(uri), fsync))
    if "postgres" in wanted:
        pg = stack.enter_context(pg_schema())
        if pg is not None:
            stores.append(("postgres", open_store(pg), None))
    return stores


def _middleware(name: str, store: Any) -> PromptOptimizationMiddleware:
    """The middleware of configuration `name` (built here, so `--configs default` also runs
    against a release without the newer settings: the before/after command in RESULTS.md)."""
    if name == "no_cache":
        return PromptOptimizationMiddleware(
            store=store, storage=StorageSettings(pin_cache_seconds=0)
        )
    if name == "write_behind":
        return PromptOptimizationMiddleware(store=store, storage=WRITE_BEHIND)
    return PromptOptimizationMiddleware(store=store)


def measure(
    store: Any, fsync_store: Any, rounds: int, runs: int, configs: tuple[str, ...] = COLUMNS
) -> dict[str, dict[str, float]]:
    """Median per-run wall-clock (`"wall"`) and process CPU time (`"cpu"`) by configuration."""
    agents = {"empty": _agent(store, [EmptyMiddleware()])}
    middlewares = {}
    for name in configs:
        target = fsync_store if name == "fsync" else store
        if target is not None:
            middlewares[name] = _middleware(name, target)
            agents[name] = _agent(target, [middlewares[name]])
    behind = middlewares.get("write_behind")
    flush = behind.flush_writes if behind is not None else None  # outside the timed runs
    measured = interleaved(agents, rounds, runs, between_rounds=flush)
    for mw in middlewares.values():
        mw.close()
    return measured


def _row(label: str, m: dict[str, float]) -> str:
    times = [f"{m[c] * 1e3:.2f}" if c in m else "-" for c in COLUMNS]
    ratios = [f"{m[c] / m['empty']:.2f}x" if c in m else "-" for c in COLUMNS]
    return f"| {label} | {m['empty'] * 1e3:.2f} | " + " | ".join(times + ratios) + " |"


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
    parser.add_argument(
        "--stores", default="sqlite,postgres", help="comma-separated: memory, sqlite, postgres"
    )
    parser.add_argument("--repeat", type=int, default=1, help="whole measurements, medians")
    parser.add_argument(
        "--configs", default=",".join(COLUMNS), help="comma-separated, of: " + ", ".join(COLUMNS)
    )
    parser.add_argument("--skip-transactions", action="store_true", help="only table (a)")
    args = parser.parse_args()
    configs = tuple(c.strip() for c in args.configs.split(",") if c.strip() in COLUMNS)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"rounds={args.rounds} x runs={args.runs}, runs interleaved one by one, mean per run "
          f"in a round, median over rounds; {args.repeat} repeat(s)\n")  # fmt: skip
    header = (
        "| store | empty (ms) | " + " | ".join(f"{c} (ms)" for c in COLUMNS) + " | "
        + " | ".join(f"{c} / empty" for c in COLUMNS) + " |\n" + "|---" * (2 + 2 * len(COLUMNS))
        + "|"
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        wanted = [s.strip() for s in args.stores.split(",")]
        stores = _stores(args.tmp, wanted, stack, with_fsync="fsync" in configs)
        results = {
            label: [
                measure(store, fsync, args.rounds, args.runs, configs) for _ in range(args.repeat)
            ]
            for label, store, fsync in stores
        }
        for kind, title in (("wall", "wall-clock per run"), ("cpu", "process CPU time per run")):
            print(f"{title}\n\n{header}")
            for label, repeats in results.items():
                for number, m in enumerate(repeats, 1):
                    print(_row(f"{label} #{number}" if args.repeat > 1 else label, m[kind]))
                if args.repeat > 1:
                    ratios = {c: statistics.median(r[kind][c] / r[kind]["empty"] for r in repeats)
                              for c in COLUMNS if c in repeats[0][kind]}  # fmt: skip
                    cells = [f"{ratios[c]:.2f}x" if c in ratios else "-" for c in COLUMNS]
                    blank = " | ".join(["-"] * (1 + len(COLUMNS)))
                    print(f"| {label} median | {blank} | " + " | ".join(cells) + " |")
            print()
        if args.skip_transactions:
            return
        print("\n20 concurrent runs: store write batches (transactions)\n")
        print("| store | driver | sync | write_behind | ratio |")
        print("|---|---|---|---|---|")
        for label, store, _ in stores:
            for use_async in (False, True):
                sync = transactions(store, "sync", use_async=use_async)
                behind = transactions(store, "write_behind", use_async=use_async)
                driver = "asyncio" if use_async else "threads"
                print(f"| {label} | {driver} | {sync} | {behind} | {sync / max(behind, 1):.1f}x |")


if __name__ == "__main__":
    main()
