"""Store outages and scale: bounded waits, buffered captures, recovery, concurrent load."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    PromptRegistry,
    StorageSettings,
    aopen_store,
    open_store,
)
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive
from langchain_prompt_optimization.testing import InstrumentedStore

from .conftest import BASE_PROMPT, PG_URI, SIGN_RULE, make_harness, need_postgres


def _trajectory_records(store, user: str) -> dict[str, dict[str, Any]]:
    layout = StoreLayout()
    items = drive(
        layout._search_all((*layout.prefix, UserRef.of(user).label, "trajectories"), None), store
    )
    return {item.key: item.value for item in items}


def _trajectories(store, user: str) -> list[str]:
    return list(_trajectory_records(store, user))


def _wait_for(condition, what: str, give_up: float = 60) -> None:
    """Poll `condition` until it holds; fail naming `what` after `give_up` seconds (a limit
    for a broken test, not a timing assertion)."""
    deadline = time.monotonic() + give_up
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {give_up:g} s waiting for {what}")
        time.sleep(0.05)


class HangingStore(InstrumentedStore):
    """A store that stops answering (a server that hangs) while `hang` is set: each call
    waits until `answer()` is called, so a run that waited for one could not return."""

    def __init__(self, inner) -> None:
        super().__init__(inner)
        self.hang = False
        self.waiting = 0  # calls blocked right now
        self._answered = threading.Event()
        self._lock = threading.Lock()

    def batch(self, ops):
        if self.hang:
            with self._lock:
                self.waiting += 1
            try:
                self._answered.wait(60)  # give-up limit: never reached unless a test broke
            finally:
                with self._lock:
                    self.waiting -= 1
        return super().batch(ops)

    def answer(self) -> None:
        self.hang = False
        self._answered.set()


def test_a_hanging_store_costs_a_run_only_its_deadlines(store, caplog):
    hanging = HangingStore(store)
    h = make_harness(hanging, storage=StorageSettings(timeout=0.3, pin_cache_seconds=0))
    h.middleware.add_feedback(h.ask("jane")["trajectory_id"], "Sign as John Doe.")
    h.ask("jane")  # this process now knows v2
    hanging.hang = True
    try:
        with caplog.at_level(logging.WARNING):
            result = h.ask("jane")
        # The run is over while its pin read and its capture write still wait for the store:
        # it gave up on both at its own deadline instead of waiting for the store.
        assert hanging.waiting == 2
    finally:
        hanging.answer()
    assert "serving the last good prompts" in caplog.text  # the pin fell back
    assert "recording later" in caplog.text  # the capture was left to finish
    assert h.model.requests[-1].system_prompt == f"{BASE_PROMPT}\n{SIGN_RULE}"  # last known
    assert result["messages"][-1].content.endswith("John Doe")
    h.ask("jane")
    # The late write lands once the store answers, and is not buffered twice.
    _wait_for(lambda: len(_trajectories(store, "jane")) == 4, "the late capture to land")
    assert h.middleware.buffered_writes == 0
    late = _trajectory_records(store, "jane")[result["trajectory_id"]]
    assert "TimeoutError" in late["pin_error"]  # the record says the pin fell back


def test_captures_during_an_outage_are_written_when_the_store_returns(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted)
    before = h.ask("jane")["trajectory_id"]
    counted.down = True
    during = [h.ask("jane")["trajectory_id"] for _ in range(3)]
    assert h.middleware.buffered_writes == 3
    counted.down = False
    assert h.middleware.flush_writes() == 3
    assert sorted(_trajectories(store, "jane")) == sorted([before, *during])
    h.middleware.add_feedback(during[-1], "Sign as John Doe.")  # a buffered run is real


async def test_async_outage_buffers_and_recovers(store):
    counted = InstrumentedStore(store)
    h = make_harness(counted)
    await h.aask("jane")
    counted.down = True
    await h.aask("jane")
    assert h.middleware.buffered_writes == 1
    counted.down = False
    await h.aask("jane")
    assert h.middleware.buffered_writes == 0
    assert len(_trajectories(store, "jane")) == 3


def test_the_outage_buffer_is_bounded_and_counts_what_it_drops(caplog):
    counted = InstrumentedStore(InMemoryStore())
    h = make_harness(counted, max_buffered_writes=2)
    h.ask("jane")
    counted.down = True
    with caplog.at_level(logging.ERROR):
        for _ in range(5):
            assert h.ask("jane")["messages"][-1].content
    assert h.middleware.buffered_writes == 2
    assert h.middleware.dropped_writes == 3
    assert "write buffer full" in caplog.text


async def test_aopen_store_serves_async_agents(tmp_path):
    store = await aopen_store(f"sqlite:///{tmp_path / 'async.db'}")
    h = make_harness(store)
    result = await h.aask("jane")
    await h.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
    await h.aask("jane")
    assert h.model.requests[-1].system_prompt == f"{BASE_PROMPT}\n{SIGN_RULE}"
    assert (await PromptRegistry(store).acurrent("jane")).version == 2
    with pytest.raises(ValueError, match="unknown store URI scheme"):
        await aopen_store("redis://x")


async def test_aopen_store_postgres(pg_uri):
    store = await aopen_store(pg_uri)
    h = make_harness(store)
    result = await h.aask("jane")
    await h.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
    assert (await PromptRegistry(store).acurrent("jane")).version == 2
    await store.conn.close()  # type: ignore[attr-defined]


# -- PostgreSQL under load -------------------------------------------------------------------

USERS = [f"user-{i:02d}@example.com" for i in range(50)]
RUNS_PER_USER = 20


def _check_load(store, ids: dict[str, list[str]]) -> None:
    total = 0
    for user in USERS:
        stored = _trajectories(store, user)
        assert sorted(stored) == sorted(ids[user]), user  # zero cross-user items
        total += len(stored)
    all_ids = [tid for tids in ids.values() for tid in tids]
    assert total == len(all_ids) == len(set(all_ids)) == len(USERS) * RUNS_PER_USER


async def test_postgres_50_users_x_20_concurrent_runs_async(pg_uri):
    store = open_store(pg_uri)
    h = make_harness(store, store_timeout=30)
    ids: dict[str, list[str]] = {user: [] for user in USERS}

    async def run(user: str) -> None:
        result = await h.aask(user)
        ids[user].append(result["trajectory_id"])

    await asyncio.gather(*(run(user) for user in USERS for _ in range(RUNS_PER_USER)))
    assert h.middleware.buffered_writes == 0
    _check_load(store, ids)


def test_postgres_50_users_x_20_concurrent_runs_threads(pg_uri):
    store = open_store(pg_uri)
    h = make_harness(store, store_timeout=30)
    ids: dict[str, list[str]] = {user: [] for user in USERS}
    lock = threading.Lock()

    def run(user: str) -> None:
        result = h.ask(user)
        with lock:
            ids[user].append(result["trajectory_id"])

    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(run, [user for user in USERS for _ in range(RUNS_PER_USER)]))
    assert h.middleware.buffered_writes == 0
    _check_load(store, ids)


class _Proxy:
    """A TCP proxy to PostgreSQL that can be cut: the server goes away for the app."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for s in (client, server):  # no Nagle delay: each query is a few small packets
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_postgres_stopped_mid_load_runs_answer_and_nothing_acknowledged_is_lost(pg_uri, caplog):
    need_postgres()
    from urllib.parse import urlsplit

    parts = urlsplit(PG_URI)
    proxy = _Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxied = pg_uri.replace(f"{parts.hostname}:{parts.port or 5432}", f"127.0.0.1:{proxy.port}")
    users = [f"u{i}" for i in range(6)]
    try:
        store = open_store(proxied)
        h = make_harness(store, store_timeout=0.5)
        acknowledged: list[tuple[str, str]] = []
        for user in users:
            result = h.ask(user)
            h.middleware.add_feedback(result["trajectory_id"], "Sign as John Doe.")
            acknowledged.append((user, result["trajectory_id"]))
        proxy.cut()  # the server is gone for the app
        during: list[tuple[str, Any]] = []
        with caplog.at_level(logging.WARNING):
            for user in users:
                result = h.ask(user)
                assert result["messages"][-1].content.endswith("John Doe")  # last known prompt
                during.append((user, result["trajectory_id"]))
        # Every run gave up on the store (error or its own deadline) and served the last
        # known prompt instead of waiting for the server.
        assert caplog.text.count("serving the last good prompts") == len(users)
        # Writes that missed their deadline fail later (pool wait) and are buffered.
        proxy.restore()
        check = open_store(pg_uri)
        expected = acknowledged + during

        def recovered() -> bool:
            h.ask(users[0])  # recovers without a restart: buffered captures are written
            stored = {tid for user in users for tid in _trajectories(check, user)}
            return h.middleware.buffered_writes == 0 and all(t in stored for _, t in expected)

        _wait_for(recovered, "the buffered captures to be written after the server returned")
        registry = PromptRegistry(check)
        for user, tid in acknowledged:  # nothing acknowledged is lost
            assert tid in _trajectories(check, user)
            assert registry.current(user).text.endswith(SIGN_RULE)
        for user, tid in during:  # each run during the outage is recorded as a fallback
            assert _trajectory_records(check, user)[tid]["pin_error"]
    finally:
        proxy.close()


