"""Leases: one optimizer per lineage owner at a time, across threads, processes and machines.

A lease is taken in two steps. `LocalClaim` closes the window between threads and tasks of
one process using the same store object. Then a `LeaseBackend` (or its async twin) takes it
for other processes: SQLite and PostgreSQL stores use a small table next to LangGraph's
`store` table (`prompt_optimization_leases`: key, holder, expiry), taken with one atomic
statement (PostgreSQL `INSERT ... ON CONFLICT ... WHERE expired`, SQLite `BEGIN IMMEDIATE`);
the async stores (`AsyncPostgresStore`, `AsyncSqliteStore`) use the same table through their
own connections. Other stores (InMemoryStore, custom stores) use `RecordLeases`: a `"lease"`
record in the store, read, written and read back, atomic within a process only. Every lease
expires after its `ttl`, so a crashed holder cannot block a lineage forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeGuard, TypeVar, cast

from langgraph.store.base import GetOp, Item, PutOp

from langchain_prompt_optimization.errors import NamespaceBusyError
from langchain_prompt_optimization.stores.io import adrive, ask, batch, drive, sleep
from langchain_prompt_optimization.stores.labels import Namespaces

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores.io import Call, Job
    from langchain_prompt_optimization.stores.labels import UserRef

__all__ = [
    "LEASE_TABLE",
    "AsyncLeaseBackend",
    "AsyncRecordLeases",
    "LeaseAction",
    "LeaseBackend",
    "LeaseJobs",
    "LocalClaim",
    "RecordLeases",
    "RenewingCall",
    "StoreLease",
    "acquire_lease",
    "lease_backend",
    "release_lease",
    "renew_lease",
    "renewing",
    "under_lease",
]

logger = logging.getLogger(__name__)

LEASE_TABLE = "prompt_optimization_leases"
LEASE_RECORD_KEY = "lease"
LeaseAction = Literal["acquire", "renew", "release"]
T = TypeVar("T")

RENEW_FRACTION = 1 / 3
"""A lease held through a long call is renewed every `ttl * RENEW_FRACTION` seconds."""


class LeaseBackend(Protocol):
    """Takes, extends and gives back leases with blocking calls."""

    def acquire(self, key: str, holder: str, ttl: float) -> bool:
        """Take `key` for `holder` for `ttl` seconds unless another live holder has it."""
        ...

    def renew(self, key: str, holder: str, ttl: float) -> bool:
        """Extend our lease; `False` if it is no longer ours."""
        ...

    def release(self, key: str, holder: str) -> None:
        """Give the lease back if we hold it."""
        ...


class AsyncLeaseBackend(Protocol):
    """`LeaseBackend` with async calls."""

    async def acquire(self, key: str, holder: str, ttl: float) -> bool:
        """Take `key` for `holder` for `ttl` seconds unless another live holder has it."""
        ...

    async def renew(self, key: str, holder: str, ttl: float) -> bool:
        """Extend our lease; `False` if it is no longer ours."""
        ...

    async def release(self, key: str, holder: str) -> None:
        """Give the lease back if we hold it."""
        ...


# -- in-process claims -------------------------------------------------------------------------

_claims_guard = threading.Lock()
_claims: weakref.WeakKeyDictionary[BaseStore, dict[str, tuple[str, float]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class LocalClaim:
    """Claim (or release) a key for one holder among everything in this process using the
    same store object. Not re-entrant: a second claim by the same holder fails too.

    This closes the window between reading and writing a store lease for threads and
    tasks of one process; the backend's lease covers other processes.
    """

    key: str
    holder: str
    ttl: float
    release: bool = False

    def run(self, store: BaseStore) -> bool:
        """Claim or release; return whether the claim is ours."""
        now = time.monotonic()
        with _claims_guard:
            claims = _claims.setdefault(store, {})
            current = claims.get(self.key)
            if self.release:
                if current is not None and current[0] == self.holder:
                    del claims[self.key]
                return True
            if current is not None and current[1] > now:
                return False
            claims[self.key] = (self.holder, now + self.ttl)
            return True

    async def arun(self, store: BaseStore) -> bool:
        """Same as `run` (no I/O)."""
        return self.run(store)


# -- the store-record backend -------------------------------------------------------------------


def _record_acquire(namespace: tuple[str, ...], holder: str, ttl: float) -> Job[bool]:
    now = time.time()
    (item,) = yield from batch([GetOp(namespace, LEASE_RECORD_KEY)])
    if isinstance(item, Item) and item.value:
        current = item.value.get("owner")
        if current != holder and float(item.value.get("expires_at", 0)) > now:
            return False
    lease = {"owner": holder, "expires_at": now + ttl}
    yield from batch([PutOp(namespace, LEASE_RECORD_KEY, lease)])
    (check,) = yield from batch([GetOp(namespace, LEASE_RECORD_KEY)])
    return isinstance(check, Item) and check.value.get("owner") == holder


def _record_renew(namespace: tuple[str, ...], holder: str, ttl: float) -> Job[bool]:
    (item,) = yield from batch([GetOp(namespace, LEASE_RECORD_KEY)])
    if not (isinstance(item, Item) and item.value and item.value.get("owner") == holder):
        return False
    lease = {"owner": holder, "expires_at": time.time() + ttl}
    yield from batch([PutOp(namespace, LEASE_RECORD_KEY, lease)])
    return True


def _record_release(namespace: tuple[str, ...], holder: str) -> Job[None]:
    (item,) = yield from batch([GetOp(namespace, LEASE_RECORD_KEY)])
    if isinstance(item, Item) and item.value.get("owner") == holder:
        yield from batch([PutOp(namespace, LEASE_RECORD_KEY, None)])


@dataclass(frozen=True, slots=True)
class RecordLeases:
    """Leases as a `"lease"` record in `namespace` of the store itself (the key names the
    same lease in the lease table of SQL stores; here the namespace does)."""

    store: BaseStore
    namespace: tuple[str, ...]

    def acquire(self, key: str, holder: str, ttl: float) -> bool:
        """Read, write and read back the record."""
        return drive(_record_acquire(self.namespace, holder, ttl), self.store)

    def renew(self, key: str, holder: str, ttl: float) -> bool:
        """Extend the record if it is ours."""
        return drive(_record_renew(self.namespace, holder, ttl), self.store)

    def release(self, key: str, holder: str) -> None:
        """Delete the record if it is ours."""
        drive(_record_release(self.namespace, holder), self.store)


@dataclass(frozen=True, slots=True)
class AsyncRecordLeases:
    """`RecordLeases` through the store's async methods."""

    store: BaseStore
    namespace: tuple[str, ...]

    async def acquire(self, key: str, holder: str, ttl: float) -> bool:
        """Read, write and read back the record."""
        return await adrive(_record_acquire(self.namespace, holder, ttl), self.store)

    async def renew(self, key: str, holder: str, ttl: float) -> bool:
        """Extend the record if it is ours."""
        return await adrive(_record_renew(self.namespace, holder, ttl), self.store)

    async def release(self, key: str, holder: str) -> None:
        """Delete the record if it is ours."""
        await adrive(_record_release(self.namespace, holder), self.store)


