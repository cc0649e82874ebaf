"""Writes that failed during a store outage, kept in memory and replayed when it answers."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores.io import Job, StoreBatch

if TYPE_CHECKING:
    from langgraph.store.base import Op

__all__ = ["WriteBuffer"]

logger = logging.getLogger(__name__)


class WriteBuffer:
    """A bounded in-memory queue of store batches that could not be written.

    Runs keep answering during an outage; their captures wait here and are written, oldest
    first, by the next capture that reaches the store (or an explicit flush). What does not
    fit is dropped, counted in `dropped` and logged.

    Args:
        max_batches: How many batches to keep at most.
    """

    def __init__(self, max_batches: int) -> None:
        self.max_batches = max_batches
        self.dropped = 0
        self._batches: list[list[Op]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._batches)

    def add(self, ops: list[Op]) -> bool:
        """Queue a batch; `False` (and counted) if the buffer is full."""
        with self._lock:
            if len(self._batches) >= self.max_batches:
                self.dropped += 1
                dropped = self.dropped
            else:
                self._batches.append(ops)
                return True
        logger.error(
            "store outage: write buffer full (%d batches); dropped a run's capture "
            "(%d dropped so far)",
            self.max_batches,
            dropped,
        )
        return False

    def flush(self) -> Job[int]:
        """Write everything queued in one batch; on failure it all stays queued.

        Returns:
            How many batches were written.
        """
        with self._lock:
            taken = list(self._batches)
        if not taken:
            return 0
        yield StoreBatch([op for ops in taken for op in ops])
        with self._lock:
            del self._batches[: len(taken)]
        logger.info("store is back: wrote %d buffered capture(s)", len(taken))
        return len(taken)
