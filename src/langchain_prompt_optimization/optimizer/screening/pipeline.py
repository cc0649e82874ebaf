"""Running the screeners in an optimization: the feedback batch, then each candidate."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from langchain_prompt_optimization.optimizer.screening.base import (
    CandidateDelta,
    FeedbackBatch,
    Screener,
    Verdict,
    candidate_delta,
)
from langchain_prompt_optimization.optimizer.screening.model import ModelScreener
from langchain_prompt_optimization.optimizer.screening.rules import RulesScreener
from langchain_prompt_optimization.stores.io import Call, call

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from langchain_core.language_models import BaseChatModel

    from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
    from langchain_prompt_optimization.stores import Job, NewVersion

__all__ = [
    "DEFAULT_SCREENERS",
    "SCREENER_NAMES",
    "bound_screeners",
    "screen_candidate_options",
    "screen_feedback_batch",
    "screeners_from_json",
    "screeners_to_json",
    "screening_usage",
]

logger = logging.getLogger(__name__)

SCREENER_NAMES = ("rules", "model")
"""The built-in screeners a `screeners=` entry may name."""
DEFAULT_SCREENERS: tuple[str, ...] = ("rules", "model")
"""`SafetySettings.screeners` when not given: the rules, then the model judge."""


async def _ascreen(screener: Screener, method: str, arg: Any) -> Any:
    """`screener.<method>(arg)` without blocking the event loop: the rules inline (pure,
    linear), else the screener's async twin (`a<method>`), else the sync method in a worker
    thread."""
    sync = getattr(screener, method)
    if isinstance(screener, RulesScreener):
        return sync(arg)
    twin = getattr(screener, f"a{method}", None)
    if twin is not None:
        return await twin(arg)
    return await asyncio.to_thread(sync, arg)


@dataclass(frozen=True, slots=True)
class ScreenFeedbackCall(Call["Mapping[str, Verdict]"]):
    """One screener's pass over a feedback batch."""

    screener: Screener
    batch: FeedbackBatch

    def run(self) -> Mapping[str, Verdict]:
        """Screen with blocking calls."""
        return self.screener.screen_feedback(self.batch)

    async def arun(self) -> Mapping[str, Verdict]:
        """Screen with async calls."""
        return cast(
            "Mapping[str, Verdict]", await _ascreen(self.screener, "screen_feedback", self.batch)
        )


@dataclass(frozen=True, slots=True)
class ScreenCandidateCall(Call[Verdict]):
    """One screener's verdict on one candidate delta."""

    screener: Screener
    delta: CandidateDelta

    def run(self) -> Verdict:
        """Screen with blocking calls."""
        return self.screener.screen_candidate(self.delta)

    async def arun(self) -> Verdict:
        """Screen with async calls."""
        return cast("Verdict", await _ascreen(self.screener, "screen_candidate", self.delta))


def _name(screener: Screener) -> str:
    return str(getattr(screener, "name", "") or type(screener).__name__)


def _reviews(screener: Screener) -> bool:
    return bool(getattr(screener, "reviews_findings", False))


def bound_screeners(
    screeners: Sequence[Screener], firewall: FeedbackFirewall, model: BaseChatModel
) -> tuple[Screener, ...]:
    """The screeners as one optimization runs them: the rules with the run's firewall (unless
    they have their own), the model screener with the optimizer's model (unless it has a guard
    model), and the screeners that review rule findings after all others."""
    bound: list[Screener] = []
    for screener in screeners:
        if isinstance(screener, RulesScreener):
            screener = screener.with_firewall(firewall)
        elif isinstance(screener, ModelScreener):
            screener = screener.for_optimizer(model)
        bound.append(screener)
    return (*(s for s in bound if not _reviews(s)), *(s for s in bound if _reviews(s)))


def screen_feedback_batch(
    screeners: Sequence[Screener],
    batch: FeedbackBatch,
    *,
    keep_lease: Callable[[Call[Any]], Job[Any]] | None = None,
) -> Job[dict[str, str]]:
    """The feedback ids to quarantine, with the reason: those any screener holds. A
    screener that raises quarantines the whole batch (it could not be screened).
    `keep_lease` runs a screener that may call a model (not the rules) as a model call of
    the optimization (its lease renewed, its usage metered)."""
    held: dict[str, str] = {}
    for screener in screeners:
        request = ScreenFeedbackCall(screener, batch)
        try:
            if keep_lease is None or isinstance(screener, RulesScreener):
                verdicts = yield from call(request)
            else:
                verdicts = yield from keep_lease(request)
        except Exception as exc:
            reason = (
                f"quarantined: screener {_name(screener)!r} failed ({type(exc).__name__}: {exc})"
            )
            logger.warning("%s", reason)
            return {fb.id: held.get(fb.id, reason) for fb, _, _ in batch.texts()}
        for fb, _, _ in batch.texts():
            verdict = verdicts.get(fb.id)
            if verdict is not None and verdict.verdict != "pass" and fb.id not in held:
                held[fb.id] = _quarantine_reason(screener, verdict)
    return held


def _quarantine_reason(screener: Screener, verdict: Verdict) -> str:
    if verdict.reason.startswith("quarantined"):
        return verdict.reason
    what = f" ({verdict.category})" if verdict.category else ""
    return f"quarantined by the {_name(screener)} screener{what}: {verdict.reason}"


