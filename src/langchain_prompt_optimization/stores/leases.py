"""Atomic cross-process leases for SQLite and PostgreSQL stores.

One optimizer per lineage owner at a time, across threads, processes and machines sharing
the store. The lease lives in a small table next to LangGraph's `store` table
(`prompt_optimization_leases`: key, holder, expiry), taken with one atomic statement
(PostgreSQL `INSERT ... ON CONFLICT ... WHERE expired`, SQLite `BEGIN IMMEDIATE`). A crashed
holder cannot block a namespace forever: its lease expires. The async stores
(`AsyncPostgresStore`, `AsyncSqliteStore`) use the same table through their own async
connections. Stores with no SQL backend here (InMemoryStore, custom stores) fall back to a
lease record in the store (see `StoreLayout.acquire_lease`), atomic within a process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = ["LEASE_TABLE", "StoreLease", "lease_backend"]

logger = logging.getLogger(__name__)

LEASE_TABLE = "prompt_optimization_leases"


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


class _StoreRef:
    """A backend's store, held weakly (backends are cached per store in a weak mapping; a
    strong reference would keep every store, its connections and threads, alive)."""

    _store: weakref.ref[Any]

    @property
    def store(self) -> Any:
        store = self._store()
        if store is None:  # pragma: no cover - a job holds its store while it runs
            msg = "the store of this lease backend was closed"
            raise RuntimeError(msg)
        return store


class _PostgresLeases(_StoreRef):
    """Leases in the PostgreSQL database of a `PostgresStore` (server clock decides expiry)."""

    def __init__(self, store: Any) -> None:
        import psycopg

        self._store = weakref.ref(store)  # the backend cache must not keep its store alive
        # Another process may create it at the same moment.
        with contextlib.suppress(
            psycopg.errors.UniqueViolation,
            psycopg.errors.DuplicateTable,
            psycopg.errors.DuplicateObject,
        ):
            self._execute(_POSTGRES_TABLE, ())

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self.store._cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []

    def acquire(self, key: str, holder: str, ttl: float) -> bool:
        return bool(self._execute(_POSTGRES_ACQUIRE, (key, holder, float(ttl))))

    def renew(self, key: str, holder: str, ttl: float) -> bool:
        return bool(self._execute(_POSTGRES_RENEW, (float(ttl), key, holder)))

    def release(self, key: str, holder: str) -> None:
        self._execute(_POSTGRES_RELEASE, (key, holder))


_POSTGRES_ACQUIRE = (
    f"INSERT INTO {LEASE_TABLE} AS l (key, holder, expires_at) "
    "VALUES (%s, %s, now() + make_interval(secs => %s)) "
    "ON CONFLICT (key) DO UPDATE SET holder = EXCLUDED.holder, "
    "expires_at = EXCLUDED.expires_at "
    "WHERE l.expires_at < now() OR l.holder = EXCLUDED.holder "
    "RETURNING l.holder"
)
_POSTGRES_RENEW = (
    f"UPDATE {LEASE_TABLE} SET expires_at = now() + make_interval(secs => %s) "
    "WHERE key = %s AND holder = %s RETURNING key"
)
_POSTGRES_RELEASE = f"DELETE FROM {LEASE_TABLE} WHERE key = %s AND holder = %s"
_POSTGRES_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {LEASE_TABLE} "
    "(key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)"
)


class _AsyncPostgresLeases(_StoreRef):
    """The PostgreSQL lease table through an `AsyncPostgresStore`'s connection."""

    is_async = True

    def __init__(self, store: Any) -> None:
        self._store = weakref.ref(store)  # the backend cache must not keep its store alive
        self.ready = False

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if not self.ready:
            import psycopg

            with contextlib.suppress(
                psycopg.errors.UniqueViolation,
                psycopg.errors.DuplicateTable,
                psycopg.errors.DuplicateObject,
            ):
                async with self.store._cursor() as cur:
                    await cur.execute(_POSTGRES_TABLE, ())
            self.ready = True
        async with self.store._cursor() as cur:
            await cur.execute(sql, params)
            return list(await cur.fetchall()) if cur.description else []

    async def acquire(self, key: str, holder: str, ttl: float) -> bool:
        return bool(await self._execute(_POSTGRES_ACQUIRE, (key, holder, float(ttl))))

    async def renew(self, key: str, holder: str, ttl: float) -> bool:
        return bool(await self._execute(_POSTGRES_RENEW, (float(ttl), key, holder)))

    async def release(self, key: str, holder: str) -> None:
        await self._execute(_POSTGRES_RELEASE, (key, holder))


