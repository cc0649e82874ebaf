"""`StorageSettings`: where records live in the store, how long runs wait for it, retention."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_prompt_optimization.stores.layout import DEFAULT_PREFIX, StoreLayout
from langchain_prompt_optimization.stores.records import Retention

__all__ = ["StorageSettings"]


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """How the middleware (and `PromptWorker`) use the store.

    Attributes:
        namespace_prefix: Store namespace prefix; use one per agent sharing a store (workers
            must use the apps' prefix). Kept as a tuple.
        timeout: Seconds a run waits for the store before its hooks give up: the pin read
            then serves the last known (or base) prompts, a capture write is buffered.
            `None`: no deadline. (Run path only; workers ignore it.)
        max_buffered_writes: Captures kept in memory while the store is down, written when
            it answers again; beyond that they are dropped (counted, logged). (Run path
            only; workers ignore it.)
        retention: How long trajectories and consumed feedback are kept (default: at most
            1,000 trajectories per user, no TTL). Prompt versions are never deleted.

    Raises:
        ValueError: On an invalid prefix, a non-positive timeout or buffer size.
        TypeError: If `retention` is not a `Retention`.

    Example:
        ```python
        PromptOptimizationMiddleware(
            storage=StorageSettings(namespace_prefix=("support_agent",), timeout=0.2)
        )
        ```
    """

    namespace_prefix: Sequence[str] = DEFAULT_PREFIX
    timeout: float | None = 0.5
    max_buffered_writes: int = 1_000
    retention: Retention = field(default_factory=Retention)

    def __post_init__(self) -> None:
        if isinstance(self.namespace_prefix, str) or not isinstance(
            self.namespace_prefix, Sequence
        ):
            msg = (
                "StorageSettings.namespace_prefix must be a sequence of labels, e.g. "
                f"('my_agent',); got {self.namespace_prefix!r}"
            )
            raise TypeError(msg)
        object.__setattr__(self, "namespace_prefix", StoreLayout(self.namespace_prefix).prefix)
        timeout = self.timeout
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            msg = f"StorageSettings.timeout must be positive seconds or None; got {timeout!r}"
            raise ValueError(msg)
        size = self.max_buffered_writes
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            msg = f"StorageSettings.max_buffered_writes must be a positive int; got {size!r}"
            raise ValueError(msg)
        if not isinstance(self.retention, Retention):
            msg = f"retention must be a Retention; got {type(self.retention).__name__}"
            raise TypeError(msg)
