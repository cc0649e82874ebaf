"""The langmem call: running the multi-prompt optimizer, counting its usage, naming its failures."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware.internal_call_transformer import internal_call_metadata
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import set_config_context
from langmem import create_multi_prompt_optimizer

from langchain_prompt_optimization.stores.io import Call

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.outputs import LLMResult

    from langchain_prompt_optimization.optimizer.run import RunSettings

__all__ = ["NoStructuredOutputError", "OptimizerCall", "UsageCounter", "internal_config"]


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


def internal_config(*callbacks: BaseCallbackHandler) -> Any:
    """The run config of the optimization's own model calls (langmem, the screening judge):
    tagged internal, with only `callbacks`, so they stay out of the user's run and traces."""
    return {
        "callbacks": list(callbacks),
        "metadata": {"lc_source": "prompt_optimization", **internal_call_metadata()},
        "tags": ["prompt_optimization"],
    }


class _ReplyWatch(BaseCallbackHandler):
    """Counts the optimizer model's replies and those that carried tool calls (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.replies = 0
        self.tool_replies = 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        with self._lock:
            for generations in response.generations:
                for generation in generations:
                    message = getattr(generation, "message", None)
                    self.replies += 1
                    if getattr(message, "tool_calls", None):
                        self.tool_replies += 1


class NoStructuredOutputError(RuntimeError):
    """The optimizer model did not produce langmem's structured output (no tool calling)."""


_PARSE_FAILURES = (TypeError, IndexError, KeyError, ValueError, AttributeError)


def _model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _explain(exc: Exception, model: BaseChatModel, watch: _ReplyWatch) -> Exception:
    """`exc`, or a `NoStructuredOutputError` saying so in plain words when the model cannot
    give langmem structured output: it does not support tool calling, or it answered only
    in plain text and langmem failed reading the answer."""
    unsupported = isinstance(exc, NotImplementedError)
    plain_text = isinstance(exc, _PARSE_FAILURES) and watch.replies > 0 and watch.tool_replies == 0
    if not (unsupported or plain_text):
        return exc
    msg = (
        f"the optimizer model ({_model_name(model)}) did not return langmem's structured "
        f"output ({type(exc).__name__}: {exc}); use a model that supports tool calling, set "
        "it with optimizer=OptimizerSettings(model=...) (formerly optimizer_model=)"
    )
    return NoStructuredOutputError(msg)


@dataclass(frozen=True, slots=True)
class OptimizerCall(Call[tuple[list[dict[str, Any]], dict[str, int]]]):
    """A request to run langmem's multi-prompt optimizer (sync `invoke` / async `ainvoke`);
    returns langmem's prompts and the usage counted.

    The call runs in its own config context: tagged internal, with only our usage counter
    as callback, so it never streams into the user's run. A model that cannot give
    langmem structured output raises `NoStructuredOutputError`, which names the fix.
    """

    model: BaseChatModel
    settings: RunSettings
    payload: dict[str, Any]

    def _optimizer(self) -> Any:
        return create_multi_prompt_optimizer(
            self.model, kind=self.settings.kind, config=self.settings.config
        )

    def run(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Run the optimizer with blocking calls."""
        counter, watch = UsageCounter(), _ReplyWatch()
        try:
            optimizer = self._optimizer()
            with set_config_context(internal_config(counter, watch)) as ctx:
                result = ctx.run(optimizer.invoke, self.payload)
        except Exception as exc:
            explained = _explain(exc, self.model, watch)
            if explained is exc:
                raise
            raise explained from exc
        return list(result), counter.as_dict()

    async def arun(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Run the optimizer with async calls."""
        counter, watch = UsageCounter(), _ReplyWatch()
        try:
            optimizer = self._optimizer()
            with set_config_context(internal_config(counter, watch)) as ctx:
                result = await asyncio.create_task(optimizer.ainvoke(self.payload), context=ctx)
        except Exception as exc:
            explained = _explain(exc, self.model, watch)
            if explained is exc:
                raise
            raise explained from exc
        return list(result), counter.as_dict()