class _AsyncSqliteLeases(_StoreRef):
    """The SQLite lease table through an `AsyncSqliteStore`'s connection."""

    is_async = True

    def __init__(self, store: Any) -> None:
        self._store = weakref.ref(store)  # the backend cache must not keep its store alive
        self.ready = False

    async def _immediate(self, sql: str, params: tuple[Any, ...], *, check: str = "") -> int:
        """Run `sql` in a `BEGIN IMMEDIATE` transaction; with `check` (acquire), only when
        no other live holder has the key. Returns the rows changed."""
        if not self.store.is_setup:
            await self.store.setup()
        async with self.store.lock:
            conn = self.store.conn
            if not self.ready:
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {LEASE_TABLE} "
                    "(key TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL)"
                )
                await conn.commit()
                self.ready = True
            await conn.execute("BEGIN IMMEDIATE")
            try:
                if check:
                    async with conn.execute(
                        f"SELECT holder, expires_at FROM {LEASE_TABLE} WHERE key = ?", (check,)
                    ) as cursor:
                        row = await cursor.fetchone()
                    if row is not None and row[0] != params[1] and row[1] > time.time():
                        return 0
                async with conn.execute(sql, params) as cursor:
                    return int(cursor.rowcount)
            finally:
                await conn.execute("COMMIT")

    async def acquire(self, key: str, holder: str, ttl: float) -> bool:
        sql = f"INSERT OR REPLACE INTO {LEASE_TABLE} (key, holder, expires_at) VALUES (?, ?, ?)"
        return await self._immediate(sql, (key, holder, time.time() + ttl), check=key) == 1

    async def renew(self, key: str, holder: str, ttl: float) -> bool:
        sql = f"UPDATE {LEASE_TABLE} SET expires_at = ? WHERE key = ? AND holder = ?"
        return await self._immediate(sql, (time.time() + ttl, key, holder)) == 1

    async def release(self, key: str, holder: str) -> None:
        sql = f"DELETE FROM {LEASE_TABLE} WHERE key = ? AND holder = ?"
        await self._immediate(sql, (key, holder))


_backends_guard = threading.Lock()
_backends: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _unwrap(store: BaseStore) -> Any:
    """The store itself, or what a wrapper exposing `.inner` wraps (test instrumentation)."""
    inner = getattr(store, "inner", None)
    return _unwrap(inner) if inner is not None else store


def lease_backend(store: BaseStore) -> Any:
    """The atomic lease backend for `store` (sync, or async with `is_async`), or `None`
    when it has none here."""
    target = _unwrap(store)
    with _backends_guard:
        if target in _backends:
            return _backends[target]
        backend = _create_backend(target)
        _backends[target] = backend
        return backend


def _create_backend(target: Any) -> Any:
    backend: Any = None
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
    if backend is None:
        try:
            from langgraph.store.postgres.aio import AsyncPostgresStore

            if isinstance(target, AsyncPostgresStore):
                backend = _AsyncPostgresLeases(target)
        except ImportError:  # pragma: no cover - extra not installed
            pass
    if backend is None:
        try:
            from langgraph.store.sqlite.aio import AsyncSqliteStore

            if isinstance(target, AsyncSqliteStore):
                backend = _AsyncSqliteLeases(target)
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
        """Run the statement synchronously (an async store's on its own event loop, as its
        sync methods do)."""
        backend = lease_backend(store)
        if backend is None:
            return None
        if getattr(backend, "is_async", False):
            coro = self._arun_backend(backend)
            return asyncio.run_coroutine_threadsafe(coro, backend.store.loop).result()
        if self.action == "acquire":
            return bool(backend.acquire(self.key, self.holder, self.ttl))
        if self.action == "renew":
            return bool(backend.renew(self.key, self.holder, self.ttl))
        backend.release(self.key, self.holder)
        return True

    async def arun(self, store: BaseStore) -> bool | None:
        """Run it on the async store's connection, or in a worker thread (sync backends)."""
        backend = lease_backend(store)
        if getattr(backend, "is_async", False):
            return await self._arun_backend(backend)
        return await asyncio.to_thread(self.run, store)

    async def _arun_backend(self, backend: Any) -> bool:
        if self.action == "acquire":
            return bool(await backend.acquire(self.key, self.holder, self.ttl))
        if self.action == "renew":
            return bool(await backend.renew(self.key, self.holder, self.ttl))
        await backend.release(self.key, self.holder)
        return True