# -- retention --------------------------------------------------------------------------------


def test_trajectories_are_capped_per_user_but_versions_and_pending_runs_stay(store):
    from langchain_prompt_optimization import Retention

    h = make_harness(
        store,
        mode="external",
        optimize_every=2,
        retention=Retention(max_trajectories_per_user=3),
    )
    ids = [h.ask("jane")["trajectory_id"] for _ in range(6)]
    h.middleware.add_feedback(ids[0], "Sign as John Doe.")  # pending: protects run 0
    assert PromptRegistry(store).prune("jane", keep=2) == 4  # the cap counts the kept run
    assert sorted(_trajectories(store, "jane")) == sorted([ids[0], ids[5]])
    h.middleware.add_feedback(ids[5], "Sign as John Doe please.")  # triggers (external)
    h.middleware.optimize_now("jane")  # consumes both, then enforces the cap of 3
    assert len(_trajectories(store, "jane")) <= 3
    assert [v.version for v in PromptRegistry(store).history("jane")] == [2, 1]
    h.ask("other")
    assert PromptRegistry(store).prune(keep=0, all_users=True) >= 1
    assert [v.version for v in PromptRegistry(store).history("jane")] == [2, 1]


def test_ttl_is_set_on_stores_that_support_it(tmp_path):
    from langchain_prompt_optimization import Retention

    store = open_store(f"sqlite:///{tmp_path / 'ttl.db'}")
    h = make_harness(
        store,
        retention=Retention(trajectory_ttl_minutes=60, consumed_feedback_ttl_minutes=30),
    )
    plain = h.ask("jane")["trajectory_id"]
    tid = h.ask("jane")["trajectory_id"]
    h.middleware.add_feedback(tid, "Sign as John Doe.")
    rows = dict(
        store.conn.execute(  # type: ignore[attr-defined]
            "SELECT key, ttl_minutes FROM store WHERE key IN (?, ?) OR prefix LIKE ?",
            (plain, tid, "%feedback"),
        ).fetchall()
    )
    assert rows.pop(plain) == 60
    assert rows.pop(tid) is None  # a run with feedback cannot expire while it waits
    assert list(rows.values()) == [30]  # the consumed feedback


def test_memory_store_without_ttl_support_still_records(store):
    from langchain_prompt_optimization import Retention

    h = make_harness(store, retention=Retention(trajectory_ttl_minutes=60))
    tid = h.ask("jane")["trajectory_id"]
    assert tid in _trajectories(store, "jane")


def test_bad_retention_fails_fast():
    from langchain_prompt_optimization import PromptOptimizationMiddleware, Retention

    with pytest.raises(ValueError, match="max_trajectories_per_user"):
        Retention(max_trajectories_per_user=0)
    with pytest.raises(TypeError, match="retention must be a Retention"):
        PromptOptimizationMiddleware(retention={"max": 3})  # type: ignore[arg-type]