# -- the SQL backends ---------------------------------------------------------------------------


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
_backends: weakref.WeakKeyDictionary[Any, LeaseBackend | AsyncLeaseBackend | None] = (
    weakref.WeakKeyDictionary()
)


def _unwrap(store: BaseStore) -> Any:
    """The store itself, or what a wrapper exposing `.inner` wraps (test instrumentation)."""
    inner = getattr(store, "inner", None)
    return _unwrap(inner) if inner is not None else store


def lease_backend(store: BaseStore) -> LeaseBackend | AsyncLeaseBackend | None:
    """The atomic lease-table backend of `store` (sync or async), or `None` when it has none
    here (then a `RecordLeases` is used)."""
    target = _unwrap(store)
    with _backends_guard:
        if target in _backends:
            return _backends[target]
        backend = _create_backend(target)
        _backends[target] = backend
        return backend


_UNKNOWN: Any = object()


def _cached_backend(store: BaseStore) -> Any:
    """The backend `lease_backend` already made for `store`, else `_UNKNOWN` (making one may
    do I/O: a sync store's table setup)."""
    target = _unwrap(store)
    with _backends_guard:
        return _backends.get(target, _UNKNOWN)


def _create_backend(target: Any) -> LeaseBackend | AsyncLeaseBackend | None:
    """The lease table backend for a SQLite or PostgreSQL store (`None`: other stores)."""
    for module, name, backend in (
        ("langgraph.store.sqlite", "SqliteStore", _SqliteLeases),
        ("langgraph.store.postgres", "PostgresStore", _PostgresLeases),
        ("langgraph.store.postgres.aio", "AsyncPostgresStore", _AsyncPostgresLeases),
        ("langgraph.store.sqlite.aio", "AsyncSqliteStore", _AsyncSqliteLeases),
    ):
        try:
            store_class = getattr(importlib.import_module(module), name)
        except ImportError:  # pragma: no cover - extra not installed
            continue
        if isinstance(target, store_class):
            created: LeaseBackend | AsyncLeaseBackend = backend(target)
            return created
    return None


