"""Scripted chat models for offline tests: an agent model and an optimizer model."""

from __future__ import annotations

import ast
import itertools
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

if TYPE_CHECKING:
    from langchain_core.callbacks import CallbackManagerForLLMRun
    from langchain_core.language_models import LanguageModelInput
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

__all__ = [
    "Rewrite",
    "ScriptedChatModel",
    "ScriptedOptimizerModel",
    "ScriptedRequest",
]

Rewrite = Callable[[str, str], str]
"""`rewrite(current_prompt, input_text) -> new prompt`."""

_counter = itertools.count()
_CURRENT_PROMPT = re.compile(r"<current_prompt>\n?(.*?)\n?</current_prompt>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ScriptedRequest:
    """One call a scripted model received.

    Attributes:
        messages: The messages sent, system message included.
        tools: Names of the tools bound for the call.
        tool_choice: The forced tool choice, if any.
        tool_schemas: The bound tools in OpenAI format.
    """

    messages: list[BaseMessage]
    tools: list[str]
    tool_choice: Any
    tool_schemas: list[dict[str, Any]]

    @property
    def system_prompt(self) -> str | None:
        """Text of the system message that reached the model (`None` if there was none)."""
        for message in self.messages:
            if isinstance(message, SystemMessage):
                return message.text
        return None

    @property
    def text(self) -> str:
        """All message text of the call, joined."""
        return "\n".join(_text(m) for m in self.messages)


def _text(message: BaseMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else json.dumps(content, default=str)


def _estimate_usage(prompt: str, reply: str) -> dict[str, int]:
    input_tokens, output_tokens = max(1, len(prompt) // 4), max(1, len(reply) // 4)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }


class ScriptedChatModel(BaseChatModel):
    """A chat model that replies from a script and records every request.

    Replies come from a list (in order; a `str` becomes an `AIMessage`) or from a function
    of the request. Every call is recorded in `requests`, so a test can assert the system
    prompt that actually reached the model. Supports `bind_tools` and (through it)
    `with_structured_output`. Replies carry estimated `usage_metadata` (chars / 4).

    Example:
        ```python
        model = ScriptedChatModel(responses=[
            AIMessage("", tool_calls=[{"name": "send_email", "args": {...}, "id": "1"}]),
            "Sent.",
        ])
        agent = create_agent(model, tools=[send_email], system_prompt="...")
        agent.invoke({"messages": [("user", "hi")]})
        assert model.requests[0].system_prompt == "..."
        ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: Any = Field(default_factory=list)
    """The script: a list of replies (`AIMessage` or `str`), or `request -> reply`."""
    repeat_last: bool = False
    """When the list runs out, repeat its last reply instead of raising."""
    requests: list[ScriptedRequest] = Field(default_factory=list)
    """Every request received, in order."""

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _position: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def system_prompts(self) -> list[str | None]:
        """The system prompt of each recorded request."""
        return [r.system_prompt for r in self.requests]

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (OpenAI format) and an optional forced choice."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def record(self, request: ScriptedRequest) -> None:
        """Keep `request` in `requests` (thread-safe; the loopback server calls it too)."""
        with self._lock:
            self.requests.append(request)

    def reply(self, request: ScriptedRequest) -> AIMessage | str:
        """The scripted reply to `request` (override in subclasses)."""
        if callable(self.responses):
            return cast("AIMessage | str", self.responses(request))
        with self._lock:
            if self._position >= len(self.responses):
                if self.repeat_last and self.responses:
                    return cast("AIMessage | str", self.responses[-1])
                msg = (
                    f"ScriptedChatModel ran out of responses after {len(self.responses)} "
                    "calls; add replies or set repeat_last=True"
                )
                raise IndexError(msg)
            reply = self.responses[self._position]
            self._position += 1
            return cast("AIMessage | str", reply)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        schemas = list(kwargs.get("tools") or [])
        tools = [t["function"]["name"] for t in schemas]
        request = ScriptedRequest(list(messages), tools, kwargs.get("tool_choice"), schemas)
        self.record(request)
        reply = self.reply(request)
        message = AIMessage(content=reply) if isinstance(reply, str) else reply.model_copy()
        if message.id is None:
            message.id = f"scripted-{next(_counter)}"
        if message.usage_metadata is None:
            message.usage_metadata = _estimate_usage(  # type: ignore[assignment]
                request.text, _text(message) + json.dumps(message.tool_calls, default=str)
            )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _forced_tool(request: ScriptedRequest) -> str | None:
    choice = request.tool_choice
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name") or choice.get("name")
        return str(name) if name else None
    if isinstance(choice, str) and choice not in ("any", "auto", "required", "none"):
        return choice
    return None


JUDGE_TOOL = "JudgeVerdict"
"""The tool name of the model screener's structured output."""
PASS_VERDICT: dict[str, Any] = {"verdict": "pass", "category": "none", "reason": "scripted pass"}
"""The default scripted judge's answer."""


def _is_judge(request: ScriptedRequest) -> bool:
    return _forced_tool(request) == JUDGE_TOOL or JUDGE_TOOL in request.tools


def _classify_choices(request: ScriptedRequest) -> list[str]:
    for tool in request.tool_schemas:
        if tool["function"]["name"] == "Classify":
            described = tool["function"]["parameters"]["properties"]["which"].get("description", "")
            found = re.search(r"Must be among (\[.*\])", described)
            if found:
                return [str(c) for c in ast.literal_eval(found.group(1))]
    return []


class ScriptedOptimizerModel(ScriptedChatModel):
    """An optimizer model that answers langmem's tool schemas from a `rewrite` function.

    `rewrite(current_prompt, input_text)` returns the new prompt, where `current_prompt` is
    the prompt langmem shows between `<current_prompt>` tags and `input_text` everything
    langmem sent (trajectories and feedback). It works for all three kinds: it answers
    `prompt_memory`'s `GeneralResponse`, `metaprompt`'s and `gradient`'s
    `OptimizedPromptOutput`, the gradient reflection tools (`think`, `recommend`) and the
    multi-prompt `Classify` step (`classify(choices, input_text)`, default: every prompt).

    It also answers the model screener's `JudgeVerdict` requests (the optimizer's model is
    the default judge) with `judge(request)`: a dict of `JudgeVerdict` fields, or an
    `AIMessage`/`str` sent as is (to script an answer that does not parse); default: pass.
    Judge requests are recorded in `judge_requests`, not in `requests` (which keeps
    langmem's calls only).

    Args:
        rewrite: The rewrite function (default `append_feedback`: the feedback texts are
            added to the prompt, as a deliberately compliant optimizer would).
        classify: Which prompt names to update, from the choices and the input text.
        judge: The scripted judge (`None`: every candidate passes).
        fail_with: If set, every call raises this exception (to test failure isolation).

    Example:
        ```python
        def judge(request):
            if "cc" in request.text:
                return {"verdict": "hold", "category": "change_recipients", "reason": "adds cc"}
            return {"verdict": "pass", "category": "none", "reason": "style only"}

        optimizer = ScriptedOptimizerModel(judge=judge)
        ```
    """

    rewrite: Callable[[str, str], str] = Field(
        default=lambda current, text: append_feedback(current, text)
    )
    classify: Callable[[list[str], str], list[str]] | None = None
    judge: Callable[[ScriptedRequest], dict[str, Any] | AIMessage | str] | None = None
    fail_with: BaseException | None = None
    judge_requests: list[ScriptedRequest] = Field(default_factory=list)
    """Every judge (model screener) request received, in order."""

    @property
    def _llm_type(self) -> str:
        return "scripted-optimizer-model"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.fail_with is not None:
            raise self.fail_with
        return super()._generate(messages, stop, run_manager, **kwargs)

    def record(self, request: ScriptedRequest) -> None:
        """Keep a judge request in `judge_requests`, any other in `requests`."""
        if not _is_judge(request):
            super().record(request)
            return
        with self._lock:
            self.judge_requests.append(request)

    def reply(self, request: ScriptedRequest) -> AIMessage | str:
        """Answer the tool langmem (or the model screener) asks for."""
        forced = _forced_tool(request)
        names = set(request.tools)
        if _is_judge(request):
            answer = self.judge(request) if self.judge is not None else PASS_VERDICT
            return _tool_call(JUDGE_TOOL, answer) if isinstance(answer, dict) else answer
        text = request.text
        found = _CURRENT_PROMPT.search(text)
        current = found.group(1) if found else ""
        if forced == "Classify" or "Classify" in names:
            choices = _classify_choices(request)
            which = self.classify(choices, text) if self.classify else choices
            return _tool_call("Classify", {"reasoning": "scripted", "which": which})
        if forced == "GeneralResponse" or "GeneralResponse" in names:
            new = self.rewrite(current, text)
            return _tool_call(
                "GeneralResponse",
                {"logic": "scripted", "update_prompt": new != current, "new_prompt": new},
            )
        if forced == "OptimizedPromptOutput" or "OptimizedPromptOutput" in names:
            return _tool_call(
                "OptimizedPromptOutput",
                {"analysis": "scripted", "improved_prompt": self.rewrite(current, text)},
            )
        if forced == "recommend" or "recommend" in names:
            changed = self.rewrite(current, text) != current
            return _tool_call(
                "recommend",
                {
                    "warrants_adjustment": changed,
                    "hypotheses": "scripted hypothesis",
                    "full_recommendations": text if changed else "",
                },
            )
        if "think" in names:
            return _tool_call("think", {"thought": "scripted reflection"})
        return self.rewrite(current, text)


_FEEDBACK_BLOCKS = (
    re.compile(r"<feedback \d+>\n(.*?)\n</feedback \d+>", re.DOTALL),  # prompt_memory
    re.compile(r"<FEEDBACK>\n(.*?)\n</FEEDBACK>", re.DOTALL),  # metaprompt, gradient
)


def feedback_in(text: str) -> list[str]:
    """The feedback texts langmem put in an optimizer request (any kind), in order."""
    found: list[str] = []
    for pattern in _FEEDBACK_BLOCKS:
        found += [block.strip() for block in pattern.findall(text) if block.strip()]
    return list(dict.fromkeys(found))


def _feedback_text(block: str) -> str:
    """The feedback of a block: scored feedback reaches langmem as a dict printout
    (`{'feedback': '...', 'score': 0.5}`); its text is the `feedback` value."""
    if block.startswith("{") and block.endswith("}"):
        try:
            value = ast.literal_eval(block)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return block
        if isinstance(value, dict) and isinstance(value.get("feedback"), str):
            return str(value["feedback"])
    return block


def append_feedback(current: str, text: str) -> str:
    """A compliant `rewrite`: add each feedback text not yet in the prompt as a new line
    (the text of scored feedback, without its score)."""
    for feedback in (_feedback_text(block) for block in feedback_in(text)):
        if feedback not in current:
            current = f"{current}\n{feedback}" if current else feedback
    return current


def _tool_call(name: str, args: dict[str, Any]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"call_{next(_counter)}", "type": "tool_call"}
        ],
    )
