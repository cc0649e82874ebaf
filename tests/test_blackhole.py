"""Deadlines hold when the store goes silent: a blackholed PostgreSQL and a busy SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import socket
import sqlite3
import struct
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from langchain_prompt_optimization import StorageSettings, aopen_store, open_store
from langchain_prompt_optimization.errors import TrajectoryNotFoundError
from langchain_prompt_optimization.stores import StoreLayout, drive

from .conftest import PG_URI, make_harness, need_postgres

TIMEOUT = 0.5
# Every run reads its pin (no pin cache), so each run's read meets the silent store: a kept
# read past its age is the same read (tests/test_pin_cache.py, busy file).
READ_EVERY_RUN = StorageSettings(timeout=TIMEOUT, pin_cache_seconds=0)
GIVE_UP = 60.0  # only a limit for a hung test, never the assertion
_CANCEL_REQUEST = struct.pack("!ii", 16, 80877102)  # PostgreSQL's CancelRequest packet head


class _Proxy:
    """A TCP proxy in front of PostgreSQL that can go silent (blackhole): it keeps accepting
    and keeps every connection open but forwards and answers nothing, holding what it
    receives; `restore()` forwards what it held, in order, and resumes."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.blackhole = False
        self.cancel_requests = 0  # connections whose first bytes cancel a running query
        self._held: dict[tuple[socket.socket, socket.socket], bytearray] = {}
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._start(self._accept)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            self._start(self._pipe, client, server, True)
            self._start(self._pipe, server, client, False)

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        held = bytearray()
        with self._lock:
            self._held[(src, dst)] = held
        first = upstream
        try:
            while not self._stop.is_set():
                with self._lock:
                    if not self.blackhole and held:
                        dst.sendall(bytes(held))
                        held.clear()
                if not select.select([src], [], [], 0.05)[0]:
                    continue
                data = src.recv(65536)
                if not data:
                    return
                if first and data.startswith(_CANCEL_REQUEST):
                    with self._lock:
                        self.cancel_requests += 1
                first = False
                with self._lock:
                    if self.blackhole:
                        held += data  # silence: received, never forwarded, never answered
                    else:
                        dst.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    @property
    def unanswered(self) -> int:
        """Bytes the app sent that the server has not received (so cannot have answered)."""
        with self._lock:
            return sum(len(h) for (src, _), h in self._held.items() if src in self._clients())

    def _clients(self) -> set[socket.socket]:
        return set(self._sockets[0::2])

    def restore(self) -> None:
        with self._lock:
            self.blackhole = False

    def close(self) -> list[threading.Thread]:
        """Stop every thread and close every socket; the threads still alive (none)."""
        self._stop.set()
        self.listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)
        with self._lock:
            for s in self._sockets:
                s.close()
        return [t for t in threads if t.is_alive()]


@pytest.fixture
def proxied(pg_uri: str):
    """(proxy, the store URI through it, the direct URI)."""
    need_postgres()
    parts = urlsplit(PG_URI)
    proxy = _Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    through = pg_uri.replace(f"{parts.hostname}:{parts.port or 5432}", f"127.0.0.1:{proxy.port}")
    # Plain connections, so a cancellation is the first packet of its connection.
    through += ("&" if "?" in through else "?") + "sslmode=disable&gssencmode=disable"
    try:
        yield proxy, through, pg_uri
    finally:
        assert proxy.close() == []  # no proxy thread outlives the test


def _record(store: Any, trajectory_id: str) -> Any:
    """The stored run, or None if it has not landed."""
    try:
        return drive(StoreLayout().resolve_trajectory(trajectory_id), store)[1]
    except TrajectoryNotFoundError:
        return None


def _learn(h: Any, user: str) -> None:
    """Warm up: the user's prompt learns the sign-off and a run is served it (and pinned)."""
    h.middleware.add_feedback(h.ask(user)["trajectory_id"], "Sign as John Doe.")
    assert h.ask(user)["messages"][-1].content.endswith("John Doe")


async def _alearn(h: Any, user: str) -> None:
    result = await h.aask(user)
    await h.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
    assert (await h.aask(user))["messages"][-1].content.endswith("John Doe")


def _late_jobs() -> list[asyncio.Task[Any]]:
    """Store calls left running past their deadline (tasks driving a job)."""
    current = asyncio.current_task()
    return [
        t
        for t in asyncio.all_tasks()
        if t is not current and getattr(t.get_coro(), "__name__", "") == "adrive"
    ]


# -- PostgreSQL through a proxy that goes silent -----------------------------------------------


def test_sync_runs_answer_within_the_deadline_while_postgres_is_silent(proxied):
    proxy, through, direct = proxied
    store = open_store(through)
    check = open_store(direct)
    h = make_harness(store, storage=READ_EVERY_RUN)
    try:
        _learn(h, "jane")
        proxy.blackhole = True
        result = h.ask("jane")
        # The run answered with the last known prompt while the store call is still pending:
        # what the app sent has not even reached the server.
        assert result["messages"][-1].content.endswith("John Doe")
        assert proxy.unanswered > 0
        assert _record(check, result["trajectory_id"]) is None
        proxy.restore()
        deadline = time.monotonic() + GIVE_UP
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                h.middleware.flush_writes()
            if h.middleware.buffered_writes == 0 and _record(check, result["trajectory_id"]):
                break
            time.sleep(0.2)
        record = _record(check, result["trajectory_id"])
        assert record is not None  # nothing lost
        assert record.pin_error.startswith("TimeoutError")  # the middleware's own deadline
        assert h.middleware.buffered_writes == 0
        assert proxy.cancel_requests == 0
    finally:
        h.middleware.close()
        store.conn.close()  # type: ignore[attr-defined]
        check.conn.close()  # type: ignore[attr-defined]


