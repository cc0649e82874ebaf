"""Trajectory assertions over agentevals' trajectory match, with readable failures."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from agentevals.trajectory.match import (
    create_async_trajectory_match_evaluator,
    create_trajectory_match_evaluator,
)
from langchain_core.messages import BaseMessage, convert_to_messages

__all__ = ["aassert_trajectory_match", "assert_trajectory_match", "format_trajectory"]

MatchMode = Literal["strict", "unordered", "subset", "superset"]
ToolArgsMode = Literal["exact", "ignore", "subset", "superset"]


def _messages(trajectory: Any) -> list[BaseMessage]:
    if isinstance(trajectory, Mapping):
        if "messages" not in trajectory:
            msg = "a trajectory dict must be an agent result with a 'messages' key"
            raise TypeError(msg)
        trajectory = trajectory["messages"]
    if not isinstance(trajectory, Sequence) or isinstance(trajectory, str | bytes):
        msg = (
            "a trajectory is a list of messages (BaseMessage or dicts) or an agent result; "
            f"got {type(trajectory).__name__}"
        )
        raise TypeError(msg)
    return list(convert_to_messages(list(trajectory)))


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _step(message: BaseMessage, with_args: bool) -> str:
    role = message.type
    calls = getattr(message, "tool_calls", None) or []
    if role == "ai" and calls:
        rendered = ", ".join(
            f"{c['name']}({_short(c.get('args', {}), 50)})" if with_args else c["name"]
            for c in calls
        )
        return f"ai → {rendered}"
    if role == "tool":
        return f"tool[{getattr(message, 'name', None) or '?'}]: {_short(message.content, 40)}"
    return f"{role}: {_short(message.content)}"


def format_trajectory(trajectory: Any, *, tool_args: bool = True) -> list[str]:
    """One line per step: role, tool calls with their args, or the text (shortened)."""
    return [_step(m, tool_args) for m in _messages(trajectory)]


def _signature(message: BaseMessage, with_args: bool) -> tuple[Any, ...]:
    calls = getattr(message, "tool_calls", None) or []
    names = tuple(
        (c["name"], json.dumps(c.get("args", {}), sort_keys=True) if with_args else None)
        for c in calls
    )
    return (message.type, names)


def _explain(
    actual: list[BaseMessage], reference: list[BaseMessage], mode: str, with_args: bool
) -> str:
    left = [_step(m, with_args) for m in actual]
    right = [_step(m, with_args) for m in reference]
    width = max([len("actual"), *map(len, left)], default=6)
    lines = [
        f"trajectories do not match (mode={mode!r}, tool args "
        f"{'compared' if with_args else 'ignored'}):",
        f"     {'actual'.ljust(width)}   reference",
    ]
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else "—"
        b = right[i] if i < len(right) else "—"
        same = (
            i < len(actual)
            and i < len(reference)
            and _signature(actual[i], with_args) == _signature(reference[i], with_args)
        )
        mark = " " if same else "✗"
        lines.append(f"{mark} {i:>2} {a.ljust(width)} | {b}")
    return "\n".join(lines)


def _evaluator_args(
    mode: MatchMode, tool_args: ToolArgsMode, overrides: dict[str, Any] | None
) -> dict[str, Any]:
    if mode not in ("strict", "unordered", "subset", "superset"):
        msg = f"mode must be strict, unordered, subset or superset; got {mode!r}"
        raise ValueError(msg)
    return {
        "trajectory_match_mode": mode,
        "tool_args_match_mode": tool_args,
        "tool_args_match_overrides": overrides,
    }


def assert_trajectory_match(
    actual: Any,
    reference: Any,
    *,
    mode: MatchMode = "strict",
    tool_args: ToolArgsMode = "exact",
    tool_args_overrides: dict[str, Any] | None = None,
) -> None:
    """Assert an agent's trajectory matches a reference, with agentevals' trajectory match.

    Args:
        actual: The agent result (a dict with `messages`) or a list of messages / dicts.
        reference: The expected trajectory, in the same forms.
        mode: agentevals' `trajectory_match_mode`: `"strict"` (same steps in order),
            `"unordered"`, `"subset"` (actual's tool calls within the reference's) or
            `"superset"`.
        tool_args: agentevals' `tool_args_match_mode`: `"exact"` or `"ignore"`, ...
        tool_args_overrides: Per-tool arg matchers (agentevals `tool_args_match_overrides`).

    Raises:
        AssertionError: On a mismatch, showing both trajectories aligned step by step (tool
            names and args), mismatching steps marked `✗`.

    Example:
        ```python
        assert_trajectory_match(result, [
            HumanMessage("Email Bob."),
            AIMessage("", tool_calls=[{"name": "send_email", "args": {"to": "bob"}, "id": "1"}]),
            ToolMessage("sent", tool_call_id="1"),
            AIMessage("Sent."),
        ], mode="strict", tool_args="ignore")
        ```
    """
    actual_messages, reference_messages = _messages(actual), _messages(reference)
    evaluator = create_trajectory_match_evaluator(
        **_evaluator_args(mode, tool_args, tool_args_overrides)
    )
    result = evaluator(outputs=actual_messages, reference_outputs=reference_messages)
    if not result["score"]:
        explanation = _explain(actual_messages, reference_messages, mode, tool_args != "ignore")
        raise AssertionError(explanation)


async def aassert_trajectory_match(
    actual: Any,
    reference: Any,
    *,
    mode: MatchMode = "strict",
    tool_args: ToolArgsMode = "exact",
    tool_args_overrides: dict[str, Any] | None = None,
) -> None:
    """Async twin of `assert_trajectory_match` (agentevals' async evaluator)."""
    actual_messages, reference_messages = _messages(actual), _messages(reference)
    evaluator = create_async_trajectory_match_evaluator(
        **_evaluator_args(mode, tool_args, tool_args_overrides)
    )
    result = await evaluator(outputs=actual_messages, reference_outputs=reference_messages)
    if not result["score"]:
        explanation = _explain(actual_messages, reference_messages, mode, tool_args != "ignore")
        raise AssertionError(explanation)