def _is_async(backend: LeaseBackend | AsyncLeaseBackend) -> TypeGuard[AsyncLeaseBackend]:
    return inspect.iscoroutinefunction(backend.acquire)


def _apply(backend: LeaseBackend, action: LeaseAction, key: str, holder: str, ttl: float) -> bool:
    if action == "acquire":
        return bool(backend.acquire(key, holder, ttl))
    if action == "renew":
        return bool(backend.renew(key, holder, ttl))
    backend.release(key, holder)
    return True


async def _aapply(
    backend: AsyncLeaseBackend, action: LeaseAction, key: str, holder: str, ttl: float
) -> bool:
    if action == "acquire":
        return bool(await backend.acquire(key, holder, ttl))
    if action == "renew":
        return bool(await backend.renew(key, holder, ttl))
    await backend.release(key, holder)
    return True


@dataclass(frozen=True, slots=True)
class StoreLease:
    """A request on the store's lease backend: acquire, renew or release `key`.

    With `namespace`, stores without a lease table use a `"lease"` record there
    (`RecordLeases`); without it, such stores answer `None`. Otherwise the result is
    whether the lease is (still) ours.
    """

    key: str
    holder: str
    ttl: float
    action: LeaseAction
    namespace: tuple[str, ...] | None = None

    def run(self, store: BaseStore) -> bool | None:
        """Run it with blocking calls (an async store's on its own event loop, as its sync
        methods do)."""
        backend = lease_backend(store)
        if backend is None:
            if self.namespace is None:
                return None
            backend = RecordLeases(store, self.namespace)
        if _is_async(backend):
            coro = _aapply(backend, self.action, self.key, self.holder, self.ttl)
            return asyncio.run_coroutine_threadsafe(coro, _unwrap(store).loop).result()
        sync = cast("LeaseBackend", backend)
        return _apply(sync, self.action, self.key, self.holder, self.ttl)

    async def arun(self, store: BaseStore) -> bool | None:
        """Run it on the async store's connection, through the store's async methods
        (records), or in a worker thread (sync lease tables, whose first use creates the
        table: also off the loop)."""
        backend = _cached_backend(store)
        if backend is _UNKNOWN:
            backend = await asyncio.to_thread(lease_backend, store)
        if backend is None:
            if self.namespace is None:
                return None
            backend = AsyncRecordLeases(store, self.namespace)
        if _is_async(backend):
            return await _aapply(backend, self.action, self.key, self.holder, self.ttl)
        return await asyncio.to_thread(self.run, store)


@dataclass(frozen=True, slots=True)
class RenewingCall(Generic[T]):
    """Run a long store-less call (the optimizer's model, a gate replay) while renewing our
    lease every third of its `ttl`, so the call never outlives the lease; renewal stops when
    the call ends, however it ends.

    The sync twin renews from a helper thread that is joined before `run` returns; the async
    twin from a task that is cancelled and awaited. A renewal that finds the lease gone (or
    fails) stops renewing: the run notices before committing (`renew_lease` answers `False`).
    """

    call: Call[T]
    key: str
    holder: str
    ttl: float
    namespace: tuple[str, ...] | None = None

    def _renew(self) -> StoreLease:
        return StoreLease(self.key, self.holder, self.ttl, "renew", self.namespace)

    def run(self, store: BaseStore) -> T:
        """Run the call with blocking I/O, renewing from a helper thread."""
        done = threading.Event()
        renew = self._renew()

        def keep() -> None:
            while not done.wait(self.ttl * RENEW_FRACTION):
                try:
                    if renew.run(store) is False:
                        logger.warning("lease %r was lost during a long call", self.key)
                        return
                except Exception:
                    logger.warning("could not renew lease %r", self.key, exc_info=True)
                    return

        renewer = threading.Thread(target=keep, name=f"lease-renew-{self.holder}", daemon=True)
        renewer.start()
        try:
            return self.call.run()
        finally:
            done.set()
            renewer.join()

    async def arun(self, store: BaseStore) -> T:
        """Run the call with async I/O, renewing from a task on the same loop."""
        renew = self._renew()

        async def keep() -> None:
            while True:
                await asyncio.sleep(self.ttl * RENEW_FRACTION)
                try:
                    if await renew.arun(store) is False:
                        logger.warning("lease %r was lost during a long call", self.key)
                        return
                except Exception:
                    logger.warning("could not renew lease %r", self.key, exc_info=True)
                    return

        renewer = asyncio.create_task(keep())
        try:
            return await self.call.arun()
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer


