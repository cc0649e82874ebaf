"""Pin read at scale: 10,000 users x 20 versions against 10 users (issue: benchmarks, item 5).

For SQLite (a file) and PostgreSQL (when it answers), two stores side by side: a small one
(10 users) and a big one (`--users`, default 10,000, each with `--versions` prompt versions,
default 20). They are populated directly with the layout's own records in large batches
(building 200,000 versions through the optimizer would take hours), then one agent run per
store records the prompt configuration as an app would.

Measured, interleaved in one process (small, big, big, small, ...), for users picked at random:

- `pin`: the middleware's `before_agent` hook (its one store batch, under the deadline hop),
  i.e. what a run pays to pin its prompts;
- `run`: a whole agent run (scripted instant model, no tools), pin and capture included.

The table reports medians per call and the ratio big / small (target: within 1.5x). Run with
`make bench` or `python -m benchmarks.pin_at_scale --users 10000 --rounds 9`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime

from benchmarks.common import pg_schema
from langchain_prompt_optimization import PromptOptimizationMiddleware, PromptRegistry, open_store
from langchain_prompt_optimization.stores import (
    ActivePrompt,
    PromptVersion,
    StoreLayout,
    UserRef,
)
from langchain_prompt_optimization.stores.records import content_hash, utcnow
from langchain_prompt_optimization.testing import ScriptedChatModel

BASE = "You are an email assistant. Be brief and polite."
TARGET = 1.5
_CHUNK = 5_000  # ops per populating batch


def user_ids(count: int) -> list[str]:
    return [f"user-{i:06d}@example.com" for i in range(count)]


def version_text(user: int, version: int) -> str:
    """A realistic learned prompt: the base plus one rule per version (about 1 KB at v20)."""
    rules = [
        f"Rule {n} for user {user}: keep replies short and sign them." for n in range(1, version)
    ]
    return "\n".join([BASE, *rules])


def populate(store: Any, users: int, versions: int) -> None:
    """Write `users` namespaces of `versions` versions each, as the optimizer would leave them
    (the layout's own record shapes; v1 is the base, the last version is active)."""
    layout = StoreLayout()
    base_hash = content_hash(BASE)
    start = utcnow() - timedelta(days=30)
    ops: list[Any] = []
    for index, user_id in enumerate(user_ids(users)):
        user = UserRef.of(user_id)
        ops.append(layout._register_user_op(user))
        for number in range(1, versions + 1):
            text = version_text(index, number)
            ops.append(
                layout._version_op(
                    user,
                    PromptVersion(
                        prompt="system",
                        version=number,
                        text=text,
                        status="active",
                        created_at=start + timedelta(hours=number),
                        reason="base prompt" if number == 1 else "optimized",
                        parent=number - 1 if number > 1 else None,
                        content_hash=content_hash(text),
                        base_hash=base_hash,
                    ),
                )
            )
        text = version_text(index, versions)
        pointer = ActivePrompt(versions, text, versions, base_hash)
        ops.append(layout._pointer_op(user, "system", pointer, utcnow()))
        if len(ops) >= _CHUNK:
            store.batch(ops)
            ops = []
    if ops:
        store.batch(ops)


class Side:
    """One store under test, with its own middleware and agent (as one app replica)."""

    def __init__(self, label: str, store: Any, users: int) -> None:
        self.label = label
        self.store = store
        self.users = user_ids(users)
        self.middleware = PromptOptimizationMiddleware(store=store, mode="external")
        model = ScriptedChatModel(responses=lambda request: "ok")
        self.agent = create_agent(
            model, system_prompt=BASE, middleware=[self.middleware], store=store
        )
        self.agent.invoke({"messages": [("user", "hi")]}, context={"user_id": self.users[0]})

    def pin(self, user_id: str) -> dict[str, Any]:
        runtime = Runtime(context={"user_id": user_id}, store=self.store)
        state: dict[str, Any] = {"messages": [HumanMessage("hi", id="h1")]}
        update = self.middleware.before_agent(state, runtime)  # type: ignore[arg-type]
        assert update is not None
        assert "pin_error" not in update["prompt_optimization_meta"]
        return update

    def run(self, user_id: str) -> None:
        self.agent.invoke({"messages": [("user", "hi")]}, context={"user_id": user_id})


def measure(
    sides: list[Side], rounds: int, calls: int, seed: int = 7
) -> dict[str, dict[str, float]]:
    """Medians per call of `pin` and `run` for each side, rounds interleaved."""
    rng = random.Random(seed)
    samples: dict[str, dict[str, list[float]]] = {s.label: {"pin": [], "run": []} for s in sides}
    for side in sides:  # warm up
        for user in rng.sample(side.users, min(20, len(side.users))):
            side.pin(user)
    for number in range(rounds):
        for what in ("pin", "run"):
            for side in sides if number % 2 == 0 else sides[::-1]:  # alternate the order
                picks = [rng.choice(side.users) for _ in range(calls)]
                call = side.pin if what == "pin" else side.run
                start = time.perf_counter()
                for user in picks:
                    call(user)
                samples[side.label][what].append((time.perf_counter() - start) / calls)
    return {
        label: {what: statistics.median(values) for what, values in by_what.items()}
        for label, by_what in samples.items()
    }


def check_populated(store: Any, users: int, versions: int) -> None:
    """The populated records read back through the public API as a real history."""
    registry = PromptRegistry(store)
    user_id = user_ids(users)[users // 2]
    history = registry.history(user_id)
    assert [v.version for v in history] == list(range(versions, 0, -1)), history
    assert history[0].status == "active"
    assert registry.current(user_id).version == versions


def bench_backend(name: str, uris: tuple[str, str], args: argparse.Namespace) -> dict[str, Any]:
    small_store, big_store = open_store(uris[0]), open_store(uris[1])
    try:
        started = time.perf_counter()
        populate(small_store, args.small_users, args.versions)
        populate(big_store, args.users, args.versions)
        populated = time.perf_counter() - started
        check_populated(big_store, args.users, args.versions)
        sides = [
            Side("small", small_store, args.small_users),
            Side("big", big_store, args.users),
        ]
        medians = measure(sides, args.rounds, args.calls)
    finally:
        for store in (small_store, big_store):
            with contextlib.suppress(Exception):
                store.conn.close()
    small, big = medians["small"], medians["big"]
    return {
        "store": name,
        "populate_s": populated,
        "pin_small_ms": small["pin"] * 1e3,
        "pin_big_ms": big["pin"] * 1e3,
        "pin_ratio": big["pin"] / small["pin"],
        "run_small_ms": small["run"] * 1e3,
        "run_big_ms": big["run"] * 1e3,
        "run_ratio": big["run"] / small["run"],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see `--help`)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="users in the big store")
    parser.add_argument("--small-users", type=int, default=10, help="users in the small store")
    parser.add_argument("--versions", type=int, default=20, help="versions per user")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=100, help="calls timed per round")
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated")
    parser.add_argument("--tmp", default=None, help="directory for the SQLite files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    wanted = [s.strip() for s in args.stores.split(",") if s.strip()]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"big: {args.users} users x {args.versions} versions; small: {args.small_users} users; "
        f"rounds={args.rounds} x calls={args.calls}, interleaved, medians per call\n"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if "sqlite" in wanted:
            uris = (f"sqlite:///{tmp}/small.db", f"sqlite:///{tmp}/big.db")
            rows.append(bench_backend("sqlite", uris, args))
        if "postgres" in wanted:
            with pg_schema() as small_uri, pg_schema() as big_uri:
                if small_uri is not None and big_uri is not None:
                    rows.append(bench_backend("postgres", (small_uri, big_uri), args))
    print(
        "| store | pin small (ms) | pin big (ms) | pin big / small | run small (ms) "
        "| run big (ms) | run big / small | target | pass |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        passed = row["pin_ratio"] <= TARGET
        print(
            f"| {row['store']} | {row['pin_small_ms']:.2f} | {row['pin_big_ms']:.2f} | "
            f"{row['pin_ratio']:.2f}x | {row['run_small_ms']:.2f} | {row['run_big_ms']:.2f} | "
            f"{row['run_ratio']:.2f}x | <= {TARGET}x | {'pass' if passed else 'MISS'} |"
        )
    for row in rows:
        print(f"({row['store']}: populated in {row['populate_s']:.1f} s)")
    return rows


if __name__ == "__main__":
    main()
