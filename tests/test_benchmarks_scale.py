"""The scale benchmarks run in tiny sizes, so CI catches a broken benchmark (no timing
assertions: only what must hold on any machine)."""

from __future__ import annotations

from typing import Any

from benchmarks import background_latency, pin_at_scale, worker_throughput

from langchain_prompt_optimization import PromptRegistry, open_store

from .conftest import postgres_schema


def test_pin_at_scale_populates_real_histories_and_measures_sqlite(tmp_path):
    rows = pin_at_scale.main(
        ["--users", "20", "--small-users", "3", "--versions", "3", "--rounds", "1",
         "--calls", "3", "--stores", "sqlite", "--tmp", str(tmp_path)]
    )  # fmt: skip
    (row,) = rows
    assert row["store"] == "sqlite"
    assert row["pin_ratio"] > 0
    assert row["run_ratio"] > 0


def test_pin_at_scale_on_postgres():
    args = pin_at_scale.parse_args(["--users", "15", "--small-users", "2", "--versions", "4",
                                    "--rounds", "1", "--calls", "3"])  # fmt: skip
    with postgres_schema() as small, postgres_schema() as big:
        row = pin_at_scale.bench_backend("postgres", (small, big), args)
    assert row["pin_ratio"] > 0


def test_pinned_prompt_of_a_populated_store_is_the_last_version(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    pin_at_scale.populate(store, users=4, versions=5)
    side = pin_at_scale.Side("big", store, 4)
    user = pin_at_scale.user_ids(4)[2]
    update = side.pin(user)
    assert update["prompt_versions"] == {"system": 5}
    assert PromptRegistry(store).current(user).text == pin_at_scale.version_text(2, 5)
    store.conn.close()  # type: ignore[attr-defined]


def _check_background_row(row: dict[str, Any], rounds: int) -> None:
    assert row["idle_ms"] > 0
    assert row["busy_ms"] > 0
    assert row["optimizer_calls"] == rounds  # one background optimization per busy round
    assert row["versions"] == 1 + rounds


def test_background_latency_runs_in_memory_and_sqlite(tmp_path):
    rows = background_latency.main(
        ["--rounds", "1", "--runs", "2", "--delay", "0.2", "--stores", "memory,sqlite",
         "--tmp", str(tmp_path)]
    )  # fmt: skip
    assert [row["store"] for row in rows] == ["memory", "sqlite"]
    for row in rows:
        _check_background_row(row, rounds=1)


def test_background_latency_on_postgres(pg_uri):
    store = open_store(pg_uri)
    try:
        row = background_latency.measure(store, rounds=1, runs=2, delay=0.2)
    finally:
        store.conn.close()  # type: ignore[attr-defined]
    _check_background_row(row, rounds=1)


def test_two_worker_processes_optimize_each_namespace_exactly_once(pg_uri):
    summary = worker_throughput.main(
        ["--namespaces", "6", "--workers", "2", "--delay", "0.05", "--rounds", "1",
         "--uri", pg_uri]
    )  # fmt: skip
    for rounds in summary["rounds"].values():
        (row,) = rounds
        assert row["calls"] == 6
        assert row["optimized"] == 6
    assert summary["duplicates"] == 0
    assert summary["missed"] == 0
    assert summary["wrong_versions"] == 0
    assert summary["unconsumed"] == 0
    assert summary["still_pending"] == 0


def test_capture_cost_measures_every_configuration_side_by_side(tmp_path):
    import contextlib

    from benchmarks import capture_cost

    with contextlib.ExitStack() as stack:
        ((label, store, fsync),) = capture_cost._stores(str(tmp_path), ["sqlite"], stack)
        measured = capture_cost.measure(store, fsync, rounds=1, runs=2)
    assert label == "sqlite"
    for kind in ("wall", "cpu"):
        assert set(measured[kind]) == {"empty", *capture_cost.COLUMNS}
    assert all(seconds > 0 for seconds in measured["wall"].values())
