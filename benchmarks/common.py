"""What the benchmark scripts share: the PostgreSQL test server, a throwaway schema on it,
and the scripted one-tool-call agent they time."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
import uuid
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = ["PG_URI", "instant", "interleaved", "lookup", "pg_schema"]

PG_URI = os.environ.get("PROMPTOPT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@tool
def lookup(name: str) -> str:
    """Look something up."""
    return f"found {name}"


def instant(request: Any) -> AIMessage | str:
    """The timed agent's scripted model: one `lookup` call, then the answer."""
    if any(isinstance(m, ToolMessage) for m in request.messages):
        return "done"
    return AIMessage("", tool_calls=[{"name": "lookup", "args": {"name": "x"}, "id": "1"}])


@contextlib.contextmanager
def pg_schema() -> Iterator[str | None]:
    """A fresh PostgreSQL schema (dropped afterwards); yields its store URI, or None when
    the server does not answer."""
    try:
        import psycopg

        with psycopg.connect(PG_URI, autocommit=True, connect_timeout=3) as conn:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            conn.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        print(f"(PostgreSQL skipped: {exc})", file=sys.stderr)
        yield None
        return
    sep = "&" if "?" in PG_URI else "?"
    try:
        yield f"{PG_URI}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URI, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def interleaved(
    agents: Mapping[str, Any],
    rounds: int,
    runs: int,
    *,
    users: int = 10,
    between_rounds: Callable[[], object] | None = None,
) -> dict[str, dict[str, float]]:
    """Time `agents` side by side: in each round, run by run, every agent runs once in turn
    (the order alternating), so all see the same machine load; users take turns. Returns the
    median over rounds of the mean per run, wall-clock (`"wall"`) and process CPU time
    (`"cpu"`, every thread), by agent. `between_rounds` runs outside the timed runs."""
    names = [f"user-{i}" for i in range(users)]
    wall: dict[str, list[float]] = {name: [] for name in agents}
    cpu: dict[str, list[float]] = {name: [] for name in agents}
    message = {"messages": [("user", "go")]}
    for agent in agents.values():  # warm up
        for user in names:
            agent.invoke(message, context={"user_id": user})
    if between_rounds is not None:
        between_rounds()
    order = list(agents.items())
    for number in range(rounds):
        wall_total = dict.fromkeys(agents, 0.0)
        cpu_total = dict.fromkeys(agents, 0.0)
        for i in range(runs):
            context = {"user_id": names[i % users]}
            for name, agent in order if (number + i) % 2 else reversed(order):
                start, start_cpu = time.perf_counter(), time.process_time()
                agent.invoke(message, context=context)
                wall_total[name] += time.perf_counter() - start
                cpu_total[name] += time.process_time() - start_cpu
        for name in agents:
            wall[name].append(wall_total[name] / runs)
            cpu[name].append(cpu_total[name] / runs)
        if between_rounds is not None:
            between_rounds()
    return {
        "wall": {name: statistics.median(values) for name, values in wall.items()},
        "cpu": {name: statistics.median(values) for name, values in cpu.items()},
    }
