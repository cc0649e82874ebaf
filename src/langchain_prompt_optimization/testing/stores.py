"""A store wrapper that counts round trips and can simulate an outage."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langgraph.store.base import BaseStore, GetOp, ListNamespacesOp, PutOp, SearchOp

if TYPE_CHECKING:
    from collections.abc import Iterable

    from langgraph.store.base import Op, Result

__all__ = ["BatchRecord", "InstrumentedStore", "StoreUnavailableError"]


class StoreUnavailableError(ConnectionError):
    """Raised by `InstrumentedStore` while `down` is set."""


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One round trip: how many ops of each kind it carried."""

    gets: int
    puts: int
    searches: int
    list_namespaces: int

    @property
    def is_read(self) -> bool:
        """A batch with no writes."""
        return self.puts == 0

    @property
    def is_write(self) -> bool:
        """A batch with writes only."""
        return self.puts > 0 and self.gets == self.searches == self.list_namespaces == 0


class InstrumentedStore(BaseStore):
    """Wrap a `BaseStore`: record every `batch`/`abatch` round trip; fail on demand.

    Args:
        inner: The store to delegate to.

    Example:
        ```python
        store = InstrumentedStore(InMemoryStore())
        agent.invoke(...)
        assert [b.is_read for b in store.batches] == [True, False]
        store.down = True   # every call now raises StoreUnavailableError
        ```
    """

    def __init__(self, inner: BaseStore) -> None:
        self.inner = inner
        self.batches: list[BatchRecord] = []
        self.down = False
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget the recorded batches."""
        with self._lock:
            self.batches.clear()

    def _record(self, ops: list[Op]) -> None:
        if self.down:
            msg = "store is down (simulated outage)"
            raise StoreUnavailableError(msg)
        record = BatchRecord(
            gets=sum(isinstance(op, GetOp) for op in ops),
            puts=sum(isinstance(op, PutOp) for op in ops),
            searches=sum(isinstance(op, SearchOp) for op in ops),
            list_namespaces=sum(isinstance(op, ListNamespacesOp) for op in ops),
        )
        with self._lock:
            self.batches.append(record)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Record, then delegate."""
        ops = list(ops)
        self._record(ops)
        return self.inner.batch(ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Record, then delegate (sync stores run in a thread, as the package does)."""
        ops = list(ops)
        self._record(ops)
        try:
            return await self.inner.abatch(ops)
        except NotImplementedError:
            import asyncio

            return await asyncio.to_thread(self.inner.batch, ops)
