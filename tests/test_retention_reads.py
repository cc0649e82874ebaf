"""The retention pass reads little: one small read under the cap, few pages above it."""

from __future__ import annotations

from datetime import timedelta

from langgraph.store.base import PutOp

from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.stores.records import utcnow
from langchain_prompt_optimization.testing import InstrumentedStore


def _store_runs(store, layout: StoreLayout, user: UserRef, count: int) -> list[str]:
    start = utcnow() - timedelta(days=1)
    keys = [f"{user.digest}-{n:032x}" for n in range(count)]
    store.batch(
        [
            PutOp(
                layout._trajectory_ns(user),
                key,
                {"id": key, "created_at": (start + timedelta(seconds=n)).isoformat()},
            )
            for n, key in enumerate(keys)
        ]
    )
    return keys  # oldest first


def test_prune_under_the_cap_reads_one_item_and_deletes_nothing(store):
    layout, jane = StoreLayout(), UserRef.of("jane")
    _store_runs(store, layout, jane, 5)
    counted = InstrumentedStore(store)
    assert drive(layout.prune_trajectories(jane, jane, keep=5), counted) == 0
    assert [(b.searches, b.puts) for b in counted.batches] == [(1, 0)]


def test_prune_over_the_cap_pages_through_everything_and_keeps_the_newest(store):
    layout, jane = StoreLayout(), UserRef.of("jane")
    keys = _store_runs(store, layout, jane, 750)
    counted = InstrumentedStore(store)
    assert drive(layout.prune_trajectories(jane, jane, keep=100), counted) == 650
    searches = [b for b in counted.batches if b.searches]
    # the probe, pages of 200, 400, 800 (the last one short), the pending- and the
    # quarantined-feedback reads (runs whose feedback waits are kept)
    assert len(searches) == 6
    remaining = drive(layout._search_all(layout._trajectory_ns(jane), None), store)
    assert sorted(item.key for item in remaining) == sorted(keys[-100:])
