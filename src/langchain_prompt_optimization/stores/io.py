"""Sans-I/O jobs: logic written once as a generator, driven by a sync or an async driver.

A job yields requests and receives their results. Two kinds of request exist: a `Request`
runs against the store (a store batch, a lease statement, ...), a `Call` needs no store (a
model call). The sync driver runs each request with blocking calls, the async driver awaits
the `a*` twins, so every interaction has one implementation and two faithful entry points.

Jobs ask through the typed helpers (`results = yield from batch(ops)`), so what a job
receives is checked by mypy rather than being `Any`.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from langgraph.store.base import BaseStore, SearchOp

from langchain_prompt_optimization.stores.text import storable_ops

if TYPE_CHECKING:
    from langgraph.store.base import Item, Op, Result, SearchItem

__all__ = [
    "Ask",
    "Call",
    "Job",
    "Request",
    "Sleep",
    "StoreBatch",
    "SupportsTTL",
    "adrive",
    "adrive_within",
    "ask",
    "batch",
    "call",
    "drive",
    "drive_within",
    "search_all",
    "search_any",
    "search_each",
    "sleep",
    "supports_ttl",
    "supports_ttl_job",
    "write",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

_PAGE = 200
_MAX_PAGE = 6_400


class Request(Protocol[R_co]):
    """Something a job asks its driver to do with the store."""

    def run(self, store: BaseStore) -> R_co:
        """Do it with blocking calls."""
        ...

    async def arun(self, store: BaseStore) -> R_co:
        """Do it with async calls."""
        ...


class Call(abc.ABC, Generic[R]):
    """A request that needs no store (a model call): the drivers call `run()` / `arun()`."""

    __slots__ = ()

    @abc.abstractmethod
    def run(self) -> R:
        """Do it with blocking calls."""

    @abc.abstractmethod
    async def arun(self) -> R:
        """Do it with async calls (never blocking the event loop)."""


Ask = Request[Any] | Call[Any]
"""Anything a job may yield."""

Job = Generator[Ask, Any, T]
"""A generator yielding requests, receiving their results, returning `T`.

Write `x = yield from batch(ops)` (or another typed helper) rather than a bare
`x = yield StoreBatch(ops)`, so `x` is typed."""


@dataclass(frozen=True, slots=True)
class StoreBatch:
    """One store round trip: `store.batch(ops)` / `store.abatch(ops)`."""

    ops: Sequence[Op]

    def run(self, store: BaseStore) -> list[Result]:
        """Execute the batch synchronously."""
        return store.batch(self.ops)

    async def arun(self, store: BaseStore) -> list[Result]:
        """Execute the batch asynchronously.

        Stores without an async implementation (`SqliteStore` raises `NotImplementedError`
        from `abatch`) run their sync `batch` in a worker thread so the event loop never blocks.
        """
        try:
            return await store.abatch(self.ops)
        except NotImplementedError:
            return await asyncio.to_thread(store.batch, self.ops)


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait a little (polling for a lease): `time.sleep` / `asyncio.sleep`."""

    seconds: float

    def run(self, store: BaseStore) -> None:
        """Block for `seconds`."""
        time.sleep(self.seconds)

    async def arun(self, store: BaseStore) -> None:
        """Yield to the event loop for `seconds`."""
        await asyncio.sleep(self.seconds)


@dataclass(frozen=True, slots=True)
class SupportsTTL:
    """Ask whether the store honours `PutOp.ttl` (SQLite, PostgreSQL)."""

    def run(self, store: BaseStore) -> bool:
        """Whether the (unwrapped) store supports TTL."""
        return supports_ttl(store)

    async def arun(self, store: BaseStore) -> bool:
        """Same as `run` (no I/O)."""
        return supports_ttl(store)


def supports_ttl(store: BaseStore) -> bool:
    """Whether `store` (or what a wrapper exposing `.inner` wraps) supports TTL."""
    inner = getattr(store, "inner", None)
    if isinstance(inner, BaseStore):
        return supports_ttl(inner)
    return bool(getattr(store, "supports_ttl", False))


# -- typed helpers: what jobs yield from ---------------------------------------------------------


def ask(request: Request[R]) -> Generator[Request[R], R, R]:
    """Run one store request and receive its (typed) result."""
    return (yield request)


def call(request: Call[R]) -> Generator[Call[R], R, R]:
    """Run one store-less call (a model call) and receive its (typed) result."""
    return (yield request)


def batch(ops: Sequence[Op]) -> Generator[StoreBatch, list[Result], list[Result]]:
    """One store round trip; receives one result per op.

    Every write and read goes through here, so the storable-text rule (`stores/text.py`:
    NUL and lone surrogates become U+FFFD in namespaces, keys and values) holds for every
    record on every backend, and a key is read as it was written.
    """
    return (yield StoreBatch(storable_ops(ops)))


def sleep(seconds: float) -> Generator[Sleep, None, None]:
    """Wait `seconds` without blocking an event loop."""
    yield Sleep(seconds)


def supports_ttl_job() -> Generator[SupportsTTL, bool, bool]:
    """Whether the store honours `PutOp.ttl`."""
    return (yield SupportsTTL())