def screen_candidate_options(
    screeners: Sequence[Screener],
    options: Sequence[Sequence[NewVersion]],
    served: Mapping[str, str],
    feedback: Sequence[str],
    *,
    shared: bool,
    keep_lease: Callable[[Call[Any]], Job[Any]] | None = None,
) -> Job[list[list[NewVersion]]]:
    """Each option's accepted candidates screened: every verdict recorded on the candidate
    (`verdicts`), a held one flagged (stored `pending`, never activated without a reviewer).
    Screening stops at the first hold; a `review` verdict needs a pass from a screener that
    reviews findings (the model screener), else it holds. Identical candidates of several
    options (best-of-k) are screened once."""
    seen: dict[tuple[str, str], list[Verdict]] = {}
    out: list[list[NewVersion]] = []
    for option in options:
        screened: list[NewVersion] = []
        for cand in option:
            if cand.outcome != "accepted":
                screened.append(cand)
                continue
            key = (cand.prompt, cand.text)
            if key not in seen:
                delta = candidate_delta(
                    cand.prompt, served.get(cand.prompt, ""), cand.text, feedback, shared=shared
                )
                seen[key] = yield from _screen_one(screeners, delta, keep_lease)
            screened.append(_apply(cand, seen[key]))
        out.append(screened)
    return out


def _screen_one(
    screeners: Sequence[Screener],
    delta: CandidateDelta,
    keep_lease: Callable[[Call[Any]], Job[Any]] | None,
) -> Job[list[Verdict]]:
    verdicts: list[Verdict] = []
    unresolved: list[Verdict] = []
    reviewed = False
    for screener in screeners:
        if _reviews(screener) and unresolved:
            delta = replace(delta, review_notes=tuple(v.reason for v in unresolved))
        request = ScreenCandidateCall(screener, delta)
        pure = isinstance(screener, RulesScreener)  # no model call: no lease renewal
        try:
            if keep_lease is None or pure:
                verdict = yield from call(request)
            else:
                verdict = yield from keep_lease(request)
            if not isinstance(verdict, Verdict):
                msg = f"returned {type(verdict).__name__}, not a Verdict"
                raise TypeError(msg)
        except Exception as exc:
            what = f"screener {_name(screener)!r} failed ({type(exc).__name__}: {exc})"
            logger.warning("%s; holding the candidate", what)
            verdict = Verdict("hold", _name(screener), "screener_error", f"flagged: {what}")
        if not verdict.screener:
            verdict = replace(verdict, screener=_name(screener))
        verdicts.append(verdict)
        if verdict.held:
            return verdicts
        if verdict.verdict == "review":
            unresolved.append(verdict)
        elif _reviews(screener):
            reviewed = True
    if unresolved and not reviewed:
        first = unresolved[0]
        reason = f"flagged: needs model review and no model screener is configured ({first.reason})"
        verdicts.append(Verdict("hold", "screening", first.category, reason))
    return verdicts


def _apply(cand: NewVersion, verdicts: list[Verdict]) -> NewVersion:
    held = next((v for v in verdicts if v.held), None)
    recorded = [v.to_json() for v in verdicts]
    if held is None:
        return replace(cand, verdicts=recorded)
    return replace(
        cand, outcome="pending", reason=held.reason, flagged=held.reason, verdicts=recorded
    )


def screening_usage(candidates: Sequence[Sequence[NewVersion]]) -> dict[str, int]:
    """The screeners' model usage over all options, as `screening_*` usage keys (each
    distinct candidate counted once)."""
    totals = {"calls": 0, "input_tokens": 0, "output_tokens": 0}
    counted: set[tuple[str, str]] = set()
    for option in candidates:
        for cand in option:
            if (cand.prompt, cand.text) in counted:
                continue
            counted.add((cand.prompt, cand.text))
            for verdict in cand.verdicts:
                for key in totals:
                    totals[key] += int((verdict.get("usage") or {}).get(key, 0))
    if not totals["calls"]:
        return {}
    return {f"screening_{key}": value for key, value in totals.items()}


def screeners_to_json(screeners: Sequence[Screener]) -> list[dict[str, Any]]:
    """What an app records of its screeners, for workers: the built-in ones by kind (a
    guard model given as a string is recorded; an instance is not), others by name."""
    out: list[dict[str, Any]] = []
    for screener in screeners:
        if isinstance(screener, RulesScreener):
            out.append({"kind": "rules"})
        elif isinstance(screener, ModelScreener):
            model = screener.model if isinstance(screener.model, str) else None
            out.append({"kind": "model", "model": model, "timeout": screener.timeout})
        else:
            out.append({"kind": "custom", "name": _name(screener)})
    return out


def screeners_from_json(data: Any) -> tuple[Screener, ...]:
    """Inverse of `screeners_to_json` for a worker; `None` or an unreadable record gives the
    defaults. A custom screener the worker cannot rebuild holds every candidate (configure it
    in the worker's `SafetySettings(screeners=...)`)."""
    if not isinstance(data, list):
        return (RulesScreener(), ModelScreener())
    out: list[Screener] = []
    for entry in data:
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "rules":
            out.append(RulesScreener())
        elif kind == "model":
            try:
                out.append(ModelScreener(entry.get("model"), timeout=entry.get("timeout", 120.0)))
            except (TypeError, ValueError):
                out.append(ModelScreener())
        else:
            name = entry.get("name") if isinstance(entry, dict) else None
            out.append(_Unavailable(str(name or kind)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Unavailable:
    """A screener the apps configured that this process does not have: holds candidates."""

    missing: str
    name: str = "unavailable"

    def screen_feedback(self, batch: FeedbackBatch) -> Mapping[str, Verdict]:
        return {}

    def screen_candidate(self, delta: CandidateDelta) -> Verdict:
        reason = (
            f"flagged: the apps configured the screener {self.missing!r}, which this worker "
            "does not have (pass it in PromptWorker(safety=SafetySettings(screeners=...)))"
        )
        return Verdict("hold", self.name, "screener_error", reason)
