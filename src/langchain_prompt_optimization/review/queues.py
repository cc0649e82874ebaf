"""`PromptRegistry`'s reads across users: user summaries and the review queues.

The review queues are the pending versions, quarantined feedback and paused lineages the
dashboard lists.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores import UserRef, adrive, drive

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores import FeedbackItem, StoreLayout
    from langchain_prompt_optimization.stores.overview import (
        LineageVersion,
        PausedLineage,
        UserSummary,
    )

__all__ = ["ReviewQueues"]

logger = logging.getLogger(__name__)


class ReviewQueues:
    """What needs a reviewer, across every user (mixed into `PromptRegistry`).

    Each method has an async twin. The queues are one search across the namespace prefix
    each, so they do not grow with the number of users who have nothing waiting.
    """

    store: BaseStore
    scope: str | None
    _layout: StoreLayout

    def prompts(self) -> list[str]:
        """The managed prompts the middleware recorded (the system prompt first)."""
        return drive(self._layout.prompt_names(), self.store)

    async def aprompts(self) -> list[str]:
        """Async twin of `prompts`."""
        return await adrive(self._layout.prompt_names(), self.store)

    def user_summaries(self, user_ids: Sequence[str | None]) -> list[UserSummary]:
        """For each user: active version per prompt, versions awaiting approval, quarantined
        feedback, paused prompts and last change, in a fixed number of round trips (give
        it one page of `users()`).

        Example:
            ```python
            page = registry.users()[:50]
            for row in registry.user_summaries(page):
                print(row.user_id, row.active, row.pending_versions, row.quarantined_feedback)
            ```

        Raises:
            TypeError, ValueError: If a user id is not a non-empty string or `None`.
        """
        refs = [UserRef.of(user_id) for user_id in user_ids]
        return drive(self._layout.user_summaries(refs, self.scope), self.store)

    async def auser_summaries(self, user_ids: Sequence[str | None]) -> list[UserSummary]:
        """Async twin of `user_summaries`."""
        refs = [UserRef.of(user_id) for user_id in user_ids]
        return await adrive(self._layout.user_summaries(refs, self.scope), self.store)

    def pending_versions(self) -> list[LineageVersion]:
        """Every version awaiting approval, across users, oldest first, with the safety
        checks' verdicts on it (`version.flagged`, `version.scores`)."""
        return drive(self._layout.pending_versions(), self.store)

    async def apending_versions(self) -> list[LineageVersion]:
        """Async twin of `pending_versions`."""
        return await adrive(self._layout.pending_versions(), self.store)

    def quarantined_feedback(self) -> list[FeedbackItem]:
        """Every feedback item the firewall quarantined, across users, oldest first
        (release or discard them with `release_feedback` / `discard_feedback`)."""
        return drive(self._layout.quarantined_everywhere(), self.store)

    async def aquarantined_feedback(self) -> list[FeedbackItem]:
        """Async twin of `quarantined_feedback`."""
        return await adrive(self._layout.quarantined_everywhere(), self.store)

    def paused_lineages(self) -> list[PausedLineage]:
        """Every prompt lineage paused after an auto-rollback, across users (end a pause
        with `resume`)."""
        return drive(self._layout.paused_everywhere(), self.store)

    async def apaused_lineages(self) -> list[PausedLineage]:
        """Async twin of `paused_lineages`."""
        return await adrive(self._layout.paused_everywhere(), self.store)