def write(ops: Sequence[Op]) -> Job[None]:
    """A job that writes `ops` in one batch."""
    yield from batch(ops)


def search_all(namespace: tuple[str, ...], filter: dict[str, Any] | None) -> Job[list[Item]]:
    """Every item of `namespace` (matching `filter`), in pages that double in size from
    `_PAGE` up to `_MAX_PAGE`: one round trip for a small namespace, few for a large one
    (SQL stores sort the whole namespace again for every page). Never cut at `search`'s
    default `limit=10`; items of sub-namespaces are left out."""
    return (yield from search_any(namespace, [filter]))


def search_any(
    namespace: tuple[str, ...], filters: Sequence[dict[str, Any] | None]
) -> Job[list[Item]]:
    """Every item of `namespace` matching any of `filters` (each paginated as in
    `search_all`; the filters' pages are read in the same round trips)."""
    found: dict[str, Item] = {}
    for items in (yield from search_each([(namespace, f) for f in filters])):
        for item in items:
            found[item.key] = item
    return list(found.values())


def search_each(
    queries: Sequence[tuple[tuple[str, ...], dict[str, Any] | None]], *, exact: bool = True
) -> Job[list[list[Item]]]:
    """Every item matching each `(namespace, filter)` query, one list per query, paginated
    as in `search_all` with all queries' pages read in the same round trips.

    With `exact` (the default) items of sub-namespaces are left out; with `exact=False` the
    namespace is a prefix and they are kept (a search across every user under a prefix).
    """
    found: list[list[Item]] = [[] for _ in queries]
    # (query index, offset, limit) still to read
    reads = [(index, 0, _PAGE) for index in range(len(queries))]
    while reads:
        results = yield from batch(
            [
                SearchOp(queries[i][0], filter=queries[i][1], limit=limit, offset=offset)
                for i, offset, limit in reads
            ]
        )
        more = []
        for (i, offset, limit), result in zip(reads, results, strict=True):
            page = cast("list[SearchItem]", result)  # what a SearchOp answers
            namespace = queries[i][0]
            found[i].extend(item for item in page if not exact or item.namespace == namespace)
            if len(page) == limit:
                more.append((i, offset + limit, min(limit * 2, _MAX_PAGE)))
        reads = more
    return found


# -- drivers -------------------------------------------------------------------------------------


def drive(job: Job[T], store: BaseStore) -> T:
    """Run a job to completion with blocking I/O."""
    try:
        request = next(job)
        while True:
            try:
                result = request.run() if isinstance(request, Call) else request.run(store)
            except BaseException as exc:
                request = job.throw(exc)
            else:
                request = job.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def adrive(job: Job[T], store: BaseStore) -> T:
    """Run a job to completion with async I/O."""
    try:
        request = next(job)
        while True:
            try:
                if isinstance(request, Call):
                    result = await request.arun()
                else:
                    result = await request.arun(store)
            except BaseException as exc:
                request = job.throw(exc)
            else:
                request = job.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


_LATE_TASKS: set[asyncio.Future[Any]] = set()
"""Async jobs that missed their deadline and still run (kept so they are not collected)."""


def _log_late_failure(done: concurrent.futures.Future[Any] | asyncio.Future[Any]) -> None:
    """Done-callback of a job that missed its deadline: log it if it failed."""
    if done.cancelled():
        return
    failure = done.exception()
    if failure is not None:
        logger.warning(
            "a store call that missed its deadline failed later: %s: %s",
            type(failure).__name__,
            failure,
        )


def drive_within(
    job: Job[T],
    store: BaseStore,
    timeout: float | None,
    executor: concurrent.futures.ThreadPoolExecutor,
) -> T:
    """`drive` with a deadline: the job runs on `executor`; past `timeout` seconds this
    raises `TimeoutError` and the job is left to finish in its thread (a failure then is
    logged)."""
    if timeout is None:
        return drive(job, store)
    future = executor.submit(drive, job, store)
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        future.add_done_callback(_log_late_failure)
        msg = f"the store did not answer within {timeout}s"
        raise TimeoutError(msg) from None


async def adrive_within(
    job: Job[T],
    store: BaseStore,
    timeout: float | None,
    *,
    late: set[asyncio.Future[Any]] | None = None,
) -> T:
    """`adrive` with a deadline: `TimeoutError` past `timeout` seconds.

    The job runs as a task that is never cancelled: past the deadline (or if the caller is
    cancelled) it is left to finish in the background, kept in `late` (a module-level set by
    default) until it does, and its failure is logged. Cancelling and awaiting it instead
    (`asyncio.wait_for`) would hold the caller until the driver gives up: psycopg's
    cancellation on a connection that went silent takes about 10 s.
    """
    if timeout is None:
        return await adrive(job, store)
    task = asyncio.ensure_future(adrive(job, store))
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        _keep_late(task, late)
        raise
    if not done:
        _keep_late(task, late)
        msg = f"the store did not answer within {timeout}s"
        raise TimeoutError(msg)
    return task.result()


def _keep_late(task: asyncio.Future[Any], late: set[asyncio.Future[Any]] | None) -> None:
    """Keep a task that missed its deadline until it is done; log it if it fails."""
    tasks = _LATE_TASKS if late is None else late
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    task.add_done_callback(_log_late_failure)
