"""Online monitoring: feedback scores per prompt version, and the auto-rollback rule."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.stores.scores import PromptScores

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_prompt_optimization.stores import FeedbackItem, PromptVersion

__all__ = [
    "DEFAULT_EVALUATOR_WEIGHT",
    "Monitor",
    "PromptScores",
    "Regression",
    "VersionScores",
    "find_regression",
    "score_deltas",
]

DEFAULT_EVALUATOR_WEIGHT = 0.5
"""`Monitor.evaluator_weight` when not given: an evaluator's score counts half a person's."""

logger = logging.getLogger(__name__)

VersionScores = dict[int, tuple[int, float]]
"""`{version: (scored runs, sum of scores)}` of one prompt, one kind of source."""


@dataclass(frozen=True, slots=True)
class Monitor:
    """Online monitoring and auto-rollback policy.

    Scores of consumed feedback are added up per prompt version, people's and evaluators'
    apart (`PromptRegistry.scores` shows both). When the active version of a prompt was
    produced by the optimizer, has at least `min_runs` scored runs, and its mean score is
    below its parent's mean by more than `margin` (the parent needs at least one scored
    run), the lineage is rolled back to the parent (a new version is appended) and paused:
    new candidates wait as pending until a reviewer approves, rolls back or resumes it.

    The mean is weighted: a person's score counts 1, an evaluator's `evaluator_weight`
    (`mean = (sum_people + w * sum_evaluators) / (n_people + w * n_evaluators)`); with a
    weight of 0 evaluator scores are only shown, never judged. Scored runs count both
    kinds (evaluators' only with a weight above 0).

    Attributes:
        min_runs: Scored runs the new version needs before it is judged (k).
        margin: How far below its parent's mean a version's mean must fall.
        enabled: `False` keeps counting scores but never rolls back.
        evaluator_weight: Weight of an evaluator's score against a person's 1 (a finite
            number `>= 0`; default 0.5).

    Raises:
        ValueError: If `min_runs` is not a positive int, `margin` or `evaluator_weight` not
            a finite number `>= 0`, or `enabled` not a bool.

    Example:
        ```python
        PromptOptimizationMiddleware(monitor=Monitor(min_runs=10, margin=0.2))
        ```
    """

    min_runs: int = 5
    margin: float = 0.1
    enabled: bool = True
    evaluator_weight: float = DEFAULT_EVALUATOR_WEIGHT

    def __post_init__(self) -> None:
        if isinstance(self.min_runs, bool) or not isinstance(self.min_runs, int):
            msg = f"Monitor.min_runs must be a positive int; got {self.min_runs!r}"
            raise ValueError(msg)
        if self.min_runs < 1:
            msg = f"Monitor.min_runs must be a positive int; got {self.min_runs!r}"
            raise ValueError(msg)
        _check_non_negative("Monitor.margin", self.margin)
        _check_non_negative("Monitor.evaluator_weight", self.evaluator_weight)
        if not isinstance(self.enabled, bool):
            msg = f"Monitor.enabled must be a bool; got {self.enabled!r}"
            raise ValueError(msg)

    def to_json(self) -> dict[str, Any]:
        """JSON form, as recorded in the prompt configuration (for workers)."""
        return {
            "min_runs": self.min_runs,
            "margin": float(self.margin),
            "enabled": self.enabled,
            "evaluator_weight": float(self.evaluator_weight),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Monitor:
        """Inverse of `to_json`; `None` (not recorded) or an unreadable record gives the
        default policy."""
        if not data:
            return cls()
        try:
            return cls(
                min_runs=int(data.get("min_runs", 5)),
                margin=float(data.get("margin", 0.1)),
                enabled=bool(data.get("enabled", True)),
                evaluator_weight=float(data.get("evaluator_weight", DEFAULT_EVALUATOR_WEIGHT)),
            )
        except (TypeError, ValueError):
            logger.warning("unreadable monitor config %r; using the default", data)
            return cls()


def _check_non_negative(name: str, value: object) -> None:
    """Raise `ValueError` unless `value` is a finite int or float `>= 0` (not a bool)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        msg = f"{name} must be a finite number >= 0; got {value!r}"
        raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class Regression:
    """A prompt whose active version scores worse than its parent."""

    prompt: str
    version: int
    parent: int
    mean: float
    runs: int
    parent_mean: float
    parent_runs: int
    margin: float

    @property
    def reason(self) -> str:
        """Why the lineage is rolled back (stored on the new version and as `paused`)."""
        return (
            f"auto-rollback: v{self.version} mean {self.mean:.2f} over {self.runs} scored runs "
            f"is below parent v{self.parent} mean {self.parent_mean:.2f} by more than margin "
            f"{self.margin:.2f}"
        )

    def details(self) -> dict[str, Any]:
        """What is stored in the new version's `review`."""
        return {
            "version": self.version,
            "mean": self.mean,
            "runs": self.runs,
            "parent_mean": self.parent_mean,
            "parent_runs": self.parent_runs,
            "margin": self.margin,
        }


def score_deltas(batch: Sequence[FeedbackItem]) -> dict[str, PromptScores]:
    """The scores a batch adds: scored items with known serving versions, per prompt and
    version, people's and evaluators' apart (version 0, a base from code not yet stored, is
    not counted)."""
    deltas: dict[str, PromptScores] = {}
    for item in batch:
        if item.score is None or not item.prompt_versions:
            continue
        for prompt, version in item.prompt_versions.items():
            if version < 1:
                continue
            scores = deltas.setdefault(prompt, PromptScores())
            stats = scores.evaluators if item.from_evaluator else scores.people
            n, total = stats.get(version, (0, 0.0))
            stats[version] = (n + 1, total + float(item.score))
    return deltas


def merged(stored: PromptScores, delta: PromptScores) -> PromptScores:
    """`stored` plus `delta`."""
    return stored.plus(delta)


def weighted(scores: PromptScores, version: int, weight: float) -> tuple[int, float | None]:
    """A version's scored runs and weighted mean (`None`: no weighted score), people's
    scores counting 1 and evaluators' `weight` (see `Monitor`)."""
    people_n, people_sum = scores.people.get(version, (0, 0.0))
    eval_n, eval_sum = scores.evaluators.get(version, (0, 0.0)) if weight > 0 else (0, 0.0)
    mass = people_n + weight * eval_n
    return people_n + eval_n, ((people_sum + weight * eval_sum) / mass if mass else None)


def find_regression(
    monitor: Monitor, active: PromptVersion, scores: PromptScores
) -> Regression | None:
    """Apply the rule to a prompt's active version and its scores (stored + this batch).

    Only versions the optimizer produced are judged (not a base, a rollback or an
    auto-rollback: their parent is not what they were derived from).
    """
    if not monitor.enabled or active.parent is None or active.optimizer_kind is None:
        return None
    if active.review is not None and active.review.get("action") in ("rollback", "auto-rollback"):
        return None
    # Compare with what it replaced when it went live (an approved version's parent may be
    # a pending version that was never served).
    baseline = active.replaced if active.replaced is not None else active.parent
    runs, mean = weighted(scores, active.version, monitor.evaluator_weight)
    parent_runs, parent_mean = weighted(scores, baseline, monitor.evaluator_weight)
    if runs < monitor.min_runs or parent_runs < 1 or mean is None or parent_mean is None:
        return None
    if not mean < parent_mean - monitor.margin:
        return None
    return Regression(
        prompt=active.prompt,
        version=active.version,
        parent=baseline,
        mean=mean,
        runs=runs,
        parent_mean=parent_mean,
        parent_runs=parent_runs,
        margin=float(monitor.margin),
    )
