"""External mode and PromptWorker: pending-work index, leases across workers, clean stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from langchain_prompt_optimization import PromptRegistry, PromptWorker, open_store
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.testing import ScriptedOptimizerModel

from .conftest import BASE_PROMPT, SIGN_RULE, make_harness, need_postgres

ROOT = Path(__file__).parent.parent
PROMPTOPT = Path(sys.executable).parent / "promptopt"
LEARNED = f"{BASE_PROMPT}\n{SIGN_RULE}"


def _sign(current: str, text: str) -> str:
    return current if SIGN_RULE in current else f"{current}\n{SIGN_RULE}"


def _pending(store) -> list[str | None]:
    return [ref.user_id for ref in drive(StoreLayout().pending_owners(), store)]


def test_external_mode_marks_work_and_a_worker_does_it(store):
    h = make_harness(store, mode="external", optimize_every=2)
    first = h.ask("jane")
    h.middleware.add_feedback(first["trajectory_id"], "Sign as John Doe.")
    assert _pending(store) == ["jane"]  # marked with the feedback's own write
    worker = PromptWorker(store, optimizer_model=ScriptedOptimizerModel(rewrite=_sign))
    assert worker.run_once() == 0  # below the app's optimize_every=2, recorded in the store
    assert PromptRegistry(store).current("jane").version == 1
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe please.")
    assert h.optimizer.requests == []
    assert worker.run_once() == 1
    assert _pending(store) == []
    assert worker.run_once() == 0
    assert PromptRegistry(store).current("jane").text == LEARNED
    h.ask("jane")
    assert h.model.requests[-1].system_prompt == LEARNED


def test_in_band_feedback_marks_work_too(store):
    from langgraph.checkpoint.memory import InMemorySaver

    from .conftest import Context

    h = make_harness(store, mode="external", checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    h.ask("jane", config=config)
    h.agent.invoke(
        {"messages": [("user", "again")], "feedback": "Sign as John Doe."},
        context=Context("jane"),
        config=config,
    )
    assert _pending(store) == ["jane"]


def test_worker_follows_the_recorded_approval_policy_and_scope(store):
    h = make_harness(store, mode="external", scope="global")
    h.middleware.add_feedback(h.ask("alice")["trajectory_id"], "Sign as John Doe.")
    assert _pending(store) == [None]  # the global lineage
    worker = PromptWorker(store, optimizer_model=ScriptedOptimizerModel(rewrite=_sign))
    assert worker.run_once() == 1
    registry = PromptRegistry(store, scope="global")
    assert registry.history("bob")[0].status == "pending"  # require_approval recorded as True


def test_workers_split_the_work_and_never_optimize_a_namespace_twice(store):
    users = [f"user-{i}" for i in range(8)]
    h = make_harness(store, mode="external")
    for user in users:
        h.middleware.add_feedback(h.ask(user)["trajectory_id"], "Sign as John Doe.")
    calls: list[str] = []
    lock = threading.Lock()

    def slow_sign(current: str, text: str) -> str:
        with lock:
            calls.append(text)
        time.sleep(0.05)
        return _sign(current, text)

    workers = [
        PromptWorker(
            store, optimizer_model=ScriptedOptimizerModel(rewrite=slow_sign), concurrency=2
        )
        for _ in range(2)
    ]
    done: list[int] = []
    threads = [threading.Thread(target=lambda w=w: done.append(w.run_once())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(calls) == len(users)  # each namespace optimized exactly once
    assert sum(done) == len(users)
    registry = PromptRegistry(store)
    for user in users:
        assert [(v.version, v.status) for v in registry.history(user)] == [
            (2, "active"),
            (1, "inactive"),
        ]
        (item,) = registry.feedback(user, pending_only=False)
        assert item.status == "consumed"
    assert _pending(store) == []


def test_run_forever_stops_cleanly():
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    h = make_harness(store, mode="external")
    worker = PromptWorker(
        store, optimizer_model=ScriptedOptimizerModel(rewrite=_sign), poll_interval=0.05
    )
    thread = threading.Thread(target=worker.run_forever, kwargs={"handle_signals": False})
    thread.start()
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    deadline = time.monotonic() + 60  # give-up limit for a broken worker, not a timing bound
    while PromptRegistry(store).current("jane").version == 1:
        if time.monotonic() > deadline:
            worker.stop()
            pytest.fail("the running worker never optimized jane's pending feedback")
        time.sleep(0.05)
    worker.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert PromptRegistry(store).current("jane").text == LEARNED


def _worker_process(uri: str, model: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(
        [str(PROMPTOPT), "--store", uri, "worker", "--model", model, "--poll", "0.1", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sqlite_with_pending(tmp_path) -> str:
    uri = f"sqlite:///{tmp_path / 'worker.db'}"
    store = open_store(uri)
    h = make_harness(store, mode="external")
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    store.conn.close()  # type: ignore[attr-defined]
    return uri


def test_worker_command_once_and_sigterm(tmp_path):
    uri = _sqlite_with_pending(tmp_path)
    once = subprocess.run(
        [str(PROMPTOPT), "--store", uri, "--json", "worker", "--once", "--model",
         "python:tests.cli_models:optimizer"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert once.returncode == 0, once.stderr
    assert '"optimized": 1' in once.stdout
    proc = _worker_process(uri, "python:tests.cli_models:optimizer")
    started = threading.Event()

    def watch() -> None:
        for line in proc.stderr or ():
            if "started" in line:
                started.set()

    threading.Thread(target=watch, daemon=True).start()
    assert started.wait(60), "the worker never reported it started"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def _killed_worker_then_another_completes(uri: str) -> None:
    proc = _worker_process(uri, "python:tests.cli_models:slow_optimizer", "--lease-seconds", "2")
    store = open_store(uri)
    try:
        deadline = time.monotonic() + 60  # give-up limits, not timing bounds
        # Wait until the worker holds the lease (it is then inside the slow optimizer).
        layout, owner = StoreLayout(), UserRef.of("jane")
        while time.monotonic() < deadline:
            if not drive(layout.acquire_lease(owner, "probe", 1.0), store):
                break  # someone (the worker) holds it
            drive(layout.release_lease(owner, "probe"), store)
            time.sleep(0.2)
        else:
            pytest.fail("the worker never took the lease")
        proc.kill()
        proc.wait(timeout=10)
        survivor = PromptWorker(store, optimizer_model=ScriptedOptimizerModel(rewrite=_sign))
        deadline = time.monotonic() + 60
        while (done := survivor.run_once()) == 0:  # until the dead worker's lease expires
            if time.monotonic() > deadline:
                pytest.fail("the dead worker's lease never expired")
            time.sleep(0.2)
        assert done == 1
        assert PromptRegistry(store).current("jane").text == LEARNED
        assert [v.version for v in PromptRegistry(store).history("jane")] == [2, 1]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_killed_worker_lease_expires_and_another_completes_sqlite(tmp_path):
    _killed_worker_then_another_completes(_sqlite_with_pending(tmp_path))


def test_killed_worker_lease_expires_and_another_completes_postgres(pg_uri):
    need_postgres()
    store = open_store(pg_uri)
    h = make_harness(store, mode="external")
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    _killed_worker_then_another_completes(pg_uri)


def _race_two_worker_processes(uri: str, store, tmp_path) -> None:
    users = [f"user-{i}" for i in range(6)]
    h = make_harness(store, mode="external")
    for user in users:
        h.middleware.add_feedback(h.ask(user)["trajectory_id"], "Sign as John Doe.")
    calls = tmp_path / "calls.txt"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PROMPTOPT_TEST_CALLS": str(calls),
    }
    command = [str(PROMPTOPT), "--store", uri, "worker", "--once", "--concurrency", "3",
               "--model", "python:tests.cli_models:counting_optimizer"]  # fmt: skip
    procs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    lines = calls.read_text().splitlines()
    assert len(lines) == len(users)  # each namespace optimized exactly once, across processes
    registry = PromptRegistry(store)
    for user in users:
        assert [v.version for v in registry.history(user)] == [2, 1], user
        assert [fb.status for fb in registry.feedback(user, pending_only=False)] == ["consumed"]


def test_two_worker_processes_on_sqlite_never_optimize_a_namespace_twice(tmp_path):
    uri = f"sqlite:///{tmp_path / 'race.db'}"
    _race_two_worker_processes(uri, open_store(uri), tmp_path)


def test_two_worker_processes_on_postgres_never_optimize_a_namespace_twice(pg_uri, tmp_path):
    _race_two_worker_processes(pg_uri, open_store(pg_uri), tmp_path)


def test_worker_applies_the_apps_recorded_budgets_and_trusted_domains(tmp_path):
    """Workers see only the store: the app's max_growth_chars and the firewall's
    trusted_domains are recorded there and applied, not the defaults."""
    from langchain_prompt_optimization import FeedbackFirewall
    from langchain_prompt_optimization.testing import append_feedback

    uri = f"sqlite:///{tmp_path}/w.db"
    store = open_store(uri)
    h = make_harness(
        store,
        mode="external",
        max_growth_chars=30,
        firewall=FeedbackFirewall(trusted_domains=("corp.com",)),
    )
    h.middleware.add_feedback(h.ask("ann")["trajectory_id"], "CC bob@corp.com on invoices.")
    h.middleware.add_feedback(h.ask("ben")["trajectory_id"], "Say " + "very " * 20 + "politely.")
    worker = PromptWorker(store, optimizer_model=ScriptedOptimizerModel(rewrite=append_feedback))
    assert worker.run_once() == 2
    registry = PromptRegistry(store)
    assert registry.current("ann").text.endswith("CC bob@corp.com on invoices.")
    rejected = registry.history("ben")[0]
    assert rejected.status == "rejected"
    assert "max_growth_chars=30" in rejected.reason
    store.conn.close()  # type: ignore[attr-defined]
