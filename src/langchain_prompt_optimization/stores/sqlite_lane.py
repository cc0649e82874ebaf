"""The run path's own connection to a SQLite file: store calls on the caller's thread, bounded
by a lock timeout and SQLite's busy timeout instead of a hop to a deadline thread."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_prompt_optimization.stores.io import Call

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable

    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores.io import Job

__all__ = ["CHECKPOINT_EVERY", "SqliteLane", "StoreConnection", "lane_for", "register_lane"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

CHECKPOINT_EVERY = 200
"""Commits on a lane between two checkpoints of the write-ahead log (the lane never
checkpoints on the caller's thread: a checkpoint writes the database file and syncs it)."""

_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

_LANES: weakref.WeakKeyDictionary[BaseStore, SqliteLane] = weakref.WeakKeyDictionary()
_LANES_LOCK = threading.Lock()


class StoreConnection(sqlite3.Connection):
    """The connection `open_store` gives a `SqliteStore`: closing it also closes the lane's
    connection, so a closed store leaves no connection to its file open (SQLite removes the
    `-wal` file when the last one closes)."""

    on_close: Callable[[], None] | None = None

    def close(self) -> None:
        """Close the lane's connection, then this one."""
        if self.on_close is not None:
            self.on_close()
        super().close()


def register_lane(store: BaseStore, path: str, synchronous: str) -> None:
    """Give a `SqliteStore` that `open_store` opened to write (WAL, `synchronous=NORMAL`, on
    a `StoreConnection`) a lane. Other SQLite stores (a user's own, read-only,
    `synchronous=full`: a commit that syncs the disk is left to the deadline thread) have
    none."""
    conn = getattr(store, "conn", None)
    if synchronous != "normal" or not isinstance(conn, StoreConnection):
        return
    lane = SqliteLane(store, path)
    conn.on_close = lane.close
    with _LANES_LOCK:
        _LANES[store] = lane


def lane_for(store: BaseStore) -> SqliteLane | None:
    """The lane of `store`, if it has one."""
    return _LANES.get(store)


class SqliteLane:
    """A second connection to a store's SQLite file, used by the run path's sync hooks.

    Why: a deadline thread costs two thread switches per store call, the largest part of a
    run's cost once the pin is cached, and far more on a busy machine. A call on the caller's
    thread is bounded instead by:

    - the lane's own lock (the store's lock is not reentrant and other threads of the
      process may hold it for a long time, e.g. a late write waiting for a busy file), taken
      with the time left;
    - SQLite's busy timeout, set before each batch to the time left: a file another process
      holds makes the batch fail with "database is locked" (raised as `TimeoutError`) and
      roll back, so nothing lands late;
    - no disk sync: the file is opened with `synchronous=NORMAL` (a commit writes the log
      without syncing it) and the lane never checkpoints the log; every `CHECKPOINT_EVERY`
      commits, a passive checkpoint runs on the store's own connection in `executor`.

    Args:
        store: The `SqliteStore` (its connection reads and writes the same file).
        path: The database file.
    """

    def __init__(self, store: BaseStore, path: str) -> None:
        self._store_ref = weakref.ref(store)
        self._path = path
        self._lock = threading.Lock()
        self._lane: Any = None  # the lane's SqliteStore, opened at first use
        self._commits = 0
        self._closed = False
        self._busy_ms = -1  # the lane connection's busy timeout now (ms)

    def close(self) -> None:
        """Close the lane's connection (the store's own is closing); later calls raise."""
        with self._lock:
            self._closed = True
            if self._lane is not None:
                self._lane.conn.close()
                self._lane = None

    def _open(self) -> Any:
        from langgraph.store.sqlite import SqliteStore

        conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=0)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        lane = SqliteStore(conn)
        lane.is_setup = True  # the store's own connection set the tables up
        return lane

    def drive(
        self,
        job: Job[T],
        timeout: float,
        executor: concurrent.futures.ThreadPoolExecutor | None = None,
    ) -> T:
        """Run `job` on this thread within `timeout` seconds (as `io.drive_within`).

        Raises:
            TimeoutError: The lane is busy with another run past the deadline, or another
                connection holds the file (the batch was rolled back: nothing lands).
        """
        end = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            msg = f"the store did not answer within {timeout}s (the run path's connection is busy)"
            raise TimeoutError(msg)
        try:
            if self._closed:
                msg = "Cannot operate on a closed database."
                raise sqlite3.ProgrammingError(msg)
            if self._lane is None:
                self._lane = self._open()
                self._busy_ms = 0  # opened with timeout=0
            value, batches = self._run(job, end, timeout)
        finally:
            self._lock.release()
        if batches:
            self._count_commit(executor)
        return value

    def _run(self, job: Job[T], end: float, timeout: float) -> tuple[T, int]:
        """Drive `job` on the lane; its result and how many store requests it sent."""
        lane = self._lane
        conn = lane.conn
        commits = 0
        try:
            request = next(job)
            while True:
                try:
                    left = end - time.monotonic()
                    if left <= 0:
                        msg = f"the store did not answer within {timeout}s"
                        raise TimeoutError(msg)
                    if isinstance(request, Call):
                        result = request.run()
                    else:
                        self._busy_within(left)
                        result = request.run(lane)
                        commits += 1
                except sqlite3.OperationalError as exc:
                    if conn.in_transaction:
                        conn.rollback()
                    if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _BUSY:
                        msg = f"the store did not answer within {timeout}s ({exc})"
                        request = job.throw(TimeoutError(msg))
                    else:
                        request = job.throw(exc)
                except BaseException as exc:
                    if conn.in_transaction:
                        conn.rollback()
                    request = job.throw(exc)
                else:
                    request = job.send(result)
        except StopIteration as stop:
            return stop.value, commits

    def _busy_within(self, left: float) -> None:
        """Make SQLite wait for a held file at most `left` seconds: the busy timeout is set
        in 10 ms steps, rounded down (a new value costs a statement compile, so it is set
        only when the step changes)."""
        busy_ms = max(1, int(left * 100) * 10)
        if busy_ms != self._busy_ms:
            self._lane.conn.execute(f"PRAGMA busy_timeout={busy_ms}")
            self._busy_ms = busy_ms

    def _count_commit(self, executor: concurrent.futures.ThreadPoolExecutor | None) -> None:
        with self._lock:
            self._commits += 1
            due = self._commits % CHECKPOINT_EVERY == 0
        store = self._store_ref()
        if due and store is not None and executor is not None:
            executor.submit(_checkpoint, store)


def _checkpoint(store: Any) -> None:
    """A passive checkpoint of the log on the store's own connection (never waits for
    readers or writers)."""
    try:
        with store.lock:
            store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except Exception as exc:  # the next checkpoint tries again
        logger.debug("WAL checkpoint failed: %s", exc)
