"""Writes that failed during a store outage, kept in memory and replayed when it answers."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores.io import Job, batch

if TYPE_CHECKING:
    from langgraph.store.base import Op

__all__ = ["WriteBuffer"]

logger = logging.getLogger(__name__)


class WriteBuffer:
    """A bounded in-memory queue of store batches that could not be written.

    Runs keep answering during an outage; their captures wait here and are written, oldest
    first, by the next capture that reaches the store (or an explicit flush). One flush
    runs at a time; a flush that fails puts its batches back in front. What does not fit
    is dropped, counted in `dropped` and logged.

    Args:
        max_batches: How many batches to keep at most.
    """

    def __init__(self, max_batches: int) -> None:
        self.max_batches = max_batches
        self.dropped = 0
        self._batches: list[list[Op]] = []
        self._lock = threading.Lock()
        self._flushing = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._batches)

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
        """Write everything queued in one batch; if that fails it is all queued again.

        Returns:
            How many batches were written (0 when empty or another flush is running).
        """
        taken = self._take()
        if not taken:
            return 0
        try:
            yield from batch([op for ops in taken for op in ops])
        except BaseException:
            self._give_back(taken)
            raise
        self._done()
        logger.info("store is back: wrote %d buffered capture(s)", len(taken))
        return len(taken)
