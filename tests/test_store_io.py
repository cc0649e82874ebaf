"""The typed job helpers drive the same under the sync and the async driver."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from langgraph.store.base import GetOp, Item, PutOp
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization.stores import StoreLayout, UserRef
from langchain_prompt_optimization.stores.io import (
    Call,
    Job,
    adrive,
    ask,
    batch,
    call,
    drive,
    search_all,
    sleep,
    supports_ttl_job,
)
from langchain_prompt_optimization.stores.leases import StoreLease

NS = ("test", "jobs")


@dataclass(frozen=True, slots=True)
class Double(Call[int]):
    """A store-less call: sync and async answers differ so the test sees which ran."""

    value: int

    def run(self) -> int:
        return self.value * 2

    async def arun(self) -> int:
        await asyncio.sleep(0)
        return self.value * 2 + 1


class Boom(Call[int]):
    __slots__ = ()

    def run(self) -> int:
        raise LookupError("boom")

    async def arun(self) -> int:
        raise LookupError("boom")


def _job() -> Job[tuple[str, int, bool, int, str]]:
    yield from batch([PutOp(NS, f"k{i}", {"i": i}) for i in range(250)])
    (item,) = yield from batch([GetOp(NS, "k7")])
    assert isinstance(item, Item)
    doubled = yield from call(Double(item.value["i"]))
    ttl = yield from supports_ttl_job()
    yield from sleep(0)
    found = yield from search_all(NS, None)  # past one page: never cut
    try:
        yield from call(Boom())
    except LookupError as exc:  # a request's error is thrown into the job
        caught = str(exc)
    return item.key, doubled, ttl, len(found), caught


def test_helpers_drive_sync():
    assert drive(_job(), InMemoryStore()) == ("k7", 14, False, 250, "boom")


def test_helpers_drive_async():
    # The async driver awaits the async twin of the call (it answers 15, not 14).
    assert asyncio.run(adrive(_job(), InMemoryStore())) == ("k7", 15, False, 250, "boom")


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_record_leases_on_a_store_without_a_lease_table(driver):
    """InMemoryStore has no lease table: its leases are records, through one backend."""
    store, layout, owner = InMemoryStore(), StoreLayout(), UserRef.of("jane")

    def run(job):
        return drive(job, store) if driver == "sync" else asyncio.run(adrive(job, store))

    assert run(layout.acquire_lease(owner, "a", 30)) is True
    assert run(layout.acquire_lease(owner, "b", 30)) is False
    assert run(layout.renew_lease(owner, "b", 30)) is False
    assert run(layout.renew_lease(owner, "a", 30)) is True
    record = store.get(("prompt_optimization", "jane"), "lease")
    assert record is not None
    assert record.value["owner"] == "a"
    run(layout.release_lease(owner, "a"))
    assert store.get(("prompt_optimization", "jane"), "lease") is None
    assert run(layout.acquire_lease(owner, "b", 30)) is True


def test_a_lease_request_without_a_namespace_has_no_record_fallback():
    store = InMemoryStore()
    assert StoreLease("k", "a", 30, "acquire").run(store) is None
    assert asyncio.run(StoreLease("k", "a", 30, "acquire").arun(store)) is None
    assert drive(ask(StoreLease("k", "a", 30, "acquire", ("ns",))), store) is True
