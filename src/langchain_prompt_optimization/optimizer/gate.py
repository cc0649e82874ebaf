"""The evaluation gate: replay recorded runs against a candidate before it may be served.

Each example is a recorded run (a run that got positive feedback, or a reference
trajectory a user added). The gate replays it step by step with the agent's model: the
candidate system prompt, the run's input, and for every tool call the model makes the
result recorded in the example, so no tool ever runs for real. The replayed trajectory is
scored against the recorded one with agentevals' trajectory match and/or a user-supplied
evaluator; the active version is replayed on the same examples, and the candidate passes
only if it scores at least as well.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from agentevals.trajectory.match import create_trajectory_match_evaluator
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)
from langchain_core.runnables.config import set_config_context

from langchain_prompt_optimization.limits import check_nesting
from langchain_prompt_optimization.stores import Example, messages_from_json, messages_to_json
from langchain_prompt_optimization.stores.io import Call

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


__all__ = [
    "MATCH_MODES",
    "EvaluationGate",
    "GateCall",
    "GateResult",
    "reference_example",
    "split_example",
]

MatchMode = Literal["strict", "unordered", "subset", "superset"]
ToolArgsMode = Literal["exact", "ignore", "subset", "superset"]
MATCH_MODES: tuple[str, ...] = ("strict", "unordered", "subset", "superset")
_TOOL_ARGS_MODES = ("exact", "ignore", "subset", "superset")
NO_RECORDED_RESULT = "[no recorded result for this tool call: the evaluation gate never runs tools]"


@dataclass(frozen=True, slots=True)
class EvaluationGate:
    """Replay recorded runs against a candidate; activate it only if it scores >= active.

    Attributes:
        model: The agent's chat model, used for the replays. `None`: the model the agent
            itself calls (seen by the middleware at its first model call; workers need it
            explicitly).
        tools: The agent's tools (or their schemas), bound for the replays so the model can
            call them; they are never run. `None`: the tools the agent itself offers.
        trajectory_match: agentevals trajectory match mode (`strict`, `unordered`,
            `subset`, `superset`); `None` to score with `evaluator` only. The default
            `superset` asks the replay to make at least the recorded tool calls.
        tool_args_match: How tool call arguments are compared (`exact`, `ignore`,
            `subset`, `superset`).
        evaluator: An agentevals-style evaluator, called as
            `evaluator(outputs=replayed_messages, reference_outputs=recorded_messages)`,
            returning a bool, a number, or a dict with a `score` (sync or async). When set
            together with `trajectory_match`, an example's score is the mean of both.
        max_examples: Examples replayed per evaluation (the newest), and the most kept
            per namespace.
        min_examples: Fewer examples than this and a candidate is flagged for review
            (`pending`) instead of activated; `0` lets candidates through while there is
            nothing to replay.
        positive_score: Runs whose feedback score is at least this become examples.
        best_of: Candidates generated per optimization; the best-scoring one is kept.
        max_steps: Most model calls in one replay.
    """

    model: BaseChatModel | None = None
    tools: Sequence[Any] | None = None
    trajectory_match: MatchMode | None = "superset"
    tool_args_match: ToolArgsMode = "exact"
    evaluator: Callable[..., Any] | None = None
    max_examples: int = 20
    min_examples: int = 0
    positive_score: float = 1.0
    best_of: int = 1
    max_steps: int = 8

    def __post_init__(self) -> None:
        if self.model is not None and not isinstance(self.model, BaseChatModel):
            msg = f"EvaluationGate.model must be a BaseChatModel; got {type(self.model).__name__}"
            raise TypeError(msg)
        if self.trajectory_match is not None and self.trajectory_match not in MATCH_MODES:
            msg = (
                f"EvaluationGate.trajectory_match must be one of {', '.join(MATCH_MODES)} or "
                f"None; got {self.trajectory_match!r}"
            )
            raise ValueError(msg)
        if self.tool_args_match not in _TOOL_ARGS_MODES:
            msg = (
                f"EvaluationGate.tool_args_match must be one of {', '.join(_TOOL_ARGS_MODES)}; "
                f"got {self.tool_args_match!r}"
            )
            raise ValueError(msg)
        if self.trajectory_match is None and self.evaluator is None:
            msg = "EvaluationGate needs trajectory_match, an evaluator, or both"
            raise ValueError(msg)
        if self.evaluator is not None and not callable(self.evaluator):
            msg = "EvaluationGate.evaluator must be callable"
            raise TypeError(msg)
        for name in ("max_examples", "best_of", "max_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"EvaluationGate.{name} must be a positive int; got {value!r}"
                raise ValueError(msg)
        if isinstance(self.min_examples, bool) or self.min_examples < 0:
            msg = f"EvaluationGate.min_examples must be >= 0; got {self.min_examples!r}"
            raise ValueError(msg)

    def describe(self) -> str:
        """How examples are scored, for the version record."""
        parts = []
        if self.trajectory_match:
            parts.append(f"trajectory {self.trajectory_match} match ({self.tool_args_match} args)")
        if self.evaluator is not None:
            name = getattr(self.evaluator, "__name__", type(self.evaluator).__name__)
            parts.append(f"evaluator {name}")
        return " + ".join(parts)


@dataclass(frozen=True, slots=True)
class GateResult:
    """Scores of each candidate text and of the active text on the same examples.

    Attributes:
        active: Mean score of the active system prompt.
        candidates: Mean score of each candidate system prompt, in order.
        examples: How many examples were replayed.
    """

    active: float
    candidates: tuple[float, ...]
    examples: int


def split_example(messages: Sequence[BaseMessage]) -> tuple[list[BaseMessage], list[BaseMessage]]:
    """A recorded run as (input, recorded output): split after its last human message.

    System messages are dropped (the replay supplies the prompt under test).
    """
    kept = [m for m in messages if not isinstance(m, SystemMessage)]
    last = max((i for i, m in enumerate(kept) if isinstance(m, HumanMessage)), default=-1)
    if last < 0:
        msg = "an example needs a human message to replay"
        raise ValueError(msg)
    return kept[: last + 1], kept[last + 1 :]


def reference_example(messages: Any, *, note: str = "") -> Example:
    """A user-supplied reference trajectory as a gate example.

    Args:
        messages: The run: `BaseMessage`s, OpenAI-style dicts, or an agent result with a
            `messages` key; a human message, then what the agent should do (AI messages
            with their tool calls, the tool results, the answer).
        note: Free text stored with it.

    Raises:
        TypeError: If `messages` is not a list of messages.
        ValueError: If it has no human message, or nothing after the last one, or is nested
            deeper than `MAX_NESTING` levels or larger than `MAX_EXAMPLE_SIZE`.
    """
    check_nesting(messages, "reference trajectory")
    if isinstance(messages, dict) and "messages" in messages:
        messages = messages["messages"]
    if not isinstance(messages, list | tuple):
        msg = f"a reference trajectory is a list of messages; got {type(messages).__name__}"
        raise TypeError(msg)
    converted = convert_to_messages(list(messages))
    _, recorded = split_example(converted)
    if not recorded:
        msg = "a reference trajectory needs the agent's messages after the last human message"
        raise ValueError(msg)
    return Example.new(messages_to_json(converted), source="reference", note=note)


class _RecordedTools:
    """Tool results of a recorded run, handed out to matching replayed calls."""

    def __init__(self, recorded: Sequence[BaseMessage]) -> None:
        calls: dict[str, tuple[str, str]] = {}
        for message in recorded:
            if isinstance(message, AIMessage):
                for call in message.tool_calls:
                    calls[call.get("id") or ""] = (call["name"], _canon(call.get("args", {})))
        self._results: list[tuple[str, str, Any]] = []
        for message in recorded:
            if isinstance(message, ToolMessage) and message.tool_call_id in calls:
                name, args = calls[message.tool_call_id]
                self._results.append((name, args, message.content))
        self._used: set[int] = set()

    def result(self, name: str, args: dict[str, Any]) -> Any:
        canon = _canon(args)
        for exact in (True, False):
            for i, (rec_name, rec_args, content) in enumerate(self._results):
                if i in self._used or rec_name != name or (exact and rec_args != canon):
                    continue
                self._used.add(i)
                return content
        return NO_RECORDED_RESULT


def _canon(args: Any) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def _score(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("score")
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    msg = (
        f"an evaluator returned {value!r}: expected a bool, a finite number or a dict with 'score'"
    )
    raise TypeError(msg)


def _run_coroutine(awaitable: Any) -> Any:
    """Run an async evaluator's result from sync code (in a thread if a loop is running);
    anything else is returned as it is."""
    if not inspect.isawaitable(awaitable):
        return awaitable

    async def wait() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    box: list[Any] = []
    context = contextvars.copy_context()  # the usage meter counts the evaluator's model calls

    def target() -> None:
        box.append(context.run(asyncio.run, wait()))

    thread = threading.Thread(target=target, name="gate-evaluator")
    thread.start()
    thread.join()
    return box[0]


def _internal_config() -> Any:
    return {"callbacks": [], "tags": ["prompt_optimization", "evaluation_gate"]}


@dataclass(frozen=True, slots=True)
class GateCall(Call[GateResult]):
    """A request to replay examples with the active and candidate system prompts.

    Sync `run` / async `arun` differ only in the model and evaluator calls.
    """

    gate: EvaluationGate
    model: BaseChatModel
    tools: Sequence[Any]
    active: str
    candidates: tuple[str, ...]
    examples: tuple[Example, ...]

    def _bound(self) -> Any:
        tools = [tool for tool in self.tools if _replayable(tool)]
        return self.model.bind_tools(tools) if tools else self.model

    def _prepared(self) -> list[tuple[list[BaseMessage], list[BaseMessage]]]:
        return [split_example(messages_from_json(e.messages)) for e in self.examples]

    def run(self) -> GateResult:
        """Replay and judge with blocking calls."""
        model = self._bound()
        prepared = self._prepared()
        replays = []
        with set_config_context(_internal_config()) as ctx:
            for text in (self.active, *self.candidates):
                replays.append([ctx.run(self._replay, model, text, *pair) for pair in prepared])
        judged = [
            [self._judge(pair, replayed) for pair, replayed in zip(prepared, row, strict=True)]
            for row in replays
        ]
        return self._result(prepared, replays, [[_run_coroutine(j) for j in row] for row in judged])

    async def arun(self) -> GateResult:
        """Replay and judge with async calls."""
        model = self._bound()
        prepared = self._prepared()
        replays = []
        with set_config_context(_internal_config()) as ctx:
            for text in (self.active, *self.candidates):
                row = []
                for inputs, recorded in prepared:
                    task = asyncio.create_task(
                        self._areplay(model, text, inputs, recorded), context=ctx
                    )
                    row.append(await task)
                replays.append(row)
        judged = []
        for row in replays:
            judged.append(
                [
                    await j if inspect.isawaitable(j) else j
                    for j in (
                        self._judge(pair, replayed)
                        for pair, replayed in zip(prepared, row, strict=True)
                    )
                ]
            )
        return self._result(prepared, replays, judged)

    def _judge(self, pair: tuple[list[BaseMessage], list[BaseMessage]], replayed: Any) -> Any:
        """The user evaluator's verdict on one replay (maybe awaitable), `None` without one."""
        if self.gate.evaluator is None:
            return None
        inputs, recorded = pair
        return self.gate.evaluator(
            outputs=inputs[-1:] + replayed, reference_outputs=inputs[-1:] + recorded
        )

    def _result(
        self,
        prepared: list[tuple[list[BaseMessage], list[BaseMessage]]],
        replays: list[list[list[BaseMessage]]],
        judged: list[list[Any]],
    ) -> GateResult:
        """Score every replay: trajectory match (pure computation) and/or the evaluator's
        verdict, averaged per example, then per text."""
        match = (
            create_trajectory_match_evaluator(
                trajectory_match_mode=self.gate.trajectory_match,
                tool_args_match_mode=self.gate.tool_args_match,
            )
            if self.gate.trajectory_match
            else None
        )
        rows = []
        for row, verdicts in zip(replays, judged, strict=True):
            scores = []
            for (inputs, recorded), replayed, verdict in zip(prepared, row, verdicts, strict=True):
                parts = []
                if match is not None:
                    reference = inputs[-1:] + recorded
                    parts.append(_score(match(outputs=inputs[-1:] + replayed,
                                              reference_outputs=reference)))  # fmt: skip
                if self.gate.evaluator is not None:
                    parts.append(_score(verdict))
                scores.append(sum(parts) / len(parts))
            rows.append(tuple(scores))
        means = [sum(row) / len(row) if row else 0.0 for row in rows]
        return GateResult(means[0], tuple(means[1:]), len(prepared))

    def _replay(
        self, model: Any, prompt: str, inputs: list[BaseMessage], recorded: list[BaseMessage]
    ) -> list[BaseMessage]:
        tools = _RecordedTools(recorded)
        produced: list[BaseMessage] = []
        for _ in range(self.gate.max_steps):
            reply = model.invoke([SystemMessage(prompt), *inputs, *produced])
            produced.append(reply)
            if not _answer_tools(reply, tools, produced):
                break
        return produced

    async def _areplay(
        self, model: Any, prompt: str, inputs: list[BaseMessage], recorded: list[BaseMessage]
    ) -> list[BaseMessage]:
        tools = _RecordedTools(recorded)
        produced: list[BaseMessage] = []
        for _ in range(self.gate.max_steps):
            reply = await model.ainvoke([SystemMessage(prompt), *inputs, *produced])
            produced.append(reply)
            if not _answer_tools(reply, tools, produced):
                break
        return produced


def _replayable(tool: Any) -> bool:
    """Whether a tool can be offered in a replay: tools the agent runs itself (their calls
    get the recorded results). Provider-hosted tools (a dict like `{"type": "web_search"}`)
    would run at the provider, so they are left out."""
    if not isinstance(tool, dict):
        return True
    return "function" in tool or (
        "name" in tool and ("parameters" in tool or "input_schema" in tool)
    )


def _answer_tools(reply: Any, tools: _RecordedTools, produced: list[BaseMessage]) -> bool:
    """Append the recorded result of each tool call in `reply`; `False` when it made none."""
    calls = getattr(reply, "tool_calls", None) or []
    for call in calls:
        produced.append(
            ToolMessage(
                content=tools.result(call["name"], call.get("args", {})),
                tool_call_id=call.get("id") or "",
                name=call["name"],
            )
        )
    return bool(calls)
