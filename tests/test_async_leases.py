"""Optimizer leases on the async stores: atomic in the database, across connections.

Two store objects on one database stand for two processes (each has its own connection;
nothing in-process is shared between them).
"""

from __future__ import annotations

import asyncio

import pytest

from langchain_prompt_optimization import aopen_store
from langchain_prompt_optimization.stores.leases import LEASE_TABLE, StoreLease
from tests.conftest import make_harness

KEY = "prompt_optimization/jane"


async def _close(store) -> None:
    await store.conn.close()


async def _two_stores(kind: str, tmp_path, pg_uri: str | None):
    uri = f"sqlite:///{tmp_path / 'leases.db'}" if kind == "sqlite" else pg_uri
    assert uri is not None
    return await aopen_store(uri), await aopen_store(uri)


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request, tmp_path):
    if request.param == "postgres":
        from tests.conftest import postgres_schema

        with postgres_schema() as uri:
            first, second = await _two_stores("postgres", tmp_path, uri)
            yield first, second
            await _close(first)
            await _close(second)
        return
    first, second = await _two_stores("sqlite", tmp_path, None)
    yield first, second
    await _close(first)
    await _close(second)


async def test_only_one_holder_across_connections(stores):
    a, b = stores
    assert await StoreLease(KEY, "proc-a", 30, "acquire").arun(a) is True
    assert await StoreLease(KEY, "proc-b", 30, "acquire").arun(b) is False
    assert await StoreLease(KEY, "proc-b", 30, "renew").arun(b) is False
    assert await StoreLease(KEY, "proc-a", 30, "renew").arun(a) is True
    await StoreLease(KEY, "proc-a", 30, "release").arun(a)
    assert await StoreLease(KEY, "proc-b", 30, "acquire").arun(b) is True


async def test_an_expired_lease_can_be_taken(stores):
    a, b = stores
    assert await StoreLease(KEY, "proc-a", 0.2, "acquire").arun(a) is True
    await asyncio.sleep(0.4)
    assert await StoreLease(KEY, "proc-b", 30, "acquire").arun(b) is True
    assert await StoreLease(KEY, "proc-a", 30, "renew").arun(a) is False


async def test_concurrent_acquires_have_exactly_one_winner(stores):
    a, b = stores
    attempts = [StoreLease(KEY, f"proc-{i}", 30, "acquire").arun(a if i % 2 else b)
                for i in range(8)]  # fmt: skip
    assert sum(await asyncio.gather(*attempts)) == 1


async def test_sync_callers_use_the_async_store_loop(stores):
    a, b = stores
    won = await asyncio.to_thread(StoreLease(KEY, "sync", 30, "acquire").run, a)
    assert won is True
    assert await StoreLease(KEY, "proc-b", 30, "acquire").arun(b) is False


async def test_async_agent_optimizes_with_the_table_lease(tmp_path):
    store = await aopen_store(f"sqlite:///{tmp_path / 'agent.db'}")
    h = make_harness(store)
    result = await h.aask("jane")
    await h.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
    async with store.conn.execute(f"SELECT count(*) FROM {LEASE_TABLE}") as cursor:
        (rows,) = await cursor.fetchone()
    assert rows == 0  # taken, then released, in the lease table (not a store record)
    items = await store.asearch(("prompt_optimization", "jane"), limit=100)
    assert not [item for item in items if item.key == "lease"]
    await _close(store)


async def test_the_backend_cache_does_not_keep_a_store_alive(tmp_path):
    """A cached backend holding its store strongly kept every store (and aiosqlite's
    non-daemon thread) alive, so the process could not exit."""
    import gc
    import weakref

    from langchain_prompt_optimization.stores.leases import lease_backend

    store = await aopen_store(f"sqlite:///{tmp_path / 'gc.db'}")
    assert lease_backend(store) is not None
    await _close(store)
    ref = weakref.ref(store)
    del store
    gc.collect()
    assert ref() is None
