"""Sans-I/O jobs: logic written once as a generator, driven by a sync or an async driver.

A job yields requests (a store batch, a model call, ...) and receives their results. The sync
driver runs each request with blocking calls, the async driver awaits the `a*` twins, so every
store interaction has one implementation and two faithful entry points.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
import weakref
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from langgraph.store.base import BaseStore

if TYPE_CHECKING:
    from langgraph.store.base import Op, Result

__all__ = [
    "Job",
    "LocalClaim",
    "Request",
    "Sleep",
    "StoreBatch",
    "SupportsTTL",
    "adrive",
    "adrive_within",
    "drive",
    "drive_within",
    "supports_ttl",
    "write",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Request(Protocol):
    """Something a job asks its driver to do."""

    def run(self, store: BaseStore) -> Any:
        """Do it with blocking calls."""
        ...

    async def arun(self, store: BaseStore) -> Any:
        """Do it with async calls."""
        ...


Job = Generator[Request, Any, T]
"""A generator yielding `Request`s, receiving their results, returning `T`."""


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


_claims_guard = threading.Lock()
_claims: weakref.WeakKeyDictionary[BaseStore, dict[str, tuple[str, float]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class LocalClaim:
    """Claim (or release) a key for one holder among everything in this process using the
    same store object. Not re-entrant: a second claim by the same holder fails too.

    This closes the window between reading and writing a store lease for threads and
    tasks of one process; the store lease covers other processes.
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


def drive(job: Job[T], store: BaseStore) -> T:
    """Run a job to completion with blocking I/O."""
    try:
        request = next(job)
        while True:
            try:
                result = request.run(store)
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
                result = await request.arun(store)
            except BaseException as exc:
                request = job.throw(exc)
            else:
                request = job.send(result)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def write(ops: list[Op]) -> Job[None]:
    """A job that writes `ops` in one batch."""
    yield StoreBatch(ops)


def drive_within(
    job: Job[T],
    store: BaseStore,
    timeout: float | None,
    executor: concurrent.futures.ThreadPoolExecutor,
) -> T:
    """`drive` with a deadline: the job runs on `executor`; past `timeout` seconds this
    raises `TimeoutError` (the job may still finish in the background)."""
    if timeout is None:
        return drive(job, store)
    future = executor.submit(drive, job, store)
    try:
        return future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        msg = f"the store did not answer within {timeout}s"
        raise TimeoutError(msg) from None


async def adrive_within(job: Job[T], store: BaseStore, timeout: float | None) -> T:
    """`adrive` with a deadline (`TimeoutError` past `timeout` seconds)."""
    if timeout is None:
        return await adrive(job, store)
    try:
        return await asyncio.wait_for(adrive(job, store), timeout)
    except TimeoutError:
        msg = f"the store did not answer within {timeout}s"
        raise TimeoutError(msg) from None
