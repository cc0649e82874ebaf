"""The optimizer's input: runs and feedback clipped, quoted and redacted for langmem."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.optimizer.firewall import quote_untrusted
from langchain_prompt_optimization.optimizer.privacy import map_text, redact_pii
from langchain_prompt_optimization.stores import messages_from_json, messages_to_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain_prompt_optimization.stores import FeedbackItem, PromptSpec, TrajectoryRecord

__all__ = [
    "clip",
    "feedback_for_langmem",
    "prompt_payload",
    "recent_messages",
    "untrusted_recent_messages",
    "untrusted_run",
]

CLIP_MARGIN = 256
"""Characters kept beyond the budget when a run is clipped before redaction, so that a value
cut at the edge (an address, a number) is still seen whole and redacted, then cut."""


def feedback_for_langmem(item: FeedbackItem, budget: int, private: bool) -> str | dict[str, Any]:
    """The item's feedback as langmem is given it: clipped, tags neutralized, and personal
    data redacted when the lineage is shared; an evaluator's verdict carries its `source`
    (`evaluator:<key>`) next to its score."""
    clean = _cleaner(private)
    feedback: str | dict[str, Any] = map_text(
        clip(item.feedback, budget)
        if isinstance(item.feedback, str)
        else {k: clip(v, budget) if isinstance(v, str) else v for k, v in item.feedback.items()},
        clean,
        messages=False,
    )
    if item.score is None:
        return feedback
    # An evaluator's verdict says so, so the optimizer weighs it as a judge's, not a person's.
    source = {"source": item.source} if item.from_evaluator else {}
    if isinstance(feedback, dict):
        return {**feedback, "score": item.score, **source}
    return {"feedback": feedback, "score": item.score, **source}


def clip(text: str, budget: int) -> str:
    """`text` cut to its last `budget` characters, saying how much was cut."""
    if len(text) <= budget:
        return text
    return f"[... {len(text) - budget} characters cut ...]\n{text[-budget:]}"


def recent_messages(trajectory: TrajectoryRecord | None, budget: int) -> list[Any]:
    """The trajectory's most recent messages within `budget` characters of content.

    Older messages are dropped first; a single message longer than what is left has its
    content cut to its tail.
    """
    if trajectory is None:
        return []
    kept: list[Any] = []
    left = budget
    for message in reversed(messages_from_json(trajectory.messages)):
        if left <= 0:
            break
        content = message.content if isinstance(message.content, str) else str(message.content)
        if len(content) > left:
            content = clip(content, left)
            message = message.model_copy(update={"content": content})
        kept.append(message)
        left -= len(content)
    return list(reversed(kept))


def prompt_payload(spec: PromptSpec, current: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": spec.name, "prompt": current}
    if spec.update_instructions:
        payload["update_instructions"] = spec.update_instructions
    if spec.when_to_update:
        payload["when_to_update"] = spec.when_to_update
    return payload


def untrusted_recent_messages(
    trajectory: TrajectoryRecord | None, budget: int, private: bool
) -> list[Any]:
    """The run's most recent messages within `budget`, as the optimizer may see them.

    The run is clipped first (with `CLIP_MARGIN` to spare), then quoted and redacted, then
    cut to `budget`: redaction and quoting read at most about `budget` characters of a
    message however long the run is.
    """
    if trajectory is None:
        return []
    near = recent_messages(trajectory, budget + CLIP_MARGIN)
    clipped = replace(trajectory, messages=messages_to_json(near))
    return recent_messages(untrusted_run(clipped, private), budget)


def untrusted_run(trajectory: TrajectoryRecord | None, private: bool) -> TrajectoryRecord | None:
    """A run as the optimizer may see it: tags neutralized, personal data redacted if shared."""
    if trajectory is None:
        return None
    return replace(trajectory, messages=map_text(trajectory.messages, _cleaner(private)))


def _cleaner(private: bool) -> Callable[[str], str]:
    if private:
        return lambda text: quote_untrusted(redact_pii(text))
    return quote_untrusted
