"""The outage buffer: failed writes kept in memory and replayed, refused writes set aside.

Writes that failed during a store outage are kept in memory and replayed when the store
answers; the writes the store refused are set aside so the ones after them still land.
"""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores.io import Job, batch
from langchain_prompt_optimization.stores.records import utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from langgraph.store.base import Op

__all__ = ["MAX_REJECTED_KEPT", "RejectedWrite", "WriteBuffer", "is_refusal"]

logger = logging.getLogger(__name__)

MAX_REJECTED_KEPT = 100
"""How many refused writes `WriteBuffer.rejected` keeps for inspection (the newest)."""

_REFUSAL_NAMES = frozenset({"DataError", "IntegrityError", "InvalidNamespaceError"})


def is_refusal(exc: BaseException) -> bool:
    """Whether `exc` says the store refused this write's content (writing it again fails
    the same way), rather than that the store is down, slow or busy (worth retrying).

    Refusals: `TypeError`, `ValueError` (`UnicodeError` included) and the DB-API `DataError`
    and `IntegrityError` of any driver (sqlite3, psycopg).
    """
    if isinstance(exc, TypeError | ValueError):
        return True
    return any(cls.__name__ in _REFUSAL_NAMES for cls in type(exc).__mro__)


@dataclass(frozen=True, slots=True)
class RejectedWrite:
    """A capture the store refused: set aside so the captures after it still land.

    Attributes:
        ops: The store operations of the capture (its puts carry the namespace and key).
        error: The store's error, as `"ExceptionType: message"`.
        at: When it was set aside (UTC).
    """

    ops: tuple[Op, ...]
    error: str
    at: datetime


class WriteBuffer:
    """A bounded in-memory queue of store batches that could not be written.

    Runs keep answering during an outage; their captures wait here and are written, oldest
    first, by the next capture that reaches the store (or an explicit flush). One flush
    runs at a time. A flush writes everything in one batch; if the store refuses that batch
    it writes the captures one at a time: a capture the store refuses (`is_refusal`) is set aside —
    counted in `rejected_count`, logged, and kept in `rejected` (the newest
    `MAX_REJECTED_KEPT`) — and the others are written. At the first capture that fails
    for another reason (the store is down), it and the ones after it are queued again in
    front. What does not fit is dropped, counted in `dropped` and logged.

    Args:
        max_batches: How many batches to keep at most.
    """

    def __init__(self, max_batches: int) -> None:
        self.max_batches = max_batches
        self.dropped = 0
        self.rejected_count = 0
        self._rejected: collections.deque[RejectedWrite] = collections.deque(
            maxlen=MAX_REJECTED_KEPT
        )
        self._batches: list[list[Op]] = []
        self._lock = threading.Lock()
        self._flushing = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._batches)

    @property
    def rejected(self) -> tuple[RejectedWrite, ...]:
        """The newest captures the store refused, oldest first (read-only copy)."""
        with self._lock:
            return tuple(self._rejected)

    def add(self, ops: list[Op]) -> bool:
        """Queue a batch; `False` (and counted) if the buffer is full."""
        with self._lock:
            if len(self._batches) < self.max_batches:
                self._batches.append(ops)
                return True
            self.dropped += 1
            dropped = self.dropped
        logger.error(
            "store outage: write buffer full (%d batches); dropped a run's capture "
            "(%d dropped so far)",
            self.max_batches,
            dropped,
        )
        return False

    def reject(self, ops: list[Op], exc: BaseException) -> None:
        """Set aside a capture the store refused (counted, logged, kept for inspection)."""
        error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.rejected_count += 1
            self._rejected.append(RejectedWrite(tuple(ops), error, utcnow()))
            count = self.rejected_count
        logger.error("the store refused a run's capture; set aside (%d so far): %s", count, error)

    def _take(self) -> list[list[Op]] | None:
        with self._lock:
            if self._flushing or not self._batches:
                return None
            self._flushing = True
            taken, self._batches = self._batches, []
            return taken

    def _give_back(self, taken: list[list[Op]]) -> None:
        with self._lock:
            room = self.max_batches - len(self._batches)
            kept = taken[: max(room, 0)]
            self.dropped += len(taken) - len(kept)
            self._batches = kept + self._batches
            self._flushing = False

    def _done(self) -> None:
        with self._lock:
            self._flushing = False

    def flush(self) -> Job[int]:
        """Write everything queued: in one batch, else one capture at a time (see the class).

        Returns:
            How many batches were written (0 when empty or another flush is running).

        Raises:
            Exception: The store's error when it is down (the unwritten captures are queued
                again).
        """
        taken = self._take()
        if not taken:
            return 0
        try:
            yield from batch([op for ops in taken for op in ops])
        except Exception as exc:
            if not is_refusal(exc):  # the store is down: one round trip, all queued again
                self._give_back(taken)
                raise
            written = yield from self._one_at_a_time(taken)
        except BaseException:
            self._give_back(taken)
            raise
        else:
            written = len(taken)
        self._done()
        if written:
            logger.info("store is back: wrote %d buffered capture(s)", written)
        return written

    def _one_at_a_time(self, taken: list[list[Op]]) -> Job[int]:
        written = 0
        for index, ops in enumerate(taken):
            try:
                yield from batch(ops)
            except Exception as exc:
                if not is_refusal(exc):
                    self._give_back(taken[index:])
                    raise
                self.reject(ops, exc)
            except BaseException:
                self._give_back(taken[index:])
                raise
            else:
                written += 1
        return written
