"""`PromptRegistry`: read what the agent learned, per user."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores import (
    DEFAULT_PREFIX,
    Job,
    PromptVersion,
    StoreLayout,
    UserRef,
    adrive,
    drive,
    open_store,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langgraph.store.base import BaseStore

__all__ = ["PromptRegistry"]

logger = logging.getLogger(__name__)


class PromptRegistry:
    """Read and review the prompt versions stored for each user.

    Args:
        store: The store the middleware writes to (a `BaseStore` or a store URI).
        namespace_prefix: The middleware's `namespace_prefix`.

    Example:
        ```python
        registry = PromptRegistry(store)
        for version in registry.history("jane.doe@example.com"):
            print(version.version, version.status, version.reason)
        ```
    """

    def __init__(
        self, store: BaseStore | str, *, namespace_prefix: Sequence[str] = DEFAULT_PREFIX
    ) -> None:
        self.store = open_store(store) if isinstance(store, str) else store
        self._layout = StoreLayout(namespace_prefix)

    def users(self) -> list[str | None]:
        """Every user id with stored runs or prompts (original strings, oldest first).

        `None` stands for the default namespace (runs without a user id).
        """
        return drive(self._layout.users(), self.store)

    async def ausers(self) -> list[str | None]:
        """Async twin of `users`."""
        return await adrive(self._layout.users(), self.store)

    def history(self, user_id: str | None, prompt: str = "system") -> list[PromptVersion]:
        """Every version of a user's prompt, newest first, including refused candidates.

        Raises:
            UnknownUserError: If nothing is stored for the user.
            UnknownPromptError: If the prompt is not managed.
        """
        return drive(self._layout.history(UserRef.of(user_id), prompt), self.store)

    async def ahistory(self, user_id: str | None, prompt: str = "system") -> list[PromptVersion]:
        """Async twin of `history`."""
        return await adrive(self._layout.history(UserRef.of(user_id), prompt), self.store)

    def current(self, user_id: str | None, prompt: str = "system") -> PromptVersion:
        """The version currently served to the user (status `"active"`).

        Raises:
            UnknownUserError: If nothing is stored for the user.
            UnknownPromptError: If the prompt is not managed.
        """
        return drive(self._current(user_id, prompt), self.store)

    async def acurrent(self, user_id: str | None, prompt: str = "system") -> PromptVersion:
        """Async twin of `current`."""
        return await adrive(self._current(user_id, prompt), self.store)

    def _current(self, user_id: str | None, prompt: str) -> Job[PromptVersion]:
        versions = yield from self._layout.history(UserRef.of(user_id), prompt)
        return next(v for v in versions if v.status == "active")