async def test_async_runs_answer_within_the_deadline_while_postgres_is_silent(proxied):
    proxy, through, direct = proxied
    store = await aopen_store(through)
    check = open_store(direct)
    h = make_harness(store, storage=READ_EVERY_RUN)
    try:
        await _alearn(h, "jane")
        proxy.blackhole = True
        result = await asyncio.wait_for(h.aask("jane"), GIVE_UP)
        assert result["messages"][-1].content.endswith("John Doe")  # the last known prompt
        # The hooks returned at their deadline without cancelling the store calls (a
        # cancellation on a silent connection holds the run ~10 s in psycopg): the calls are
        # still pending and nothing reached the server.
        assert proxy.cancel_requests == 0
        assert _late_jobs()
        assert proxy.unanswered > 0
        assert _record(check, result["trajectory_id"]) is None
        proxy.restore()
        deadline = time.monotonic() + GIVE_UP
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                await h.middleware.aflush_writes()
            landed = _record(check, result["trajectory_id"]) is not None
            if landed and h.middleware.buffered_writes == 0 and not _late_jobs():
                break
            await asyncio.sleep(0.2)
        record = _record(check, result["trajectory_id"])
        assert record is not None  # nothing lost
        assert record.pin_error.startswith("TimeoutError")  # the middleware's own deadline
        assert h.middleware.buffered_writes == 0
        assert not _late_jobs()  # every late call finished: no task outlives the test
        assert proxy.cancel_requests == 0
    finally:
        await store.conn.close()  # type: ignore[attr-defined]
        check.conn.close()  # type: ignore[attr-defined]


# -- SQLite: the file held by another connection's exclusive transaction ----------------------


def _lock(path: Any) -> sqlite3.Connection:
    """Another connection that holds an exclusive transaction on the file (busy)."""
    holder = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def _stored_ids(holder: sqlite3.Connection) -> set[str]:
    return {key for (key,) in holder.execute("SELECT key FROM store").fetchall()}


def _ask_in_thread(h: Any, user: str) -> Any:
    """`h.ask(user)` in a thread; fails the test if it does not return within GIVE_UP_BUSY."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(h.ask(user)), daemon=True)
    thread.start()
    thread.join(GIVE_UP_BUSY)
    if thread.is_alive() or not results:
        pytest.fail("a run waited for the busy file instead of its deadline")
    return results[0]


GIVE_UP_BUSY = 20.0  # below the store connection's own 30 s busy timeout


def test_sync_runs_answer_within_the_deadline_while_sqlite_is_busy(tmp_path, caplog):
    path = tmp_path / "busy.db"
    store = open_store(f"sqlite:///{path}")
    h = make_harness(store, storage=READ_EVERY_RUN)
    try:
        _learn(h, "jane")
        holder = _lock(path)
        try:
            # The sync hooks reach the file on the run path's own connection (the lane): the
            # pin read goes on (WAL readers do not wait for a writer), each write waits for
            # the file at most the time left, then rolls back and is buffered.
            with caplog.at_level(logging.WARNING):
                first, second = _ask_in_thread(h, "jane"), _ask_in_thread(h, "jane")
            for result in (first, second):
                assert result["messages"][-1].content.endswith("John Doe")
            assert h.middleware.buffered_writes == 2  # rolled back, kept in memory
            assert "database is locked" in caplog.text
            stored = _stored_ids(holder)
            assert first["trajectory_id"] not in stored
            assert second["trajectory_id"] not in stored
        finally:
            holder.rollback()
            holder.close()
        assert h.middleware.flush_writes() == 2
        assert _record(store, first["trajectory_id"]) is not None  # nothing lost
        assert _record(store, second["trajectory_id"]).pin_error is None
    finally:
        h.middleware.close()
        store.conn.close()  # type: ignore[attr-defined]


async def test_async_runs_answer_within_the_deadline_while_sqlite_is_busy(tmp_path):
    path = tmp_path / "busy.db"
    store = await aopen_store(f"sqlite:///{path}")
    h = make_harness(store, storage=READ_EVERY_RUN)
    check = open_store(f"sqlite:///{path}")
    try:
        await _alearn(h, "jane")
        holder = _lock(path)
        try:
            first = await asyncio.wait_for(h.aask("jane"), GIVE_UP)
            second = await asyncio.wait_for(h.aask("jane"), GIVE_UP)
            for result in (first, second):
                assert result["messages"][-1].content.endswith("John Doe")
            assert _late_jobs()  # the store calls are still pending
            stored = _stored_ids(holder)
            assert first["trajectory_id"] not in stored
            assert second["trajectory_id"] not in stored
        finally:
            holder.rollback()
            holder.close()
        deadline = time.monotonic() + GIVE_UP
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                await h.middleware.aflush_writes()
            landed = _record(check, second["trajectory_id"]) is not None
            if landed and h.middleware.buffered_writes == 0 and not _late_jobs():
                break
            await asyncio.sleep(0.2)
        assert _record(check, first["trajectory_id"]) is not None  # nothing lost
        assert _record(check, second["trajectory_id"]).pin_error.startswith("TimeoutError")
        assert not _late_jobs()
    finally:
        await store.conn.close()  # type: ignore[attr-defined]
        check.conn.close()  # type: ignore[attr-defined]
