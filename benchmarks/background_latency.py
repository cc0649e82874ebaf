"""Background mode: a run's latency with an optimization in flight for the same user
(issue: benchmarks, item 4).

An agent (scripted instant model, one tool call) runs with
`PromptOptimizationMiddleware(mode="background")` and an optimizer model that takes
`--delay` seconds (default 2) per call. Each round has two phases, in one process (which
goes first alternates from round to round):

- `idle`: a batch of runs for user `jane`, no optimization anywhere;
- `busy`: feedback on one of jane's runs starts a background optimization of jane; from the
  moment `add_feedback` returns until the optimization ends (its store reads, langmem, the
  slow model call, the checks and the commit), jane's runs are timed back to back; the run
  during which it ended is not counted.

The table reports medians per run and busy / idle (target: within 1.1x) for InMemoryStore,
SQLite (file) and PostgreSQL when it answers. Run with `make bench` or
`python -m benchmarks.background_latency --rounds 9 --runs 50`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import tempfile
import time
from typing import Any

from langchain.agents import create_agent
from langgraph.store.memory import InMemoryStore

from benchmarks.common import instant, lookup, pg_schema
from langchain_prompt_optimization import (
    PromptOptimizationMiddleware,
    PromptRegistry,
    Retention,
    StorageSettings,
    open_store,
)
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

TARGET = 1.1


class SlowOptimizerModel(ScriptedOptimizerModel):
    """A scripted optimizer whose every call takes `delay` seconds (a slow real model)."""

    delay: float = 2.0

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Any:
        time.sleep(self.delay)
        return super()._generate(messages, stop, run_manager, **kwargs)


def measure(
    store: Any, *, rounds: int, runs: int, delay: float, cap: int | None = 1_000
) -> dict[str, Any]:
    """Mean per run in each round, idle and busy; medians over rounds. `cap`: the
    retention cap on trajectories per user (the package default, 1,000; `None`: no cap)."""
    optimizer = SlowOptimizerModel(delay=delay)
    mw = PromptOptimizationMiddleware(
        store=store,
        mode="background",
        optimizer=optimizer,
        storage=StorageSettings(retention=Retention(max_trajectories_per_user=cap)),
    )
    agent = create_agent(
        ScriptedChatModel(responses=instant),
        tools=[lookup],
        system_prompt="You help.",
        middleware=[mw],
        store=store,
    )

    def run() -> dict[str, Any]:
        return agent.invoke({"messages": [("user", "go")]}, context={"user_id": "jane"})

    for _ in range(5):  # warm up
        run()
    samples: dict[str, list[float]] = {"idle": [], "busy": []}
    busy_runs: list[int] = []

    def idle_round(number: int) -> None:
        assert mw.drain(0), "an optimization is still running in an idle round"
        start = time.perf_counter()
        for _ in range(runs):
            run()
        samples["idle"].append((time.perf_counter() - start) / runs)

    def busy_round(number: int) -> None:
        # From the moment add_feedback returns (the optimization is in flight) until it
        # ends; the run during which it ended is not counted.
        target = run()["trajectory_id"]
        mw.add_feedback(target, f"Rule {number}: keep replies short.")
        durations: list[float] = []
        while True:
            start = time.perf_counter()
            run()
            took = time.perf_counter() - start
            if mw.drain(0):
                break
            durations.append(took)
        busy_runs.append(len(durations))
        if durations:
            samples["busy"].append(sum(durations) / len(durations))

    try:
        for number in range(rounds):  # alternate which phase goes first
            for phase in (idle_round, busy_round) if number % 2 == 0 else (busy_round, idle_round):
                phase(number)
    finally:
        mw.close()
    if not samples["busy"]:
        msg = "every optimization ended before a run did: raise --delay"
        raise RuntimeError(msg)
    learned = PromptRegistry(store).current("jane").version
    idle, busy = statistics.median(samples["idle"]), statistics.median(samples["busy"])
    return {
        "idle_ms": idle * 1e3,
        "busy_ms": busy * 1e3,
        "ratio": busy / idle,
        "busy_runs": statistics.median(busy_runs),
        "versions": learned,
        "optimizer_calls": len(optimizer.requests),
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runs", type=int, default=50, help="runs timed per round")
    parser.add_argument("--delay", type=float, default=2.0, help="optimizer seconds per call")
    parser.add_argument("--stores", default="memory,sqlite,postgres", help="comma-separated")
    parser.add_argument("--tmp", default=None, help="directory for the SQLite file")
    parser.add_argument(
        "--cap",
        type=int,
        default=1_000,
        help="retention cap on trajectories per user (default: the package's 1,000; 0: none)",
    )
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.stores.split(",") if s.strip()]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"optimizer delay {args.delay} s; rounds={args.rounds} x runs={args.runs}, "
        "idle/busy interleaved, medians per run\n"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for name in wanted:
            with contextlib.ExitStack() as stack:
                if name == "memory":
                    store: Any = InMemoryStore()
                elif name == "sqlite":
                    store = open_store(f"sqlite:///{tmp}/background.db")
                    stack.callback(store.conn.close)
                elif name == "postgres":
                    uri = stack.enter_context(pg_schema())
                    if uri is None:
                        continue
                    store = open_store(uri)
                    stack.callback(store.conn.close)
                else:
                    msg = f"unknown store {name!r}"
                    raise ValueError(msg)
                row = measure(
                    store,
                    rounds=args.rounds,
                    runs=args.runs,
                    delay=args.delay,
                    cap=args.cap or None,
                )
                rows.append({"store": name, **row})
    print(
        "| store | idle (ms/run) | busy (ms/run) | busy / idle | target | pass "
        "| runs timed per busy round (median) |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        passed = row["ratio"] <= TARGET
        print(
            f"| {row['store']} | {row['idle_ms']:.2f} | {row['busy_ms']:.2f} | "
            f"{row['ratio']:.2f}x | <= {TARGET}x | {'pass' if passed else 'MISS'} | "
            f"{row['busy_runs']:.0f} |"
        )
    return rows


if __name__ == "__main__":
    main()
