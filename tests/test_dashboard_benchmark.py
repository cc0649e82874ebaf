"""The dashboard benchmark runs in a tiny size, so CI catches a broken benchmark (no timing
assertions: only what must hold on any machine)."""

from __future__ import annotations

from benchmarks import dashboard_users

from langchain_prompt_optimization import PromptRegistry, open_store

from .conftest import need_postgres, postgres_schema


def test_review_work_is_what_the_dashboard_summarizes():
    need_postgres()
    with postgres_schema() as uri:
        store = open_store(uri)
        dashboard_users.populate(store, 21, 3)
        work = dashboard_users.add_review_work(store, 21, 3)
        registry = PromptRegistry(store)
        users = registry.users()
        rows = registry.user_summaries(users)
        store.conn.close()  # type: ignore[attr-defined]
    assert work == {"pending": 3, "quarantined": 3}
    assert len(rows) == 21
    assert sum(row.pending_versions for row in rows) == 3
    assert sum(row.quarantined_feedback for row in rows) == 3
    assert {row.active["system"] for row in rows} == {3}


def test_dashboard_benchmark_measures_on_postgres():
    need_postgres()
    row = dashboard_users.main(["--users", "30", "--rounds", "1"])
    assert row is not None
    assert row["page_ratio"] > 0
    assert row["search_ratio"] > 0
