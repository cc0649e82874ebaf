"""Workers on PostgreSQL: 4 worker processes against 1 (issue: benchmarks, item 7).

An app in `mode="external"` leaves `--namespaces` user namespaces (default 200) with one
pending feedback item each in a shared PostgreSQL store. Then `PromptWorker`s in separate
processes (`multiprocessing`, spawn; each `concurrency=1`, like one `promptopt worker`)
process that work with a scripted optimizer taking `--delay` seconds per optimization
(default 0.2). Each round runs 1 worker, then `--workers` workers (default 4), or the other
way round (the order alternates), each on fresh namespaces (its own `namespace_prefix`); the
worker processes are started once, before any timing, and each run starts them together at
an agreed instant.

Throughput = namespaces / seconds until the last worker has nothing left. The table reports
medians over rounds and the ratio (target: at least 3x). Every round is also checked for
duplicates: each namespace got exactly one optimizer call across all processes, has exactly
two versions (base and learned), its feedback consumed, and the pending-work index is empty.

Run with `make bench` or `python -m benchmarks.worker_throughput --rounds 3`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import multiprocessing
import os
import platform
import queue
import re
import statistics
import time
from typing import Any

from langchain.agents import create_agent

from benchmarks.common import pg_schema
from langchain_prompt_optimization import (
    OptimizerSettings,
    PromptOptimizationMiddleware,
    PromptRegistry,
    PromptWorker,
    StorageSettings,
    open_store,
)
from langchain_prompt_optimization.stores import StoreLayout, drive
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

TARGET = 3.0
BASE = "You are an email assistant."
_FEEDBACK = re.compile(r"Feedback for (\S+): ")


class TimedOptimizerModel(ScriptedOptimizerModel):
    """A scripted optimizer that takes `delay` seconds per call (a real model's latency)
    and learns each feedback line (`append_feedback`)."""

    delay: float = 0.2

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Any:
        time.sleep(self.delay)
        return super()._generate(messages, stop, run_manager, **kwargs)


def optimized_users(model: ScriptedOptimizerModel) -> list[str]:
    """The user of each optimizer call (from the feedback text the call carried)."""
    users: list[str] = []
    for request in model.requests:
        users.extend(dict.fromkeys(_FEEDBACK.findall(request.text)))
    return users


def user_ids(count: int) -> list[str]:
    return [f"user-{i:04d}" for i in range(count)]


def leave_pending_work(store: Any, prefix: tuple[str, ...], namespaces: int) -> None:
    """What apps in external mode leave: one run and one feedback item per namespace."""
    mw = PromptOptimizationMiddleware(
        store=store, mode="external", storage=StorageSettings(namespace_prefix=prefix)
    )
    agent = create_agent(
        ScriptedChatModel(responses=lambda request: "Sent."),
        system_prompt=BASE,
        middleware=[mw],
        store=store,
    )
    for user in user_ids(namespaces):
        run = agent.invoke({"messages": [("user", "Write to Bob.")]}, context={"user_id": user})
        mw.add_feedback(run["trajectory_id"], f"Feedback for {user}: sign as John Doe.")


def worker_process(uri: str, delay: float, tasks: Any, results: Any) -> None:
    """One worker process: for each task `(prefix, start_at)`, a fresh `PromptWorker` on
    that prefix waits for `start_at`, processes until nothing is pending, and reports."""
    store = open_store(uri, create=False)
    model = TimedOptimizerModel(delay=delay)
    results.put(("ready", os.getpid()))
    while (task := tasks.get()) is not None:
        prefix, start_at = task
        model.requests.clear()
        worker = PromptWorker(
            store,
            optimizer=OptimizerSettings(model=model),
            storage=StorageSettings(namespace_prefix=prefix),
        )
        layout = StoreLayout(prefix)
        time.sleep(max(0.0, start_at - time.time()))
        optimized = 0
        while True:
            done = worker.run_once()
            optimized += done
            if not drive(layout.pending_owners(), store):
                break
            if not done:
                time.sleep(0.02)  # the rest is held by other workers
        results.put(("done", os.getpid(), time.time(), optimized, optimized_users(model)))
    store.conn.close()  # type: ignore[attr-defined]


def check_round(
    store: Any, prefix: tuple[str, ...], namespaces: int, calls: list[str]
) -> dict[str, int]:
    """Duplicates and misses: optimizer calls and versions per namespace."""
    per_user = collections.Counter(calls)
    registry = PromptRegistry(store, namespace_prefix=prefix)
    wrong_versions = 0
    unconsumed = 0
    for user in user_ids(namespaces):
        if [v.version for v in registry.history(user)] != [2, 1]:
            wrong_versions += 1
        statuses = [fb.status for fb in registry.feedback(user, pending_only=False)]
        unconsumed += statuses != ["consumed"]
    return {
        "calls": len(calls),
        "duplicates": sum(n - 1 for n in per_user.values() if n > 1),
        "missed": sum(1 for user in user_ids(namespaces) if per_user[user] == 0),
        "wrong_versions": wrong_versions,
        "unconsumed": unconsumed,
        "still_pending": len(drive(StoreLayout(prefix).pending_owners(), store)),
    }


def run_round(
    store: Any,
    prefix: tuple[str, ...],
    workers: list[tuple[Any, int]],
    results: Any,
    namespaces: int,
    timeout: float,
) -> dict[str, Any]:
    leave_pending_work(store, prefix, namespaces)
    start_at = time.time() + 0.5
    for tasks, _ in workers:
        tasks.put((prefix, start_at))
    finished: list[float] = []
    calls: list[str] = []
    optimized = 0
    for _ in workers:
        try:
            message = results.get(timeout=timeout)
        except queue.Empty:
            msg = f"a worker did not finish within {timeout}s"
            raise RuntimeError(msg) from None
        _, _, at, done, users = message
        finished.append(at)
        calls += users
        optimized += done
    elapsed = max(finished) - start_at
    checks = check_round(store, prefix, namespaces, calls)
    return {
        "elapsed": elapsed,
        "throughput": namespaces / elapsed,
        "optimized": optimized,
        **checks,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4, help="processes in the many side")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per optimization")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--uri", default=None, help="PostgreSQL store URI (default: a fresh schema)"
    )
    args = parser.parse_args(argv)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{args.namespaces} namespaces with pending feedback, optimizer {args.delay} s per call; "
        f"1 vs {args.workers} worker processes, rounds={args.rounds}, interleaved, medians\n"
    )
    with contextlib.ExitStack() as stack:
        uri = args.uri or stack.enter_context(pg_schema())
        if uri is None:
            return {}
        store = open_store(uri)
        stack.callback(store.conn.close)
        return _bench(store, uri, args)


def _bench(store: Any, uri: str, args: argparse.Namespace) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    procs: list[tuple[Any, Any]] = []
    for _ in range(args.workers):
        tasks = context.Queue()
        proc = context.Process(target=worker_process, args=(uri, args.delay, tasks, results))
        proc.start()
        procs.append((tasks, proc))
    rows: dict[int, list[dict[str, Any]]] = {1: [], args.workers: []}
    timeout = args.namespaces * (args.delay + 2.0) + 60
    try:
        for _ in procs:
            results.get(timeout=120)  # every process imported and opened the store
        for number in range(args.rounds):
            order = (1, args.workers) if number % 2 == 0 else (args.workers, 1)
            for count in order:
                prefix = ("bench", f"r{number}w{count}")
                chosen = [(tasks, proc.pid) for tasks, proc in procs[:count]]
                rows[count].append(
                    run_round(store, prefix, chosen, results, args.namespaces, timeout)
                )
    finally:
        for tasks, _ in procs:
            tasks.put(None)
        for _, proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    one = statistics.median(r["throughput"] for r in rows[1])
    many = statistics.median(r["throughput"] for r in rows[args.workers])
    every = rows[1] + rows[args.workers]
    summary = {
        "one": one,
        "many": many,
        "ratio": many / one,
        "rounds": rows,
        "duplicates": sum(r["duplicates"] for r in every),
        "missed": sum(r["missed"] for r in every),
        "wrong_versions": sum(r["wrong_versions"] for r in every),
        "unconsumed": sum(r["unconsumed"] for r in every),
        "still_pending": sum(r["still_pending"] for r in every),
    }
    print("| workers | rounds (namespaces/s) | median (namespaces/s) | calls per round |")
    print("|---|---|---|---|")
    for count, median in ((1, one), (args.workers, many)):
        each = ", ".join(f"{r['throughput']:.1f}" for r in rows[count])
        calls = ", ".join(str(r["calls"]) for r in rows[count])
        print(f"| {count} | {each} | {median:.1f} | {calls} |")
    passed = summary["ratio"] >= TARGET
    print(
        f"\n{args.workers} / 1 = {summary['ratio']:.2f}x (target >= {TARGET}x: "
        f"{'pass' if passed else 'MISS'})"
    )
    print(
        "duplicate optimizations: {duplicates}, namespaces missed: {missed}, "
        "namespaces without exactly 2 versions: {wrong_versions}, feedback not consumed: "
        "{unconsumed}, still marked pending: {still_pending}".format(**summary)
    )
    return summary


if __name__ == "__main__":
    main()
