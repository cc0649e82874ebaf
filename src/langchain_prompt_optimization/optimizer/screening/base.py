"""The screening contract: what a screener reads (feedback, runs, candidate deltas) and answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from langchain_prompt_optimization.optimizer.candidates import feedback_text, untrusted_text
from langchain_prompt_optimization.optimizer.payload import clip, recent_messages

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from langchain_prompt_optimization.optimizer.firewall import Finding
    from langchain_prompt_optimization.stores import FeedbackItem, TrajectoryRecord

__all__ = [
    "REVIEW_CATEGORIES",
    "VERDICTS",
    "CandidateDelta",
    "FeedbackBatch",
    "Screener",
    "Verdict",
    "candidate_delta",
    "needs_review",
]

logger = logging.getLogger(__name__)

VERDICTS = ("pass", "hold", "review")
"""What a screener may answer: `pass`, `hold` (never served without a reviewer), or `review`
(a rule saw something only a model can judge: the model screener decides, and without one
the candidate is held)."""

REVIEW_CATEGORIES = frozenset({"locked_conflict"})
"""Rule finding categories that need model review rather than a hold (`locked_conflict`: the
candidate adds text contradicting a `<locked>` rule)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A screener's answer about one feedback item or one candidate.

    Attributes:
        verdict: `"pass"`, `"hold"` or `"review"` (see `VERDICTS`).
        screener: Name of the screener that answered.
        category: What it found (e.g. `"exfiltration"`, `"personal_data"`,
            `"screener_error"`); empty on a pass.
        reason: One line for the reviewer.
        usage: Model calls and tokens the screener spent (`calls`, `input_tokens`,
            `output_tokens`); empty for rules.

    Raises:
        ValueError: If `verdict` is not one of `VERDICTS`.
    """

    verdict: Literal["pass", "hold", "review"]
    screener: str = ""
    category: str = ""
    reason: str = ""
    usage: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            msg = f"Verdict.verdict must be one of {', '.join(VERDICTS)}; got {self.verdict!r}"
            raise ValueError(msg)

    @property
    def held(self) -> bool:
        """Whether the verdict keeps the text from being served or learned from."""
        return self.verdict == "hold"

    def to_json(self) -> dict[str, Any]:
        """JSON form, as stored on a version (`verdicts`)."""
        data: dict[str, Any] = {
            "screener": self.screener,
            "verdict": self.verdict,
            "category": self.category,
            "reason": self.reason,
        }
        if self.usage:
            data["usage"] = dict(self.usage)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        """Inverse of `to_json`."""
        return cls(
            verdict=data.get("verdict", "hold"),
            screener=str(data.get("screener", "")),
            category=str(data.get("category", "")),
            reason=str(data.get("reason", "")),
            usage=dict(data.get("usage") or {}),
        )


@dataclass(frozen=True, slots=True)
class FeedbackBatch:
    """The feedback an optimization is about to learn from, with its runs.

    Attributes:
        items: The batch (reviewer-released items are marked `trusted`).
        trajectories: The items' runs by trajectory id.
        known_text: The prompts being served (their addresses are already accepted).
        budget: Characters of feedback and of each run that reach the optimizer.
    """

    items: Sequence[FeedbackItem]
    trajectories: dict[str, TrajectoryRecord]
    known_text: str
    budget: int

    def texts(self) -> Iterator[tuple[FeedbackItem, str, str]]:
        """Each untrusted item with what the optimizer would read: its feedback text and
        its run's human and tool messages, both cut to `budget`."""
        for fb in self.items:
            if fb.trusted:
                continue
            run = self.trajectories.get(fb.trajectory_id)
            run_text = "" if run is None else untrusted_text(recent_messages(run, self.budget))
            yield fb, clip(feedback_text(fb), self.budget), run_text


@dataclass(frozen=True, slots=True)
class CandidateDelta:
    """What a candidate prompt changes, and why.

    Attributes:
        prompt: The prompt's name.
        current: The prompt it would replace (as served).
        candidate: The proposed text.
        added: Lines of `candidate` that `current` does not have.
        removed: Lines of `current` that `candidate` does not have.
        feedback: The feedback texts that produced it.
        shared: The lineage is shared by all users (`scope="global"`).
        review_notes: Why earlier screeners asked for model review (their `review`
            verdicts' reasons, e.g. a `locked_conflict`), filled in for the screeners that
            review findings (the model screener).
    """

    prompt: str
    current: str
    candidate: str
    added: str
    removed: str
    feedback: tuple[str, ...] = ()
    shared: bool = False
    review_notes: tuple[str, ...] = ()


def candidate_delta(
    prompt: str, current: str, candidate: str, feedback: Sequence[str], *, shared: bool
) -> CandidateDelta:
    """The delta of `candidate` against `current`, line by line (linear time).

    Example:
        ```python
        delta = candidate_delta("system", "Be brief.", "Be brief.\\nSign as Ann.", [], shared=False)
        delta.added  # 'Sign as Ann.'
        ```
    """
    before = {line.strip() for line in current.splitlines() if line.strip()}
    after = {line.strip() for line in candidate.splitlines() if line.strip()}
    added = [line for line in candidate.splitlines() if line.strip() and line.strip() not in before]
    removed = [line for line in current.splitlines() if line.strip() and line.strip() not in after]
    return CandidateDelta(
        prompt, current, candidate, "\n".join(added), "\n".join(removed), tuple(feedback), shared
    )


def needs_review(finding: Finding) -> bool:
    """Whether a rule finding calls for model review instead of a hold: its category is in
    `REVIEW_CATEGORIES`, or it says so itself (`needs_review=True`)."""
    return finding.category in REVIEW_CATEGORIES or bool(getattr(finding, "needs_review", False))


@runtime_checkable
class Screener(Protocol):
    """Screens what the optimizer learns from and what it proposes.

    Two checks, both run inside the optimization job, never on an agent run:
    `screen_feedback` sees a batch of feedback with its runs before the optimizer does
    (a held item is quarantined for review), `screen_candidate` sees each candidate's delta
    (a held candidate is stored `pending`, flagged, never activated without a reviewer).
    A screener that raises holds what it was screening.

    Async: a screener may define `ascreen_feedback` / `ascreen_candidate`; without them the
    async optimization runs the sync methods in a worker thread.

    Example:
        ```python
        class NoUrls:
            name = "no-urls"

            def screen_feedback(self, batch):
                return {}

            def screen_candidate(self, delta):
                if "http" in delta.added:
                    return Verdict("hold", self.name, "exfiltration", "adds a URL")
                return Verdict("pass", self.name)

        SafetySettings(screeners=["rules", NoUrls(), "model"])
        ```
    """

    @property
    def name(self) -> str:
        """A short name, recorded with each verdict."""
        ...

    def screen_feedback(self, batch: FeedbackBatch) -> Mapping[str, Verdict]:
        """Verdicts by feedback id (an item left out passes)."""
        ...

    def screen_candidate(self, delta: CandidateDelta) -> Verdict:
        """The verdict on one candidate."""
        ...
