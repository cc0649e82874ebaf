"""The langmem call: running the multi-prompt optimizer, counting its usage, naming its failures."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware.internal_call_transformer import internal_call_metadata
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import set_config_context
from langmem import create_multi_prompt_optimizer

from langchain_prompt_optimization.optimizer.metering import UsageCounter
from langchain_prompt_optimization.stores.io import Call

if TYPE_CHECKING:
    from uuid import UUID

    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.outputs import LLMResult

    from langchain_prompt_optimization.optimizer.run import RunSettings

__all__ = [
    "NoStructuredOutputError",
    "OptimizerCall",
    "OptimizerResult",
    "UsageCounter",
    "internal_config",
]


def internal_config(*callbacks: BaseCallbackHandler) -> Any:
    """The run config of the optimization's own model calls (langmem, the screening judge):
    tagged internal, with only `callbacks`, so they stay out of the user's run and traces."""
    return {
        "callbacks": list(callbacks),
        "metadata": {"lc_source": "prompt_optimization", **internal_call_metadata()},
        "tags": ["prompt_optimization"],
    }


class _ReplyWatch(BaseCallbackHandler):
    """Watches the optimizer model's replies (thread-safe): how many, how many carried tool
    calls, which prompts a rewrite call explicitly declined to change (`prompt_memory`'s
    `update_prompt: false`), and whether credit assignment picked no prompt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.replies = 0
        self.tool_replies = 0
        self.declined: set[str] = set()
        self.assigned_none = False
        self._shown: dict[UUID, str] = {}

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
    ) -> None:
        run_id = kwargs.get("run_id")
        text = "\n".join(str(m.content) for batch in messages for m in batch)
        shown = _CURRENT_PROMPT.search(text)
        if run_id is not None and shown is not None:
            with self._lock:
                self._shown[run_id] = shown.group(1)

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        with self._lock:
            shown = self._shown.pop(kwargs["run_id"], None) if "run_id" in kwargs else None
            for generations in response.generations:
                for generation in generations:
                    message = getattr(generation, "message", None)
                    self.replies += 1
                    if getattr(message, "tool_calls", None):
                        self.tool_replies += 1
                    for name, answer in _structured_answers(message):
                        if answer.get("update_prompt") is False and shown is not None:
                            self.declined.add(shown)
                        if name == "Classify" and answer.get("which") == []:
                            self.assigned_none = True


_CURRENT_PROMPT = re.compile(r"<current_prompt>\n?(.*?)\n?</current_prompt>", re.DOTALL)


def _structured_answers(message: Any) -> list[tuple[str, dict[str, Any]]]:
    """A reply's structured answers: its tool calls' arguments, or its content as JSON (a
    `json_schema` response format), as `(tool name or "", arguments)`."""
    calls = getattr(message, "tool_calls", None) or []
    answers = [(str(c.get("name", "")), c.get("args") or {}) for c in calls]
    content = getattr(message, "content", None)
    if not answers and isinstance(content, str) and content.lstrip().startswith("{"):
        try:
            parsed = json.loads(content)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            answers.append(("", parsed))
    return [(name, args) for name, args in answers if isinstance(args, dict)]


@dataclass(frozen=True, slots=True)
class OptimizerResult:
    """What one langmem call answered.

    Attributes:
        prompts: langmem's prompts (`name`, `prompt`, ...); a prompt whose rewrite call
            declined (`update_prompt: false`) keeps the text it was given.
        usage: Calls and tokens counted.
        declined: Names of the prompts a rewrite call explicitly declined to change.
        assigned_none: Credit assignment (several prompts) picked no prompt to change, so
            no rewrite call ran.
    """

    prompts: list[dict[str, Any]]
    usage: dict[str, int]
    declined: tuple[str, ...] = ()
    assigned_none: bool = False


def _answered(
    result: Any, payload: dict[str, Any], counter: UsageCounter, watch: _ReplyWatch
) -> OptimizerResult:
    """langmem's answer with declined prompts kept as they were: langmem passes on the
    empty `new_prompt` of an `update_prompt: false` answer, which is no candidate."""
    given = {p.get("name"): p.get("prompt") for p in payload.get("prompts") or []}
    declined = [name for name, text in given.items() if text in watch.declined]
    prompts = [
        {**entry, "prompt": given[entry.get("name")]} if entry.get("name") in declined else entry
        for entry in result
    ]
    return OptimizerResult(
        prompts, counter.as_dict(), tuple(str(n) for n in declined), watch.assigned_none
    )


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
class OptimizerCall(Call[OptimizerResult]):
    """A request to run langmem's multi-prompt optimizer (sync `invoke` / async `ainvoke`);
    returns langmem's prompts, the usage counted and the prompts it declined to change.

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

    def run(self) -> OptimizerResult:
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
        return _answered(result, self.payload, counter, watch)

    async def arun(self) -> OptimizerResult:
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
        return _answered(result, self.payload, counter, watch)
