"""`StorageSettings`: where records live in the store, how runs write to it, retention."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_prompt_optimization.stores.layout import DEFAULT_PREFIX, StoreLayout
from langchain_prompt_optimization.stores.records import Retention

__all__ = ["CAPTURE_MODES", "CaptureMode", "StorageSettings"]

CaptureMode = Literal["sync", "write_behind"]
CAPTURE_MODES: tuple[CaptureMode, ...] = ("sync", "write_behind")


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
        capture: How `after_agent` writes a run's record. `"sync"`: each run commits its
            own write before its hook returns (within `timeout`). `"write_behind"` (group
            commit): the hook hands the write to a per-middleware writer thread and returns;
            the writer commits the captures of concurrent runs in one store batch, at most
            `max_capture_delay` seconds after the first of them arrived. A crash loses the
            captures not committed yet (see docs/how-it-works.md, "Durability window").
            A run carrying in-band feedback (or a due optimization) still waits for its
            commit, so its trigger check sees the feedback stored.
        max_capture_delay: Seconds a write-behind capture may wait for companions before the
            writer commits (0: commit at once what is queued). Ignored with `"sync"`.
        pin_cache_seconds: Seconds a user's pin read (the active prompt versions, read
            before a run) is served again to that user's next runs in this process without
            reading the store. A write of this process to what it read (an optimization,
            approval or rollback, a registration, a recorded configuration) drops it at
            once; a change made by another process (a worker, `promptopt`, another replica)
            is served at most this late. `0`: read the store before every run. (Run path
            only; workers ignore it.)

    Raises:
        ValueError: On an invalid prefix, a non-positive timeout or buffer size, an unknown
            capture mode or a negative (or non-finite) `max_capture_delay` or
            `pin_cache_seconds`.
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
    capture: CaptureMode = "sync"
    max_capture_delay: float = 0.05
    pin_cache_seconds: float = 1.0

    @classmethod
    def from_keywords(cls, values: dict[str, Any]) -> StorageSettings:
        """Settings from the 0.1 keywords (`retention=None` meant the default retention)."""
        if "retention" in values and values["retention"] is None:
            values = {**values, "retention": Retention()}
        return cls(**values)

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
        if self.capture not in CAPTURE_MODES:
            msg = f"StorageSettings.capture must be one of {CAPTURE_MODES}; got {self.capture!r}"
            raise ValueError(msg)
        for name in ("max_capture_delay", "pin_cache_seconds"):
            seconds = getattr(self, name)
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)
                or seconds < 0
            ):
                msg = (
                    f"StorageSettings.{name} must be finite, non-negative seconds; got {seconds!r}"
                )
                raise ValueError(msg)
        if not isinstance(self.retention, Retention):
            msg = f"retention must be a Retention; got {type(self.retention).__name__}"
            raise TypeError(msg)
