"""Screening: feedback the firewall quarantines, and langmem's results as checked candidates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.optimizer.checks import check_candidate, undo_langmem_escaping
from langchain_prompt_optimization.optimizer.payload import clip, recent_messages
from langchain_prompt_optimization.stores import NewVersion

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence

    from langchain_core.messages import BaseMessage

    from langchain_prompt_optimization.optimizer.checks import CandidatePolicy
    from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
    from langchain_prompt_optimization.optimizer.learned_section import LearnedSection
    from langchain_prompt_optimization.stores import FeedbackItem, TrajectoryRecord

__all__ = [
    "checked_candidates",
    "feedback_text",
    "screen_inputs",
    "tool_names",
    "untrusted_text",
]


def screen_inputs(
    firewall: FeedbackFirewall,
    batch: Sequence[FeedbackItem],
    trajectories: dict[str, TrajectoryRecord],
    known: str,
    *,
    budget: int,
    tools: Collection[str] = (),
) -> list[tuple[FeedbackItem, str]]:
    """Feedback items the firewall flags (in their text, read alone and together with the
    batch's other items, or in their run's human/tool messages).

    What is screened is what would reach the optimizer: the feedback cut to `budget`
    characters and the run's messages within `budget` (as `recent_messages` selects them), so
    screening costs at most about `budget` characters per item however long the run is.
    `tools` are the agent's tool names (see `FeedbackFirewall.screen_feedback`).
    """
    untrusted = [fb for fb in batch if not fb.trusted]
    texts = [clip(feedback_text(fb), budget) for fb in untrusted]
    per_item = firewall.screen_batch(texts, known_text=known, tools=tools)
    caught: list[tuple[FeedbackItem, str]] = []
    for fb, findings in zip(untrusted, per_item, strict=True):
        run = trajectories.get(fb.trajectory_id)
        if not findings and run is not None:
            text = untrusted_text(recent_messages(run, budget))
            findings = firewall.screen_trajectory(text, tools=tools)
        if findings:
            caught.append((fb, firewall.reason(findings, verdict="quarantined")))
    return caught


def tool_names(
    trajectories: Iterable[TrajectoryRecord], agent_tools: Sequence[Any] = ()
) -> frozenset[str]:
    """The agent's tool names: those its model calls saw (`agent_tools`: tools or OpenAI-style
    dicts) and those its recorded runs called or got results from."""
    names: set[str] = set()
    for tool in agent_tools:
        name = getattr(tool, "name", None)
        if name is None and isinstance(tool, dict):
            name = tool.get("name") or (tool.get("function") or {}).get("name")
        if isinstance(name, str):
            names.add(name)
    for run in trajectories:
        for message in run.messages:
            data = message.get("data", {}) if isinstance(message, dict) else {}
            if message.get("type") == "tool" and isinstance(data.get("name"), str):
                names.add(data["name"])
            for call in data.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("name"), str):
                    names.add(call["name"])
    return frozenset(name.casefold() for name in names if name)


def feedback_text(fb: FeedbackItem) -> str:
    """A feedback item's text as written (a dict's keys and values, one per line; never
    JSON-escaped, so non-Latin text is screened as such)."""
    if isinstance(fb.feedback, str):
        return fb.feedback
    return "\n".join(f"{key}: {value}" for key, value in fb.feedback.items())


def untrusted_text(messages: Sequence[BaseMessage]) -> str:
    """What users and tools wrote in a run (the agent's own messages are not screened)."""
    parts = []
    for message in messages:
        if message.type in ("human", "tool"):
            parts.append(
                message.content if isinstance(message.content, str) else str(message.content)
            )
    return "\n".join(parts)


def checked_candidates(
    result: Sequence[dict[str, Any]],
    current: dict[str, str],
    policy: CandidatePolicy,
    feedback: Sequence[str],
    *,
    sections: Mapping[str, LearnedSection] | None = None,
) -> list[NewVersion]:
    """langmem's result as candidates, checked (`sections`: prompts in learned-section
    mode, whose answer is their section's content, spliced under their base)."""
    out: list[NewVersion] = []
    for entry in result:
        name = entry.get("name")
        if name not in current:
            continue
        raw = entry.get("prompt")
        answer = raw if isinstance(raw, str) else ""
        if sections and name in sections:
            text = sections[name].candidate(answer, current[name])
        else:
            text = undo_langmem_escaping(answer, current[name])
        if text == current[name]:
            continue
        reason = check_candidate(text, current[name], policy=policy, feedback=feedback)
        if reason is None:
            out.append(NewVersion(name, text, "accepted", "optimized from feedback"))
        else:
            out.append(NewVersion(name, text, "rejected", reason))
    return out
