"""`lease_seconds` on the middleware as on the worker; the lease is renewed while an
optimization runs, stops being renewed when it ends, and a crashed holder's lease is taken
over once `lease_seconds` have passed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from langchain.agents import create_agent

from langchain_prompt_optimization import (
    OptimizerSettings,
    PromptOptimizationMiddleware,
    PromptRegistry,
    PromptWorker,
    open_store,
)
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

from .conftest import SIGN_RULE, Context, email_reply, sign_rewrite

ROOT = Path(__file__).parent.parent
USER = "jane"
LEASE = 1.0  # renewed every third: a busy machine must starve the renewer ~0.7 s to fail
OWNER = UserRef.of(USER)
LAYOUT = StoreLayout()


def _taken_by_someone_else(uri: str) -> bool:
    """Whether another process (its own store connection) finds the lease taken."""
    other = open_store(uri)
    try:
        won = drive(LAYOUT.acquire_lease(OWNER, "other-process", LEASE), other)
        if won:
            drive(LAYOUT.release_lease(OWNER, "other-process"), other)
        return not won
    finally:
        other.conn.close()  # type: ignore[attr-defined]


def _wait_past(seconds: float) -> None:
    """Let more than `seconds` pass (a wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)


class _Blocking:
    """An optimizer rewrite that signals it started, then blocks until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, current: str, text: str) -> str:
        self.started.set()
        assert self.release.wait(60), "the test never released the optimizer"
        return sign_rewrite(current, text)


def _agent(store, rewrite, **kwargs):
    middleware = PromptOptimizationMiddleware(
        optimizer=OptimizerSettings(
            model=ScriptedOptimizerModel(rewrite=rewrite), lease_seconds=LEASE
        ),
        store=store,
        **kwargs,
    )
    agent = create_agent(
        ScriptedChatModel(responses=email_reply),
        system_prompt="You are an email assistant.",
        middleware=[middleware],
        store=store,
        context_schema=Context,
    )
    return agent, middleware


def _renewers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("lease-renew-")]


def test_lease_settings_are_validated_and_shared_with_the_worker():
    assert OptimizerSettings().lease_seconds == 300.0
    for bad in (0, -1.0, float("nan"), float("inf"), True, "30"):
        with pytest.raises(ValueError, match="lease_seconds"):
            OptimizerSettings(lease_seconds=bad)  # type: ignore[arg-type]
    model = ScriptedOptimizerModel()
    store = open_store("memory://")
    settings = OptimizerSettings(model=model, lease_seconds=5)
    assert PromptWorker(store, optimizer=settings)._engine.settings.lease_seconds == 5.0
    legacy = PromptWorker(store, optimizer=OptimizerSettings(model=model), lease_seconds=7)
    assert legacy._engine.settings.lease_seconds == 7.0
    assert PromptWorker(store, optimizer=settings, lease_seconds=5)._engine.settings
    with pytest.raises(ValueError, match="lease_seconds"):
        PromptWorker(store, optimizer=settings, lease_seconds=7)
    with pytest.raises(ValueError, match="lease_seconds"):
        PromptWorker(store, optimizer=OptimizerSettings(model=model), lease_seconds=0)
    middleware = PromptOptimizationMiddleware(optimizer=settings)
    assert middleware._engine.settings.lease_seconds == 5.0
    assert middleware._pinner._lease_seconds == 5.0


def test_inline_optimization_keeps_its_lease_past_lease_seconds(tmp_path):
    uri = f"sqlite:///{tmp_path / 'lease.db'}"
    store = open_store(uri)
    blocking = _Blocking()
    agent, middleware = _agent(store, blocking)
    run = agent.invoke({"messages": [("user", "Write to Bob.")]}, context=Context(user_id=USER))
    job = threading.Thread(
        target=middleware.add_feedback, args=(run["trajectory_id"], "Sign as John Doe.")
    )
    job.start()
    try:
        assert blocking.started.wait(60)
        _wait_past(3 * LEASE)  # the lease would have expired three times over
        assert _taken_by_someone_else(uri)
        assert _renewers()
    finally:
        blocking.release.set()
        job.join(60)
    assert not job.is_alive()
    assert not _renewers()  # renewal stopped with the job: no thread left behind
    assert not _taken_by_someone_else(uri)  # released at once, not after expiry
    assert SIGN_RULE in PromptRegistry(store).current(USER).text  # the job committed
    store.conn.close()  # type: ignore[attr-defined]


def test_async_optimization_keeps_its_lease_past_lease_seconds(tmp_path):
    uri = f"sqlite:///{tmp_path / 'alease.db'}"
    store = open_store(uri)
    blocking = _Blocking()
    agent, middleware = _agent(store, blocking)

    async def scenario() -> None:
        run = await agent.ainvoke(
            {"messages": [("user", "Write to Bob.")]}, context=Context(user_id=USER)
        )
        job = asyncio.create_task(
            middleware.aadd_feedback(run["trajectory_id"], "Sign as John Doe.")
        )
        try:
            assert await asyncio.to_thread(blocking.started.wait, 60)
            await asyncio.sleep(3 * LEASE)
            assert await asyncio.to_thread(_taken_by_someone_else, uri)
        finally:
            blocking.release.set()
            await asyncio.wait_for(job, 60)
        assert SIGN_RULE in (await PromptRegistry(store).acurrent(USER)).text
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not [t for t in tasks if "keep" in repr(t.get_coro())]

    asyncio.run(scenario())
    assert not _renewers()
    assert not _taken_by_someone_else(uri)
    store.conn.close()  # type: ignore[attr-defined]


_CRASHING_APP = """
import sys, time
sys.path[:0] = [{src!r}, {root!r}]
from pathlib import Path
from tests.test_lease_renewal import _agent, Context
from langchain_prompt_optimization import open_store

def block(current, text):
    Path({flag!r}).write_text("optimizing")
    time.sleep(600)
    return current

store = open_store({uri!r})
agent, middleware = _agent(store, block)
run = agent.invoke({{"messages": [("user", "Write to Bob.")]}}, context=Context(user_id="jane"))
middleware.add_feedback(run["trajectory_id"], "Sign as John Doe.")
"""


def test_a_crashed_apps_lease_is_taken_over_after_lease_seconds(tmp_path):
    uri = f"sqlite:///{tmp_path / 'crash.db'}"
    flag = tmp_path / "optimizing"
    code = _CRASHING_APP.format(src=str(ROOT / "src"), root=str(ROOT), flag=str(flag), uri=uri)
    app = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)])
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert app.poll() is None, "the app exited before optimizing"
            if time.monotonic() > deadline:
                pytest.fail("the app never started optimizing")
            time.sleep(0.05)
        _wait_past(3 * LEASE)
        assert _taken_by_someone_else(uri)  # alive: its lease is renewed
        os.kill(app.pid, signal.SIGKILL)  # crash mid-optimization: never releases
        app.wait(60)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(60)

    store = open_store(uri)
    _agent_b, survivor = _agent(store, sign_rewrite)
    deadline = time.monotonic() + 60
    outcome = survivor.optimize_now(USER)
    while outcome.status == "busy":  # until the crashed app's lease expires
        if time.monotonic() > deadline:
            pytest.fail("the crashed app's lease never expired")
        time.sleep(0.05)
        outcome = survivor.optimize_now(USER)
    assert outcome.status == "optimized"
    assert SIGN_RULE in outcome.versions["system"].text
    store.conn.close()  # type: ignore[attr-defined]
