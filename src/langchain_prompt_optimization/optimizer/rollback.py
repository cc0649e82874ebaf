"""Monitoring during an optimization: finding regressed prompts and rolling them back."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from langchain_prompt_optimization.optimizer.monitor import find_regression, merged
from langchain_prompt_optimization.optimizer.retention import consumed_feedback_ttl, prune_after
from langchain_prompt_optimization.stores.scores import PromptScores

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_prompt_optimization.optimizer.monitor import Monitor, Regression
    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome, _Run
    from langchain_prompt_optimization.stores import (
        ActivePrompt,
        FeedbackItem,
        Job,
        StoreLayout,
        UserRef,
    )

__all__ = ["auto_rollback", "find_regressions"]

logger = logging.getLogger(__name__)


def find_regressions(
    layout: StoreLayout,
    owner: UserRef,
    monitor: Monitor,
    active: dict[str, ActivePrompt],
    deltas: dict[str, PromptScores],
) -> Job[list[Regression]]:
    """The prompts whose active version scores worse than its parent (stored scores plus
    this batch's). A fault in the rule itself is logged and that prompt is not judged."""
    heads, stored = yield from layout.read_monitoring(owner, active)
    found: list[Regression] = []
    for name in active:
        head = heads.get(name)
        if head is None:
            continue
        try:
            scores = merged(stored.get(name, PromptScores()), deltas.get(name, PromptScores()))
            regression = find_regression(monitor, head, scores)
        except Exception:
            logger.exception("monitoring of %r for %r failed; not judged", name, owner.user_id)
            continue
        if regression is not None:
            found.append(regression)
    return found


def auto_rollback(
    run: _Run,
    batch: Sequence[FeedbackItem],
    regressions: Sequence[Regression],
    deltas: dict[str, PromptScores],
    expected: dict[str, int],
) -> Job[OptimizationOutcome]:
    """Roll regressed prompts back to their parent and pause their lineages, consuming the batch
    (without calling the optimizer) in the same write."""
    ids = tuple(fb.id for fb in batch)
    layout, owner, settings = run.layout, run.owner, run.settings
    if not (yield from layout.renew_lease(owner, run.holder, settings.lease_seconds)):
        return run.outcome("busy", feedback_ids=ids)
    versions = yield from layout.commit_auto_rollback(
        owner,
        rollbacks={r.prompt: (r.parent, r.reason, r.details()) for r in regressions},
        feedback=batch,
        score_deltas=deltas,
        expected_latest=expected,
        feedback_ttl_minutes=(yield from consumed_feedback_ttl(settings)),
    )
    if versions is None:
        return run.outcome("busy", feedback_ids=ids)
    for regression in regressions:
        logger.warning(
            "prompt %r of %r: %s (new version v%s, lineage paused for review)",
            regression.prompt,
            owner.user_id,
            regression.reason,
            versions[regression.prompt].version,
        )
    yield from prune_after(layout, owner, settings, batch)
    return run.outcome("rolled_back", versions=versions, feedback_ids=ids)
