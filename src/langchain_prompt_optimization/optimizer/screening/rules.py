"""The rules screener: the feedback firewall and the personal-data check as one `Screener`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_prompt_optimization.optimizer.candidates import screen_inputs
from langchain_prompt_optimization.optimizer.firewall import CATEGORIES, FeedbackFirewall, Finding
from langchain_prompt_optimization.optimizer.privacy import added_personal_data
from langchain_prompt_optimization.optimizer.screening.base import Verdict, needs_review

if TYPE_CHECKING:
    from collections.abc import Mapping

    from langchain_prompt_optimization.optimizer.screening.base import (
        CandidateDelta,
        FeedbackBatch,
    )

__all__ = ["RulesScreener"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RulesScreener:
    """The pattern rules (`FeedbackFirewall`) and the personal-data check, as a screener.

    Feedback and runs: what `FeedbackFirewall` catches is held (quarantined). Candidates:
    the firewall's findings on the added text are held, and so is personal data added to a
    prompt shared by all users; a finding that needs model review (`needs_review`, e.g. a
    `locked_conflict`) is answered `review`, so the model screener decides (held when none
    is configured). No model call; linear in the text.

    Attributes:
        firewall: The firewall to apply; `None`: the one the optimization runs with
            (`SafetySettings.firewall`, or what the apps recorded, in a worker).
        name: Recorded with each verdict.

    Example:
        ```python
        SafetySettings(screeners=[RulesScreener(FeedbackFirewall(trusted_domains=("corp.com",)))])
        ```
    """

    firewall: FeedbackFirewall | None = None
    name: str = "rules"

    def __post_init__(self) -> None:
        if self.firewall is not None and not isinstance(self.firewall, FeedbackFirewall):
            msg = (
                "RulesScreener.firewall must be a FeedbackFirewall or None; "
                f"got {type(self.firewall).__name__}"
            )
            raise TypeError(msg)

    def _firewall(self) -> FeedbackFirewall:
        return self.firewall if self.firewall is not None else FeedbackFirewall()

    def screen_feedback(self, batch: FeedbackBatch) -> Mapping[str, Verdict]:
        """Holds for the items the firewall flags (in their text or their run)."""
        firewall = self._firewall()
        if not firewall.enabled:
            return {}
        caught = screen_inputs(
            firewall, batch.items, batch.trajectories, batch.known_text, budget=batch.budget
        )
        return {
            fb.id: Verdict("hold", self.name, _category(reason), reason) for fb, reason in caught
        }

    def screen_candidate(self, delta: CandidateDelta) -> Verdict:
        """Hold on a firewall finding or added personal data in a shared prompt; `review`
        on findings only a model can judge; otherwise pass."""
        firewall = self._firewall()
        findings = firewall.screen_candidate(delta.candidate, delta.current)
        held = [f for f in findings if not needs_review(f)]
        review = [f for f in findings if needs_review(f)]
        reasons, categories = [], []
        if held:
            reasons.append(firewall.reason(held, verdict="flagged"))
            categories.append(held[0].category)
        if delta.shared:
            kinds = sorted({m["type"] for m in added_personal_data(delta.candidate, delta.current)})
            if kinds:
                reasons.append(
                    f"flagged: the candidate adds personal data ({', '.join(kinds)}) to a "
                    "prompt shared by all users"
                )
                categories.append("personal_data")
        if reasons:
            return Verdict("hold", self.name, categories[0], "; ".join(reasons))
        if review:
            reason = firewall.reason(review, verdict="sent to model review")
            return Verdict("review", self.name, review[0].category, reason)
        return Verdict("pass", self.name)

    def with_firewall(self, firewall: FeedbackFirewall) -> RulesScreener:
        """This screener with `firewall` when it has none of its own."""
        if self.firewall is not None:
            return self
        return RulesScreener(firewall, self.name)


_LABELS = {
    Finding(category, "", "").describe().split(":", 1)[0]: category for category in CATEGORIES
}


def _category(reason: str) -> str:
    """The category a firewall reason names first (`"injection"` if none is recognised)."""
    _, _, rest = reason.partition(": ")
    for label, category in _LABELS.items():
        if rest.startswith(label):
            return category
    return "injection"
