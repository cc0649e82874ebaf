"""Write-behind capture (group commit): one writer thread commits concurrent runs' captures in
one store batch, flushed on demand, on close and at interpreter exit."""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from langchain_prompt_optimization.stores.buffer import is_refusal
from langchain_prompt_optimization.stores.io import batch, drive

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore, Op

    from langchain_prompt_optimization.stores.buffer import WriteBuffer
    from langchain_prompt_optimization.stores.io import Job

__all__ = ["AT_EXIT_TIMEOUT", "GroupCommit", "Outcome", "commit_group"]

logger = logging.getLogger(__name__)

AT_EXIT_TIMEOUT = 5.0
"""Seconds the exit flush waits when the storage timeout is `None` (no deadline)."""

Outcome = Literal["landed", "rejected", "buffered"]
"""What became of one capture of a group: committed, refused by the store (set aside), or
kept in the outage buffer (the store is down)."""


def commit_group(group: list[list[Op]]) -> Job[list[tuple[Outcome, Exception | None]]]:
    """Commit captures in one batch; if the store refuses that batch, one at a time.

    A capture the store refuses is `"rejected"` alone, with the store's error (the others
    land); at the first capture that fails for another reason (the store is down) it and
    the ones after it are `"buffered"`. Never raises for a store error.
    """
    try:
        yield from batch([op for ops in group for op in ops])
    except Exception as exc:
        if not is_refusal(exc):
            logger.warning("write-behind commit failed (%s: %s)", type(exc).__name__, exc)
            return [("buffered", exc)] * len(group)
    else:
        return [("landed", None)] * len(group)
    outcomes: list[tuple[Outcome, Exception | None]] = []
    for index, ops in enumerate(group):
        try:
            yield from batch(ops)
        except Exception as exc:
            if not is_refusal(exc):
                logger.warning("write-behind commit failed (%s: %s)", type(exc).__name__, exc)
                return outcomes + [("buffered", exc)] * (len(group) - index)
            outcomes.append(("rejected", exc))
        else:
            outcomes.append(("landed", None))
    return outcomes


@dataclass(slots=True)
class _Queued:
    ops: list[Op]
    done: concurrent.futures.Future[bool]


class GroupCommit:
    """A per-middleware writer thread: captures handed to `submit` wait at most `max_delay`
    seconds for companions, then all queued ones are committed in ONE store batch.

    A refused capture is set aside alone in the outage buffer's rejected list; when the
    store is down the group goes to the outage buffer (`WriteBuffer`), which the writer
    flushes before its next group. Each capture's future says whether it was committed.

    Args:
        buffer: The outage buffer (shared with the sync path).
        max_delay: Seconds the first capture of a group waits for companions.
        timeout: The storage timeout; bounds `close` and the exit flush.
    """

    def __init__(self, buffer: WriteBuffer, max_delay: float, timeout: float | None) -> None:
        self.max_delay = max_delay
        self.timeout = timeout
        self.commits = 0
        self._buffer = buffer
        self._queue: list[_Queued] = []
        self._first_at = 0.0
        self._urgent = False
        self._closing = False
        self._store: BaseStore | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        _LIVE.add(self)

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def submit(
        self, store: BaseStore, ops: list[Op], *, urgent: bool = False
    ) -> concurrent.futures.Future[bool]:
        """Queue a capture (never blocks on I/O; safe on an event loop). An `urgent` one
        (its caller waits for it) is committed at once, with whatever is queued.

        Returns:
            A future: `True` once committed, `False` if set aside, buffered or dropped.
        """
        done: concurrent.futures.Future[bool] = concurrent.futures.Future()
        with self._cond:
            if len(self._queue) >= self._buffer.max_batches:
                full = True
            else:
                full = False
                if not self._queue:
                    self._first_at = time.monotonic()
                self._queue.append(_Queued(ops, done))
                self._urgent = self._urgent or urgent
                self._store = store
                self._start()
                self._cond.notify_all()
        if full:  # kept by the outage buffer if it has room, else dropped (counted, logged)
            self._buffer.add(ops)
            done.set_result(False)
        return done

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="promptopt-write-behind", daemon=True
            )
            self._thread.start()

    def _next_group(self) -> tuple[BaseStore, list[_Queued]] | None:
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            while not (self._urgent or self._closing):
                remaining = self._first_at + self.max_delay - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            group, self._queue = self._queue, []
            self._urgent = False
            assert self._store is not None  # set with the first queued capture
            return self._store, group

    def _run(self) -> None:
        while (taken := self._next_group()) is not None:
            store, group = taken
            try:
                self._commit(store, group)
            except BaseException as exc:  # never leave a caller waiting
                for queued in group:
                    if not queued.done.done():
                        queued.done.set_exception(exc)
                logger.exception("write-behind writer failed; captures kept in memory")

    def _commit(self, store: BaseStore, group: list[_Queued]) -> None:
        if len(self._buffer):
            try:
                drive(self._buffer.flush(), store)
            except Exception as exc:
                logger.warning("buffered captures not written yet: %s", exc)
                self._settle(group, [("buffered", exc)] * len(group))
                return
        outcomes = drive(commit_group([queued.ops for queued in group]), store)
        with self._cond:
            self.commits += 1
        self._settle(group, outcomes)

    def _settle(
        self, group: list[_Queued], outcomes: list[tuple[Outcome, Exception | None]]
    ) -> None:
        for queued, (outcome, error) in zip(group, outcomes, strict=True):
            if outcome == "rejected":
                self._buffer.reject(queued.ops, error or ValueError("refused"))
            elif outcome == "buffered":
                self._buffer.add(queued.ops)
            queued.done.set_result(outcome == "landed")

    def commit_now(self) -> list[concurrent.futures.Future[bool]]:
        """Have the writer commit what is queued without waiting for companions.

        Returns:
            The futures of the queued captures (to wait on, sync or async).
        """
        with self._cond:
            pending = [queued.done for queued in self._queue]
            self._urgent = True
            self._cond.notify_all()
        return pending

    def flush(self, timeout: float | None) -> int:
        """Commit what is queued now and wait for it (at most `timeout` seconds).

        Returns:
            How many of the queued captures were committed.

        Raises:
            TimeoutError: If the writer did not finish within `timeout`.
        """
        pending = self.commit_now()
        if not pending:
            return 0
        done, waiting = concurrent.futures.wait(pending, timeout=timeout)
        if waiting:
            msg = f"write-behind captures not committed within {timeout}s"
            raise TimeoutError(msg)
        return sum(1 for future in done if future.exception() is None and future.result())

    def close(self, timeout: float | None) -> bool:
        """Commit what is queued, then stop the writer (waits at most `timeout` seconds).

        Returns:
            Whether every queued capture was handled (committed, set aside or buffered).
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._cond:
            self._closing = False  # a later capture starts a new writer
        left = len(self)
        if left or (thread is not None and thread.is_alive()):
            logger.error(
                "write-behind: %d capture(s) not committed when closing (store not answering "
                "within %ss)",
                left,
                timeout,
            )
            return False
        return True


_LIVE: weakref.WeakSet[GroupCommit] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """Commit every writer's queued captures at interpreter exit, each bounded by its
    storage timeout (`AT_EXIT_TIMEOUT` without one): the exit never hangs on a dead store."""
    for group in list(_LIVE):
        if len(group):
            group.close(group.timeout if group.timeout is not None else AT_EXIT_TIMEOUT)
