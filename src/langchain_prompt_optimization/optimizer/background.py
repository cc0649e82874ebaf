"""Background work: threads of a small pool (from sync code) and asyncio tasks (from async code)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = ["BackgroundWork"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundWork:
    """Work started off the caller's path and waited for together: `submit` runs a function in
    a thread of a small pool (created at first use), `create_task` a coroutine on the running
    loop; `drain` / `adrain` wait for both, `close` releases the threads.

    Args:
        thread_name_prefix: Names of the pool's threads.
        max_workers: Threads of the pool.
    """

    def __init__(self, thread_name_prefix: str, max_workers: int = 2) -> None:
        self._prefix = thread_name_prefix
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._futures: set[concurrent.futures.Future[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run `fn(*args)` in a pool thread (returns at once)."""
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=self._max_workers, thread_name_prefix=self._prefix
                )
            future = self._executor.submit(fn, *args)
            self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return future

    def create_task(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run `coro` as a task on the running loop (kept until it is done)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for the work started from sync code; `True` if none is left running."""
        futures = set(self._futures)
        if futures:
            concurrent.futures.wait(futures, timeout=timeout)
        return all(f.done() for f in futures)

    async def adrain(self, timeout: float | None = None) -> bool:
        """Wait for the work, both asyncio tasks and threads; `True` if none is left running."""
        tasks = set(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        threads_done = await asyncio.to_thread(self.drain, timeout)
        return threads_done and all(t.done() for t in tasks)

    def close(self) -> None:
        """Wait for the pool's threads and release them (a later `submit` starts a new pool)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
