"""Canary rollout: the policy, the arms' scores, and Welch's t-test that decides a canary."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_prompt_optimization.stores.canary_record import arm_of_run, canaries_of

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from langchain_prompt_optimization.stores import ActivePrompt, FeedbackItem, Job, StoreLayout
    from langchain_prompt_optimization.stores.canary_record import CanaryRecord
    from langchain_prompt_optimization.stores.labels import UserRef

__all__ = [
    "Canary",
    "CanaryEvidence",
    "arm_scores",
    "decide_canary",
    "judge_running_canary",
    "welch_t_test",
]

logger = logging.getLogger(__name__)

TEST_NAME = "welch-t"


@dataclass(frozen=True, slots=True)
class Canary:
    """Live rollout of new candidates: serve a candidate to a fraction of runs first.

    A candidate that passes every check (and, when approval is required, is approved)
    becomes a `canary`: it is served to `fraction` of the traffic while the active version
    serves the rest. The arm is a pure function of the canary and the thread id
    (`scope="user"`) or the user id (`scope="global"`), so a thread (a user) always gets
    the same arm, and a run never mixes versions. Once both arms have at least `min_runs`
    scored runs, Welch's two-sided t-test compares their mean feedback scores: with
    `p < alpha` the canary is promoted (better) or rejected (worse); otherwise it keeps
    running, until both arms reach `max_runs` (then it is rejected as inconclusive: the
    active version stays). While a canary runs, new feedback waits (its scores are the
    evidence) and the lineage learns from it once the canary is decided.

    Attributes:
        fraction: Share of threads (users in global scope) served the canary, in (0, 1).
        min_runs: Scored runs each arm needs before the test is applied.
        alpha: Significance level of the test, in (0, 0.5].
        max_runs: Scored runs per arm after which an undecided canary is rejected
            (`None`: it runs until decided or stopped).
        count_evaluators: Whether scores evaluators gave (`evaluators=`) are evidence too,
            each counted as one scored run like a person's; `False`: people's scores only.

    Raises:
        ValueError: On a `fraction` outside (0, 1), a non-positive `min_runs`, an `alpha`
            outside (0, 0.5], or a `max_runs` below `min_runs`.

    Example:
        ```python
        PromptOptimizationMiddleware(rollout=Canary(fraction=0.2, min_runs=20))
        ```
    """

    fraction: float = 0.2
    min_runs: int = 20
    alpha: float = 0.05
    max_runs: int | None = None
    count_evaluators: bool = True

    def __post_init__(self) -> None:
        # deferred: optimizer.settings imports optimizer.run, which imports this module
        from langchain_prompt_optimization.optimizer.settings import check_positive_int

        _check_between("Canary.fraction", self.fraction, 1.0, "(0, 1)", include_high=False)
        check_positive_int("Canary.min_runs", self.min_runs)
        _check_between("Canary.alpha", self.alpha, 0.5, "(0, 0.5]", include_high=True)
        if self.max_runs is not None and (
            check_positive_int("Canary.max_runs", self.max_runs) < self.min_runs
        ):
            msg = f"Canary.max_runs must be None or an int >= min_runs; got {self.max_runs!r}"
            raise ValueError(msg)
        if not isinstance(self.count_evaluators, bool):
            msg = f"Canary.count_evaluators must be a bool; got {self.count_evaluators!r}"
            raise ValueError(msg)

    def to_json(self) -> dict[str, Any]:
        """JSON form, as recorded in the prompt configuration and on each canary."""
        return {
            "fraction": float(self.fraction),
            "min_runs": self.min_runs,
            "alpha": float(self.alpha),
            "max_runs": self.max_runs,
            "count_evaluators": self.count_evaluators,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Canary | None:
        """Inverse of `to_json`; `None` (not recorded) or an unreadable record: no canary."""
        if not data:
            return None
        try:
            return cls(
                fraction=float(data["fraction"]),
                min_runs=int(data["min_runs"]),
                alpha=float(data.get("alpha", 0.05)),
                max_runs=int(data["max_runs"]) if data.get("max_runs") is not None else None,
                count_evaluators=bool(data.get("count_evaluators", True)),
            )
        except (KeyError, TypeError, ValueError):
            logger.warning("unreadable canary config %r; no canary rollout", data)
            return None


def _check_between(
    name: str, value: object, high: float, shown: str, *, include_high: bool
) -> None:
    """`value` must be a number above 0 and below `high` (or equal to it).

    Raises:
        ValueError: Otherwise, naming `name`, the range `shown` and the value given.
    """
    number = math.nan
    if not isinstance(value, bool) and isinstance(value, int | float):
        number = float(value)
    inside = 0 < number <= high if include_high else 0 < number < high
    if not inside:
        msg = f"{name} must be a number in {shown}; got {value!r}"
        raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class CanaryEvidence:
    """What decided (or did not yet decide) a canary; stored on the canary version."""

    decision: Literal["promote", "reject", "continue"]
    canary_n: int
    canary_mean: float | None
    active_n: int
    active_mean: float | None
    p_value: float | None
    alpha: float
    why: str
    sources: str = "people and evaluators"
    """Whose scores were evidence: `people and evaluators`, or `people`."""

    @classmethod
    def undecided(cls, why: str) -> CanaryEvidence:
        """No judgment could be made (the canary keeps running)."""
        return cls("continue", 0, None, 0, None, None, 0.0, why)

    def to_json(self) -> dict[str, Any]:
        """JSON form (the version's `canary` field)."""
        return {
            "decision": self.decision,
            "test": TEST_NAME,
            "canary": {"n": self.canary_n, "mean": self.canary_mean},
            "active": {"n": self.active_n, "mean": self.active_mean},
            "p_value": self.p_value,
            "alpha": self.alpha,
            "why": self.why,
            "sources": self.sources,
        }


def arm_scores(
    canaries: Mapping[str, CanaryRecord],
    items: Sequence[FeedbackItem],
    *,
    count_evaluators: bool = True,
) -> tuple[list[float], list[float]]:
    """The scores of the feedback on runs each arm served: `(canary, active)`. Items whose
    run was served neither arm's versions (older versions, unscored) are left out, and
    evaluators' items unless `count_evaluators`."""
    canary: list[float] = []
    active: list[float] = []
    for item in items:
        if item.score is None or not item.prompt_versions:
            continue
        if item.from_evaluator and not count_evaluators:
            continue
        arm = arm_of_run(canaries, item.prompt_versions)
        if arm == "canary":
            canary.append(float(item.score))
        elif arm == "active":
            active.append(float(item.score))
    return canary, active


def judge_running_canary(
    layout: StoreLayout, owner: UserRef, active: Mapping[str, ActivePrompt]
) -> Job[CanaryEvidence | None]:
    """Judge the canary running on `owner`'s prompts (`active`: their pointers) on the
    scores of the pending feedback about runs of either arm; promote or reject it when the
    test decides (one write). Run under the owner's lease.

    Returns:
        The evidence (`decision` `continue`: it keeps running), or `None` if no canary runs.
    """
    running = canaries_of(active)
    if not running:
        return None
    first = next(iter(running.values()))
    group = {name: c for name, c in running.items() if c.id == first.id}
    policy = Canary.from_json(first.policy) or Canary(fraction=first.fraction)
    pending = yield from layout.pending_feedback(owner)
    scores = arm_scores(group, pending, count_evaluators=policy.count_evaluators)
    evidence = decide_canary(policy, *scores)
    if evidence.decision == "continue":
        return evidence
    concluded = yield from layout.conclude_canary(
        owner,
        first.id,
        list(group),
        promote=evidence.decision == "promote",
        evidence=evidence.to_json(),
    )
    if concluded:
        logger.info(
            "canary %s of %r: %s (%s)", first.id, owner.user_id, evidence.decision, evidence.why
        )
    return evidence


def decide_canary(
    policy: Canary, canary: Sequence[float], active: Sequence[float]
) -> CanaryEvidence:
    """Apply the test to the arms' scores: promote, reject, or keep running."""
    n_c, n_a = len(canary), len(active)
    mean_c = sum(canary) / n_c if n_c else None
    mean_a = sum(active) / n_a if n_a else None

    sources = "people and evaluators" if policy.count_evaluators else "people"

    def evidence(decision: Any, p: float | None, why: str) -> CanaryEvidence:
        alpha = float(policy.alpha)
        return CanaryEvidence(decision, n_c, mean_c, n_a, mean_a, p, alpha, why, sources)

    if mean_c is None or mean_a is None or min(n_c, n_a) < policy.min_runs:
        return evidence("continue", None, f"waiting for {policy.min_runs} scored runs per arm")
    p = welch_t_test(canary, active)
    if p < policy.alpha and mean_c > mean_a:
        return evidence("promote", p, f"canary scores higher (p={p:.3g} < {policy.alpha})")
    if p < policy.alpha and mean_c < mean_a:
        return evidence("reject", p, f"canary scores lower (p={p:.3g} < {policy.alpha})")
    if policy.max_runs is not None and min(n_c, n_a) >= policy.max_runs:
        why = f"no significant difference after {policy.max_runs} runs per arm (p={p:.3g})"
        return evidence("reject", p, why)
    return evidence("continue", p, f"no significant difference yet (p={p:.3g})")


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test of equal means (each sample needs 2+ values,
    or 1 value and zero variance in both). Two constant samples: 0.0 when their values
    differ, 1.0 when they are equal."""
    n_a, n_b = len(a), len(b)
    mean_a, mean_b = sum(a) / n_a, sum(b) / n_b
    var_a = sum((x - mean_a) ** 2 for x in a) / (n_a - 1) if n_a > 1 else 0.0
    var_b = sum((x - mean_b) ** 2 for x in b) / (n_b - 1) if n_b > 1 else 0.0
    se2 = var_a / n_a + var_b / n_b
    if se2 <= 0:
        return 1.0 if math.isclose(mean_a, mean_b) else 0.0
    t = (mean_a - mean_b) / math.sqrt(se2)
    parts = [(var_a / n_a) ** 2 / (n_a - 1) if n_a > 1 else 0.0]
    parts.append((var_b / n_b) ** 2 / (n_b - 1) if n_b > 1 else 0.0)
    df = se2**2 / sum(parts)
    # P(|T| > |t|) for Student's t with df degrees of freedom.
    return min(1.0, _incomplete_beta(df / 2, 0.5, df / (df + t * t)))


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (continued fraction, Lentz)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    return math.exp(log_front) * _beta_fraction(a, b, x) / a


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-14
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h
