"""Selection: the candidate set to commit, scored by the evaluation gate over best-of-k options."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.optimizer.gate import GateCall
from langchain_prompt_optimization.optimizer.privacy import redact_json
from langchain_prompt_optimization.stores import Example
from langchain_prompt_optimization.stores.io import call

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_prompt_optimization.optimizer.gate import EvaluationGate, GateResult
    from langchain_prompt_optimization.optimizer.run import RunSettings, _Loaded, _Run
    from langchain_prompt_optimization.stores import (
        FeedbackItem,
        Job,
        NewVersion,
        TrajectoryRecord,
    )

__all__ = ["Selection", "gated_candidates", "positive_examples", "select_candidates"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Selection:
    """The candidates to commit and the gate's example changes."""

    candidates: list[NewVersion]
    new_examples: list[Example]
    drop_examples: list[str]


def select_candidates(
    run: _Run,
    loaded: _Loaded,
    batch: Sequence[FeedbackItem],
    options: list[list[NewVersion]],
    served: dict[str, str],
    private: bool,
) -> Job[Selection]:
    """Phase 8: with an evaluation gate, pick the best option on the examples (the stored
    ones plus this batch's well-scored runs, within `max_examples`)."""
    gate = run.settings.gate
    if gate is None:
        return Selection(options[0], [], [])
    stored = yield from run.layout.examples(run.owner)
    new_examples = positive_examples(gate, batch, loaded.trajectories, private)
    fresh = {e.id for e in new_examples}
    examples = [*new_examples, *(e for e in stored if e.id not in fresh)]
    kept = {e.id for e in examples[: gate.max_examples]}
    system = loaded.config.system_prompt

    def keep_lease(replay: GateCall) -> Job[GateResult]:
        return run.model_call(replay, "gate")

    candidates = yield from gated_candidates(
        gate,
        run.settings,
        options,
        served.get(system),
        system,
        examples[: gate.max_examples],
        keep_lease=keep_lease,
    )
    return Selection(
        candidates,
        [e for e in new_examples if e.id in kept],
        [e.id for e in stored if e.id not in kept and e.id not in fresh],
    )


def positive_examples(
    gate: EvaluationGate,
    batch: Sequence[FeedbackItem],
    trajectories: dict[str, TrajectoryRecord],
    private: bool,
) -> list[Example]:
    """Runs whose feedback score reaches `gate.positive_score`, as regression examples."""
    out: dict[str, Example] = {}
    for fb in batch:
        run = trajectories.get(fb.trajectory_id)
        if run is None or fb.score is None or fb.score < gate.positive_score:
            continue
        messages = redact_json(run.messages) if private else run.messages
        if any(m.get("type") == "human" for m in messages):
            out[run.id] = Example.new(
                messages, source="feedback", trajectory_id=run.id, note=f"feedback {fb.id}"
            )
    return list(out.values())


def gated_candidates(
    gate: EvaluationGate,
    settings: RunSettings,
    options: list[list[NewVersion]],
    active_text: str | None,
    system: str,
    examples: list[Example],
    *,
    keep_lease: Callable[[GateCall], Job[GateResult]] | None = None,
) -> Job[list[NewVersion]]:
    """The candidate set to commit: the best-scoring of `options` on the examples, its
    system prompt rejected if it scores below the active one (scores stored on it).
    `keep_lease` runs the replay as a model call of the optimization (its lease renewed,
    its usage metered)."""
    texts = [_system_text(option, system) for option in options]
    if active_text is None or not any(texts):
        return options[0]
    method = gate.describe()
    if len(examples) < gate.min_examples:
        note = f"{len(examples)} example(s), min_examples={gate.min_examples}"
        reason = f"flagged by the evaluation gate: {note}"
        scores = {"examples": len(examples), "method": method}
        return _with_system(options[0], system, "pending", reason, scores, flagged=reason)
    if not examples:
        scores = {"examples": 0, "method": method, "note": "no examples yet"}
        option = options[0]
        return _with_system(option, system, "accepted", None, scores) if texts[0] else option
    agent = (gate.model, gate.tools)
    if gate.model is None and settings.replay_agent is not None:
        seen = settings.replay_agent()
        if seen is not None:
            agent = (seen[0], gate.tools if gate.tools is not None else seen[1])
    unique = tuple(dict.fromkeys(text for text in texts if text))
    try:
        if agent[0] is None:
            msg = "no model to replay with: pass EvaluationGate(model=...) or run the agent first"
            raise ValueError(msg)
        replay = GateCall(
            gate, agent[0], tuple(agent[1] or ()), active_text, unique, tuple(examples)
        )
        result = yield from (call(replay) if keep_lease is None else keep_lease(replay))
    except Exception as exc:
        reason = f"flagged: the evaluation gate failed ({type(exc).__name__}: {exc})"
        logger.warning("evaluation gate failed: %s", reason)
        return _with_system(options[0], system, "pending", reason, None, flagged=reason)
    by_text = dict(zip(unique, result.candidates, strict=True))
    ranked = [by_text[text] if text else None for text in texts]
    # Only samples with a system candidate compete (one the checks refused cannot win).
    best = max(
        (i for i, score in enumerate(ranked) if score is not None),
        key=lambda i: (ranked[i], -i),
    )
    score = by_text[texts[best] or ""]
    verdict: dict[str, Any] = {
        "candidate": score,
        "active": result.active,
        "examples": result.examples,
        "method": method,
    }
    if len(options) > 1:
        verdict["best_of"] = ranked
    if not score + 1e-9 >= result.active:
        reason = (
            f"evaluation gate: candidate scored {score:.2f} < active {result.active:.2f} "
            f"on {result.examples} example(s)"
        )
        return _with_system(options[best], system, "rejected", reason, verdict)
    return _with_system(options[best], system, "accepted", None, verdict)


def _system_text(option: list[NewVersion], system: str) -> str | None:
    for cand in option:
        if cand.prompt == system and cand.outcome == "accepted":
            return cand.text
    return None


def _with_system(
    option: list[NewVersion],
    system: str,
    outcome: str,
    reason: str | None,
    scores: dict[str, Any] | None,
    *,
    flagged: str | None = None,
) -> list[NewVersion]:
    out = []
    for cand in option:
        if cand.prompt == system and cand.outcome == "accepted":
            cand = replace(
                cand, outcome=outcome, reason=reason or cand.reason, scores=scores, flagged=flagged
            )
        out.append(cand)
    return out