# -- lease jobs ---------------------------------------------------------------------------------


def acquire_lease(key: str, namespace: tuple[str, ...], holder: str, ttl: float) -> Job[bool]:
    """Take the lease `key` (its record, if any, in `namespace`) unless another live holder
    has it: first among this process (`LocalClaim`), then in the store's backend."""
    if not (yield from ask(LocalClaim(key, holder, ttl))):
        return False
    try:
        won = yield from ask(StoreLease(key, holder, ttl, "acquire", namespace))
    except BaseException:
        yield from ask(LocalClaim(key, holder, ttl, release=True))
        raise
    if not won:
        yield from ask(LocalClaim(key, holder, ttl, release=True))
    return bool(won)


def renew_lease(key: str, namespace: tuple[str, ...], holder: str, ttl: float) -> Job[bool]:
    """Extend our lease; `False` if it expired and someone else may have taken it."""
    return bool((yield from ask(StoreLease(key, holder, ttl, "renew", namespace))))


def renewing(
    call: Call[T], key: str, namespace: tuple[str, ...], holder: str, ttl: float
) -> Job[T]:
    """Run `call` (a model call) while keeping our lease `key` renewed (`RenewingCall`)."""
    return (yield from ask(RenewingCall(call, key, holder, ttl, namespace)))


def release_lease(key: str, namespace: tuple[str, ...], holder: str) -> Job[None]:
    """Give the lease back if we still hold it (in the backend, then in this process)."""
    try:
        yield from ask(StoreLease(key, holder, 0.0, "release", namespace))
    finally:
        yield from ask(LocalClaim(key, holder, 0.0, release=True))


def under_lease(
    key: str,
    namespace: tuple[str, ...],
    holder: str,
    job: Job[T],
    *,
    ttl: float,
    wait: float,
    busy: UserRef,
) -> Job[T]:
    """Run `job` holding the lease, polling up to `wait` seconds for it.

    Raises:
        NamespaceBusyError: If the lease stays taken for `wait` seconds (for `busy`).
    """
    deadline = time.monotonic() + wait
    while not (yield from acquire_lease(key, namespace, holder, ttl)):
        if time.monotonic() >= deadline:
            raise NamespaceBusyError(busy.user_id)
        yield from sleep(0.05)
    try:
        return (yield from job)
    finally:
        yield from release_lease(key, namespace, holder)


class LeaseJobs(Namespaces):
    """The lineage owner's lease, as `StoreLayout` jobs."""

    def _lease_key(self, owner: UserRef) -> str:
        return "/".join(self._user_ns(owner))

    def acquire_lease(self, owner: UserRef, holder: str, ttl: float) -> Job[bool]:
        """Take the lineage owner's lease unless another live holder has it.

        Atomic within a process (`LocalClaim`, not re-entrant) and, on SQLite and PostgreSQL
        stores, across processes (one atomic statement on the lease table). Other stores use
        a lease record (`"lease"` key) read, written and read back. Every lease expires after
        `ttl` seconds, so a crashed holder cannot block the owner.
        """
        return acquire_lease(self._lease_key(owner), self._user_ns(owner), holder, ttl)

    def renew_lease(self, owner: UserRef, holder: str, ttl: float) -> Job[bool]:
        """Extend our lease; `False` if it expired and someone else may have taken it."""
        return renew_lease(self._lease_key(owner), self._user_ns(owner), holder, ttl)

    def renewing(self, owner: UserRef, holder: str, ttl: float, call: Call[T]) -> Job[T]:
        """Run a long model call (langmem, a gate replay) holding the owner's lease: it is
        renewed every third of `ttl` until the call ends."""
        return renewing(call, self._lease_key(owner), self._user_ns(owner), holder, ttl)

    def release_lease(self, owner: UserRef, holder: str) -> Job[None]:
        """Give the lease back if we still hold it."""
        return release_lease(self._lease_key(owner), self._user_ns(owner), holder)

    def under_lease(
        self, owner: UserRef, holder: str, job: Job[T], *, ttl: float, wait: float
    ) -> Job[T]:
        """Run `job` holding the owner's lease, waiting up to `wait` seconds for it.

        Raises:
            NamespaceBusyError: If the lease stays taken for `wait` seconds.
        """
        return under_lease(
            self._lease_key(owner), self._user_ns(owner), holder, job,
            ttl=ttl, wait=wait, busy=owner,
        )  # fmt: skip
