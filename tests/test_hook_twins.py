"""The sync and async hooks follow one deadline rule: the same pin under the same slow store."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptOptimizationMiddleware
from langchain_prompt_optimization.middleware.pinning import META, PINNED
from langchain_prompt_optimization.optimizer import OptimizerSettings
from langchain_prompt_optimization.stores.settings import StorageSettings
from langchain_prompt_optimization.testing import InstrumentedStore, ScriptedOptimizerModel

from .conftest import BASE_PROMPT, SIGN_RULE, Context, make_harness

LEARNED = f"{BASE_PROMPT}\n{SIGN_RULE}"


class HangingStore(InstrumentedStore):
    """A store that stops answering while `hang` is set (until released, for `batch`)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.hang = False
        self.released = threading.Event()

    def batch(self, ops):
        if self.hang:
            self.released.wait(30)
        return super().batch(ops)

    async def abatch(self, ops):
        if self.hang:
            await asyncio.sleep(30)  # cancelled at the deadline
        return await super().abatch(ops)


def _learned(store: Any) -> None:
    """User 'u' has learned the sign-off rule: version 2 is active."""
    with pytest.warns(DeprecationWarning, match="optimizer_model= is deprecated"):
        h = make_harness(store)  # the shared harness still uses the old keyword
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Sign as John Doe.")
    h.ask("u")  # records the system prompt's base text


def _middleware(store: Any, timeout: float) -> PromptOptimizationMiddleware:
    return PromptOptimizationMiddleware(
        optimizer=OptimizerSettings(model=ScriptedOptimizerModel()),
        store=store,
        storage=StorageSettings(timeout=timeout, pin_cache_seconds=0),  # every pin reads
    )


def _state() -> dict[str, Any]:
    return {"messages": [HumanMessage("hi", id="h1")]}


def _pin(mw: PromptOptimizationMiddleware, update: dict[str, Any] | None) -> tuple[Any, ...]:
    """What a pin serves: versions, texts (from the middleware's memory: the state holds
    hashes), and whether it fell back."""
    assert update is not None
    texts = {name: mw.prompt_for_run(update, name) for name in update[PINNED]}
    return update["prompt_versions"], texts, "pin_error" in update[META]


def _pin_sync(mw: PromptOptimizationMiddleware, store: Any) -> tuple[Any, ...]:
    runtime = Runtime(context=Context(user_id="u"), store=store)
    return _pin(mw, mw.before_agent(_state(), runtime))  # type: ignore[arg-type]


async def _pin_async(mw: PromptOptimizationMiddleware, store: Any) -> tuple[Any, ...]:
    runtime = Runtime(context=Context(user_id="u"), store=store)
    return _pin(mw, await mw.abefore_agent(_state(), runtime))  # type: ignore[arg-type]


async def test_sync_and_async_pins_fall_back_alike_when_the_store_hangs():
    inner = InMemoryStore()
    _learned(inner)
    slow = HangingStore(inner)
    warm_sync, warm_async = _middleware(slow, 0.05), _middleware(slow, 0.05)
    cold_sync, cold_async = _middleware(slow, 0.05), _middleware(slow, 0.05)
    try:
        answered = ({"system": 2}, {"system": LEARNED}, False)
        assert _pin_sync(warm_sync, slow) == await _pin_async(warm_async, slow) == answered
        slow.hang = True
        # Both serve the last pin they read, and record that they fell back.
        last_good = ({"system": 2}, {"system": LEARNED}, True)
        assert _pin_sync(warm_sync, slow) == await _pin_async(warm_async, slow) == last_good
        # Neither has read a pin yet: both serve the base prompt.
        base = ({"system": 1}, {}, True)
        assert _pin_sync(cold_sync, slow) == await _pin_async(cold_async, slow) == base
    finally:
        slow.released.set()
        for mw in (warm_sync, warm_async, cold_sync, cold_async):
            mw.close()


async def test_sync_and_async_wait_alike_for_an_in_process_store(monkeypatch):
    """An in-process InMemoryStore cannot hang: neither twin puts a deadline on it, so a
    slow answer is still the answer in both (the async hook used to time out here)."""
    store = InMemoryStore()
    _learned(store)
    fast_batch = InMemoryStore.batch

    def slow_batch(self, ops):
        time.sleep(0.2)
        return fast_batch(self, ops)

    async def slow_abatch(self, ops):
        await asyncio.sleep(0.2)
        return fast_batch(self, list(ops))

    monkeypatch.setattr(InMemoryStore, "batch", slow_batch)  # still exactly an InMemoryStore
    monkeypatch.setattr(InMemoryStore, "abatch", slow_abatch)
    sync_mw, async_mw = _middleware(store, 0.01), _middleware(store, 0.01)
    try:
        answered = ({"system": 2}, {"system": LEARNED}, False)
        assert _pin_sync(sync_mw, store) == await _pin_async(async_mw, store) == answered
    finally:
        sync_mw.close()
        async_mw.close()
