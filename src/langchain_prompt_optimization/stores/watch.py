"""Which watched store keys this process wrote, and when: how caches of store reads learn
that a write of their own process made them stale."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from langgraph.store.base import PutOp

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from langgraph.store.base import Op

__all__ = ["WRITES", "StoreKey", "WriteWatch"]

logger = logging.getLogger(__name__)

StoreKey = tuple[tuple[str, ...], str]
"""`(namespace, key)` of a store item, as written (after the storable-text rule)."""


class WriteWatch:
    """A clock of writes to watched keys, for every store this process writes.

    A cache of a read calls `watch(keys)` BEFORE it reads, and keeps the generation it gets;
    the read is still current while `changed_since(keys, generation)` is false. `io.batch`
    calls `wrote(ops)` when a batch with puts (or deletes) finished, failed or not, so a
    write completed after the read began always invalidates it, and a write completed before
    it is seen by the read itself. Keys are compared, not stores: a write to the same key of
    another store also invalidates (conservative, never stale).

    Only writes made through this package in this process are seen; writes of other
    processes are what a cache's own age bound covers.

    Args:
        max_keys: Keys watched at most; past it everything is forgotten and every read taken
            before counts as changed.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._clock = 0
        self._floor = 0
        self._written: dict[StoreKey, int] = {}  # watched key -> generation of its last write

    def watch(self, keys: Iterable[StoreKey]) -> int:
        """Start watching `keys`; the generation to give `changed_since` (call before reading)."""
        keys = list(keys)
        with self._lock:
            if len(self._written) + len(keys) > self._max_keys:
                self._clock += 1
                self._floor = self._clock
                self._written.clear()
            for key in keys:
                self._written.setdefault(key, 0)
            return self._clock

    def wrote(self, ops: Sequence[Op]) -> None:
        """Record that a batch holding `ops` wrote (or tried to write) its puts."""
        if not self._written:
            return
        hits = [
            (op.namespace, op.key)
            for op in ops
            if isinstance(op, PutOp) and (op.namespace, op.key) in self._written
        ]
        if not hits:
            return
        with self._lock:
            self._clock += 1
            for key in hits:
                if key in self._written:
                    self._written[key] = self._clock

    def changed_since(self, keys: Iterable[StoreKey], generation: int) -> bool:
        """Whether any of `keys` was written after `generation` (or is no longer watched)."""
        with self._lock:
            if generation < self._floor:
                return True
            return any(self._written.get(key, generation + 1) > generation for key in keys)


WRITES = WriteWatch()
"""The process-wide watch every store batch reports to (see `io.batch`)."""
