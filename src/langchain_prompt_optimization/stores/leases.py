"""Atomic cross-process leases for SQLite and PostgreSQL stores.

One optimizer per lineage owner at a time, across threads, processes and machines sharing
the store. The lease lives in a small table next to LangGraph's `store` table
(`prompt_optimization_leases`: key, holder, expiry), taken with one atomic statement
(PostgreSQL `INSERT ... ON CONFLICT ... WHERE expired`, SQLite `BEGIN IMMEDIATE`). A crashed
holder cannot block a namespace forever: its lease expires. Stores with no SQL backend
here (InMemoryStore, custom stores) fall back to a lease record in the store (see
`StoreLayout.acquire_lease`), atomic within a process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = ["LEASE_TABLE", "StoreLease", "lease_backend"]

logger = logging.getLogger(__name__)

LEASE_TABLE = "prompt_optimization_leases"


class _Backend(Protocol):
    def acquire(self, key: str, holder: str, ttl: float) -> bool: ...
    def renew(self, key: str, holder: str, ttl: float) -> bool: ...
    def release(self, key: str, holder: str) -> None: ...


class _SqliteLeases:
    """Leases in the SQLite file of a `SqliteStore` (shared by every process using it)."""

    def __init__(self, store: Any) -> None:
        self.conn = store.conn
        self.lock: threading.Lock = store.lock
        with self.lock:
            self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {LEASE_TABLE} "
                "(key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL)"
            )

    def acquire(self, key: str, holder: str, ttl: float) -> bool:
        now = time.time()
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                row = self.conn.execute(
                    f"SELECT holder, expires_at FROM {LEASE_TABLE} WHERE key = ?", (key,)
                ).fetchone()
                if row is not None and row[0] != holder and row[1] > now:
                    return False
                self.conn.execute(
                    f"INSERT OR REPLACE INTO {LEASE_TABLE} (key, holder, expires_at) "
                    "VALUES (?, ?, ?)",
                    (key, holder, now + ttl),
                )
                return True
            finally:
                self.conn.execute("COMMIT")

    def renew(self, key: str, holder: str, ttl: float) -> bool:
        with self.lock:
            cursor = self.conn.execute(
                f"UPDATE {LEASE_TABLE} SET expires_at = ? WHERE key = ? AND holder = ?",
                (time.time() + ttl, key, holder),
            )
            return bool(cursor.rowcount == 1)

    def release(self, key: str, holder: str) -> None:
        with self.lock:
            self.conn.execute(
                f"DELETE FROM {LEASE_TABLE} WHERE key = ? AND holder = ?", (key, holder)
            )


class _PostgresLeases:
    """Leases in the PostgreSQL database of a `PostgresStore` (server clock decides expiry)."""

    def __init__(self, store: Any) -> None:
        import psycopg

        self.store = store
        # Another process may create it at the same moment.
        with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
            self._execute(
                f"CREATE TABLE IF NOT EXISTS {LEASE_TABLE} "
                "(key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)",
                (),
            )

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self.store._cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def acquire(self, key: str, holder: str, ttl: float) -> bool:
        rows = self._execute(
            f"INSERT INTO {LEASE_TABLE} AS l (key, holder, expires_at) "
            "VALUES (%s, %s, now() + make_interval(secs => %s)) "
            "ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, "
            "expires_at = EXCLUDED.expires_at "
            "WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder "
            "RETURNING l.holder",
            (key, holder, float(ttl)),
        )
        return bool(rows)

    def renew(self, key: str, holder: str, ttl: float) -> bool:
        rows = self._execute(
            f"UPDATE {LEASE_TABLE} SET expires_at = now() + make_interval(secs => %s) "
            "WHERE key = %s AND holder = %s RETURNING key",
            (float(ttl), key, holder),
        )
        return bool(rows)

    def release(self, key: str, holder: str) -> None:
        self._execute(f"DELETE FROM {LEASE_TABLE} WHERE key = %s AND holder = %s", (key, holder))


_backends_guard = threading.Lock()
_backends: weakref.WeakKeyDictionary[Any, _Backend | None] = weakref.WeakKeyDictionary()


def _unwrap(store: BaseStore) -> Any:
    """The store itself, or what a wrapper exposing `.inner` wraps (test instrumentation)."""
    inner = getattr(store, "inner", None)
    return _unwrap(inner) if inner is not None else store


def lease_backend(store: BaseStore) -> _Backend | None:
    """The atomic lease backend for `store`, or `None` when it has none here."""
    target = _unwrap(store)
    with _backends_guard:
        if target in _backends:
            return _backends[target]
        backend = _create_backend(target)
        _backends[target] = backend
        return backend


def _create_backend(target: Any) -> _Backend | None:
    backend: _Backend | None = None
    try:
        from langgraph.store.sqlite import SqliteStore

        if isinstance(target, SqliteStore):
            backend = _SqliteLeases(target)
    except ImportError:  # pragma: no cover - extra not installed
        pass
    if backend is None:
        try:
            from langgraph.store.postgres import PostgresStore

            if isinstance(target, PostgresStore):
                backend = _PostgresLeases(target)
        except ImportError:  # pragma: no cover - extra not installed
            pass
    return backend


@dataclass(frozen=True, slots=True)
class StoreLease:
    """A request on the store's atomic lease table.

    Returns `None` when the store has no lease backend (the caller then uses the lease
    record), else whether the lease is (still) ours.
    """

    key: str
    holder: str
    ttl: float
    action: Literal["acquire", "renew", "release"]

    def run(self, store: BaseStore) -> bool | None:
        """Run the statement synchronously."""
        backend = lease_backend(store)
        if backend is None:
            return None
        if self.action == "acquire":
            return backend.acquire(self.key, self.holder, self.ttl)
        if self.action == "renew":
            return backend.renew(self.key, self.holder, self.ttl)
        backend.release(self.key, self.holder)
        return True

    async def arun(self, store: BaseStore) -> bool | None:
        """Run it in a worker thread (the SQL backends are synchronous)."""
        return await asyncio.to_thread(self.run, store)
