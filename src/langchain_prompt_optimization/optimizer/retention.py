"""Retention after a batch is consumed: consumed feedback's TTL and pruning old runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores import UserRef
from langchain_prompt_optimization.stores.io import supports_ttl_job

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_prompt_optimization.optimizer.run import RunSettings
    from langchain_prompt_optimization.stores import FeedbackItem, Job, StoreLayout

__all__ = ["consumed_feedback_ttl", "prune_after"]


def consumed_feedback_ttl(settings: RunSettings) -> Job[float | None]:
    """How long consumed feedback is kept, when the store honours TTLs."""
    if (yield from supports_ttl_job()):
        return settings.retention.consumed_feedback_ttl_minutes
    return None


def prune_after(
    layout: StoreLayout, owner: UserRef, settings: RunSettings, batch: Sequence[FeedbackItem]
) -> Job[None]:
    keep = settings.retention.max_trajectories_per_user
    if keep is not None:
        for label in sorted({fb.user_label for fb in batch if fb.user_label}):
            yield from layout.prune_trajectories(UserRef.from_label(label), owner, keep=keep)
