"""Metering: the usage of every model call an optimization makes, counted through one seam.

An optimization job runs each of its model calls (langmem's optimizer, the evaluation
gate's replays, a screener's judge) as `MeteredCall(call, meter, source)`. While the call
runs, a context variable registered with LangChain's callback configuration
(`register_configure_hook`, as `get_usage_metadata_callback` does) adds the meter's
counter for `source` to every chat model invoked inside it, whatever callbacks the call
itself configures. The call needs no cooperation: a new kind of model call is counted as
soon as it runs through the seam. Calls that raise are counted too (their tokens when the
provider reported them), so a failed optimization's usage is never lost.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook

from langchain_prompt_optimization.stores.io import Call

if TYPE_CHECKING:
    from langchain_core.outputs import LLMResult

__all__ = ["USAGE_KEYS", "MeteredCall", "UsageCounter", "UsageMeter", "usage_tokens"]

T = TypeVar("T")

USAGE_KEYS: tuple[str, ...] = ("calls", "input_tokens", "output_tokens")
"""The totals every usage record carries."""

_active_counter: ContextVar[BaseCallbackHandler | None] = ContextVar(
    "prompt_optimization_usage_counter", default=None
)
register_configure_hook(_active_counter, inheritable=True)


class UsageCounter(BaseCallbackHandler):
    """Counts a model's calls and the tokens it reports (a callback handler; thread-safe).

    The optimizer's calls are counted with one; the learning harness counts both models
    with it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1
            for generations in response.generations:
                for generation in generations:
                    usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
                    if usage:
                        self.input_tokens += int(usage.get("input_tokens", 0))
                        self.output_tokens += int(usage.get("output_tokens", 0))

    def as_dict(self) -> dict[str, int]:
        """Calls and tokens counted so far."""
        with self._lock:
            return {
                "calls": self.calls,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
            }


class _SourceCounter(UsageCounter):
    """A `UsageCounter` that also counts calls that raised (they were made, maybe billed)."""

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1


class UsageMeter:
    """Model calls and tokens of one optimization, by source (thread-safe).

    Sources name what called the model: `"optimizer"` (langmem), `"gate"` (the evaluation
    gate's replays and evaluator), `"judge"` (a model screener), or any other name.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, _SourceCounter] = {}

    def counter(self, source: str) -> UsageCounter:
        """The counter of `source` (created at first use)."""
        with self._lock:
            return self._counters.setdefault(source, _SourceCounter())

    def usage(self) -> dict[str, int]:
        """Totals (`calls`, `input_tokens`, `output_tokens`) and `<source>_calls` for each
        source that made a call."""
        totals = dict.fromkeys(USAGE_KEYS, 0)
        with self._lock:
            counters = dict(self._counters)
        for source, counter in sorted(counters.items()):
            counted = counter.as_dict()
            for key in USAGE_KEYS:
                totals[key] += counted[key]
            if counted["calls"]:
                totals[f"{source}_calls"] = counted["calls"]
        return totals

    @property
    def calls(self) -> int:
        """Model calls counted so far, all sources."""
        return self.usage()["calls"]


def usage_tokens(usage: dict[str, int]) -> int:
    """Input plus output tokens of a usage record."""
    return int(usage.get("input_tokens", 0)) + int(usage.get("output_tokens", 0))


@dataclass(frozen=True, slots=True)
class MeteredCall(Call[T]):
    """Run `call` (a model call) counting every chat model call made inside it on
    `meter` under `source`; the call's result is returned as it is, its error raised as
    it is (what was counted stays counted)."""

    call: Call[T]
    meter: UsageMeter
    source: str

    def run(self) -> T:
        """Run the call with blocking I/O, metered."""
        token = _active_counter.set(self.meter.counter(self.source))
        try:
            return self.call.run()
        finally:
            _active_counter.reset(token)

    async def arun(self) -> T:
        """Run the call with async I/O, metered."""
        token = _active_counter.set(self.meter.counter(self.source))
        try:
            return await self.call.arun()
        finally:
            _active_counter.reset(token)
