"""The pin cache: a user's pin read served again to the next runs, for a bounded time."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores.watch import WRITES, WriteWatch

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores import PinResult, UserRef
    from langchain_prompt_optimization.stores.watch import StoreKey

__all__ = ["PinCache"]

logger = logging.getLogger(__name__)

_SIZE = 1024


def _now() -> float:
    """Monotonic seconds: the cache's clock unless one is given (looked up at each call)."""
    return time.monotonic()


@dataclass(frozen=True, slots=True)
class _Entry:
    store: BaseStore
    keys: Sequence[StoreKey]
    generation: int
    expires: float
    pin: PinResult


class PinCache:
    """Recent pin reads by (store, user, lineage owner), each served for at most `max_age`
    seconds after its read began, and dropped as soon as this process writes a key it read
    (an activated, approved or rolled back version, a registered user, a recorded
    configuration: every write goes through `io.batch`, which reports to `WriteWatch`).

    So a run sees every change made by this process at once, and a change made by another
    process (a worker, the CLI, another replica) at most `max_age` seconds late.

    Args:
        max_age: Seconds a read is served again; `0` disables the cache.
        clock: Monotonic seconds (default: `time.monotonic`).
        watch: The write watch (the process-wide one by default).
        size: Entries kept at most (least recently used dropped first).
    """

    def __init__(
        self,
        max_age: float,
        *,
        clock: Callable[[], float] | None = None,
        watch: WriteWatch = WRITES,
        size: int = _SIZE,
    ) -> None:
        self.max_age = max_age
        self._given_clock = clock
        self._watch = watch
        self._size = size
        self._entries: OrderedDict[tuple[int, str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self._given_clock() if self._given_clock is not None else _now()

    @property
    def enabled(self) -> bool:
        """Whether reads are served again at all."""
        return self.max_age > 0

    def begin(self, keys: Sequence[StoreKey]) -> tuple[int, float]:
        """Before a read of `keys`: start watching them; what `put` needs afterwards."""
        return self._watch.watch(keys), self._now()

    def put(
        self,
        store: BaseStore,
        user: UserRef,
        owner: UserRef,
        keys: Sequence[StoreKey],
        begun: tuple[int, float],
        pin: PinResult,
    ) -> None:
        """Keep a pin read that began at `begun` (from `begin`)."""
        generation, started = begun
        entry = _Entry(store, keys, generation, started + self.max_age, pin)
        slot = (id(store), user.label, owner.label)
        with self._lock:
            self._entries[slot] = entry
            self._entries.move_to_end(slot)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def get(self, store: BaseStore, user: UserRef, owner: UserRef) -> PinResult | None:
        """The kept read for this store, user and owner if it is still current."""
        slot = (id(store), user.label, owner.label)
        with self._lock:
            entry = self._entries.get(slot)
        if entry is None or entry.store is not store:
            return None
        if self._now() >= entry.expires or self._watch.changed_since(entry.keys, entry.generation):
            with self._lock:
                if self._entries.get(slot) is entry:
                    del self._entries[slot]
            return None
        return entry.pin
