"""Reads across users: user summaries and every pending version, quarantined item, pause.

A page of user summaries, and every version pending approval, quarantined feedback item and
paused lineage under the prefix: what the review dashboard lists.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from langgraph.store.base import GetOp, Item

from langchain_prompt_optimization.stores.directory import config_from
from langchain_prompt_optimization.stores.io import batch, search_each
from langchain_prompt_optimization.stores.labels import (
    ACTIVE_KEY,
    GLOBAL_LABEL,
    UserRef,
    decode_label,
)
from langchain_prompt_optimization.stores.lineage import Lineage
from langchain_prompt_optimization.stores.records import (
    LEGACY_FEEDBACK_STATUS,
    LEGACY_KEY,
    ActivePrompt,
    FeedbackItem,
    PromptVersion,
    parse_time,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job

__all__ = ["LineageVersion", "Overview", "PausedLineage", "UserSummary"]

logger = logging.getLogger(__name__)

_QUARANTINED = sorted(
    {"quarantined"} | {old for old, new in LEGACY_FEEDBACK_STATUS.items() if new == "quarantined"}
)
"""The stored statuses read as `quarantined` (the current name and the one before)."""


@dataclass(frozen=True, slots=True)
class UserSummary:
    """One row of the users page.

    Attributes:
        user_id: The user (`None`: the default namespace).
        active: `{prompt: active version number}` of the lineage serving the user (version 1
            for a managed prompt never changed).
        pending_versions: Versions awaiting approval, over all prompts.
        quarantined_feedback: The user's feedback items the firewall quarantined.
        paused: The prompts whose lineage is paused after an auto-rollback.
        last_change: When a prompt pointer last moved (else when the user was first seen).
    """

    user_id: str | None
    active: dict[str, int]
    pending_versions: int
    quarantined_feedback: int
    paused: tuple[str, ...]
    last_change: datetime | None


@dataclass(frozen=True, slots=True)
class LineageVersion:
    """A version found in a search across lineages, with the user it serves (`None`: the
    default namespace, or the shared lineage when `shared`)."""

    user_id: str | None
    shared: bool
    version: PromptVersion


@dataclass(frozen=True, slots=True)
class PausedLineage:
    """A prompt lineage that monitoring paused after an auto-rollback."""

    user_id: str | None
    shared: bool
    prompt: str
    reason: str
    active_version: int
    paused_at: datetime | None


def _owner_of(namespace: tuple[str, ...], depth: int) -> UserRef:
    return UserRef.from_label(namespace[depth])


class Overview(Lineage):
    """Reads across every user under the prefix, as `StoreLayout` jobs."""

    def user_summaries(
        self, users: Sequence[UserRef], scope: str | None = None
    ) -> Job[list[UserSummary]]:
        """The summary of each of `users` (one page of the users list), in three round trips
        whatever the page size: the users and the configuration, the pointers, the
        quarantined feedback.

        Args:
            users: The users to summarize.
            scope: `"user"` or `"global"`; default: the scope recorded in the store.
        """
        if not users:
            return []
        first: list[Op] = [self._config_get()]
        first += [GetOp(self._users_ns(), user.digest) for user in users]
        config_item, *user_items = yield from batch(first)
        config = config_from(config_item)
        scope = scope or (config.scope if config is not None else "user")
        names = sorted(config.specs) if config is not None else []
        owners = [UserRef.global_lineage() if scope == "global" else user for user in users]
        distinct = list(dict.fromkeys(owners))
        pointer_keys = [(owner, name) for owner in distinct for name in names]
        results = yield from batch(
            [GetOp(self._prompt_ns(owner, name), ACTIVE_KEY) for owner, name in pointer_keys]
        )
        pointers = {
            key: item for key, item in zip(pointer_keys, results, strict=True) if item is not None
        }
        queries = []
        for user, owner in zip(users, owners, strict=True):
            query: dict[str, Any] = {} if owner == user else {"user_label": user.label}
            queries += [(self._feedback_ns(owner), {**query, "status": s}) for s in _QUARANTINED]
        found = yield from search_each(queries)
        per_user = len(_QUARANTINED)
        summaries = []
        for index, (user, owner, user_item) in enumerate(
            zip(users, owners, user_items, strict=True)
        ):
            active: dict[str, int] = {}
            pending = 0
            paused: list[str] = []
            changes: list[datetime] = []
            for name in names:
                item = pointers.get((owner, name))
                if not isinstance(item, Item):
                    active[name] = 1
                    continue
                state = ActivePrompt.from_json(item.value)
                active[name] = state.version
                pending += len(state.pending)
                if state.paused is not None:
                    paused.append(name)
                changes.append(item.updated_at)
            if not changes and isinstance(user_item, Item):
                changes.append(_created(user_item))
            quarantined = {
                item.key for items in found[index * per_user : (index + 1) * per_user]
                for item in items
            }  # fmt: skip
            summaries.append(
                UserSummary(
                    user_id=user.user_id,
                    active=active,
                    pending_versions=pending,
                    quarantined_feedback=len(quarantined),
                    paused=tuple(paused),
                    last_change=max(changes) if changes else None,
                )
            )
        return summaries

    def pending_versions(self) -> Job[list[LineageVersion]]:
        """Every version awaiting approval in every lineage under the prefix, oldest first
        (one search across the prefix)."""
        (items,) = yield from search_each([(self.prefix, {"outcome": "pending"})], exact=False)
        depth = len(self.prefix)
        found = []
        for item in items:
            ns = item.namespace
            if len(ns) != depth + 3 or ns[depth + 1] != "prompts":
                continue
            try:
                version = PromptVersion.from_json(dict(item.value), active_version=None)
            except (KeyError, TypeError, ValueError):
                logger.warning("unreadable version record %r in %r; skipped", item.key, ns)
                continue
            owner = _owner_of(ns, depth)
            found.append(LineageVersion(owner.user_id, owner.label == GLOBAL_LABEL, version))
        return sorted(found, key=lambda f: (f.version.created_at, f.version.version))

    def quarantined_everywhere(self) -> Job[list[FeedbackItem]]:
        """Every quarantined feedback item under the prefix, oldest first (one search across
        the prefix per stored name of the status)."""
        results = yield from search_each(
            [(self.prefix, {"status": status}) for status in _QUARANTINED], exact=False
        )
        depth = len(self.prefix)
        found: dict[tuple[tuple[str, ...], str], FeedbackItem] = {}
        for items in results:
            for item in items:
                if len(item.namespace) != depth + 2 or item.namespace[-1] != "feedback":
                    continue
                try:
                    fb = FeedbackItem.from_json(item.value)
                except (KeyError, TypeError, ValueError):
                    logger.warning("unreadable feedback record %r; skipped", item.key)
                    continue
                if fb.user_label:  # the exact id (the stored `user_id` may be made storable)
                    fb = _with_user(fb, UserRef.from_label(fb.user_label).user_id)
                found[(item.namespace, item.key)] = fb
        return sorted(found.values(), key=lambda fb: (fb.created_at, fb.id))

    def paused_everywhere(self) -> Job[list[PausedLineage]]:
        """Every paused prompt lineage under the prefix (pointers whose `paused` is set)."""
        results = yield from search_each(
            [(self.prefix, {key: {"$ne": None}}) for key in ("paused", LEGACY_KEY)], exact=False
        )
        depth = len(self.prefix)
        found: dict[tuple[str, ...], PausedLineage] = {}
        for items in results:
            for item in items:
                ns = item.namespace
                if item.key != ACTIVE_KEY or len(ns) != depth + 3 or ns[depth + 1] != "prompts":
                    continue
                state = ActivePrompt.from_json(item.value)
                if not state.paused:
                    continue
                owner = _owner_of(ns, depth)
                found[ns] = PausedLineage(
                    user_id=owner.user_id,
                    shared=owner.label == GLOBAL_LABEL,
                    prompt=decode_label(ns[depth + 2]),
                    reason=state.paused,
                    active_version=state.version,
                    paused_at=item.updated_at,
                )
        return sorted(found.values(), key=lambda p: (p.paused_at is None, p.paused_at))

    def prompt_names(self) -> Job[list[str]]:
        """The managed prompts recorded by the middleware (`system` first)."""
        config = yield from self.read_config()
        return sorted(config.specs, key=lambda name: (name != config.system_prompt, name))


def _created(item: Item) -> datetime:
    value = item.value.get("created_at")
    return parse_time(value) if isinstance(value, str) else item.created_at


def _with_user(fb: FeedbackItem, user_id: str | None) -> FeedbackItem:
    return replace(fb, user_id=user_id)
