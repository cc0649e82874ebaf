"""`PromptRegistry`: see, approve, reject and roll back what the agent learned, per user."""

from __future__ import annotations

import logging
import uuid
import warnings
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from langchain_prompt_optimization._deprecated import warn_renamed
from langchain_prompt_optimization.errors import (
    TrajectoryNotFoundError,
    UnknownExampleError,
    UnknownUserError,
    UnknownVersionError,
)
from langchain_prompt_optimization.optimizer.budget import DEFAULT_USAGE_WINDOW, usage_report
from langchain_prompt_optimization.optimizer.learned_section import section_content
from langchain_prompt_optimization.review.queues import ReviewQueues
from langchain_prompt_optimization.stores import (
    DEFAULT_PREFIX,
    Example,
    FeedbackItem,
    Job,
    PromptVersion,
    StoreLayout,
    UserRef,
    adrive,
    drive,
    open_store,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.optimizer.budget import UsageReport

__all__ = ["PromptRegistry"]

logger = logging.getLogger(__name__)

_LEASE_TTL = 30.0
_FULL_ID_LENGTH = 32
"""Feedback ids are 32 hex characters: anything shorter is looked up as a prefix."""
T = TypeVar("T")


def _run_part(trajectory_id: str) -> str:
    """A trajectory id without its user digest (`<digest>-<run>` -> `<run>`)."""
    _, sep, run = trajectory_id.partition("-")
    return run if sep else trajectory_id


def _unique_match(
    what: str, token: str, ids: set[str], also: Callable[[str], str] | None = None
) -> str | None:
    """The one id in `ids` that equals `token` or starts with it (or whose `also(id)` does);
    `None` when none does.

    Raises:
        ValueError: If `token` is the prefix of several ids (the message lists them).
    """
    if token in ids:
        return token
    if not token:
        return None
    matches = sorted(
        i for i in ids if i.startswith(token) or (also is not None and also(i).startswith(token))
    )
    if len(matches) > 1:
        listed = ", ".join(matches[:10]) + (", ..." if len(matches) > 10 else "")
        msg = f"{what} prefix {token!r} is ambiguous: it matches {len(matches)} ({listed})"
        raise ValueError(msg)
    return matches[0] if matches else None


class PromptRegistry(ReviewQueues):
    """Read and govern the prompt versions stored for each user.

    Every method has an async twin (`ausers`, `acurrent`, ...). Changes (`approve`,
    `reject`, `rollback`) take the namespace's lease, so they never race an optimization;
    history is append-only.

    Args:
        store: The store the middleware writes to (a `BaseStore` or a store URI).
        namespace_prefix: The middleware's `namespace_prefix`.
        scope: The middleware's `scope`; default: the scope the middleware recorded in the
            store (`"user"` if none). With `"global"`, every user is served the one shared
            lineage, so prompt methods address it whatever `user_id` is given.
        lease_wait: Seconds a change waits for a busy namespace before raising
            `NamespaceBusyError`.
        read_only: With a store URI: open it only to read (`open_store(uri, read_only=True)`:
            no setup; a read-only SQLite file works). Changes then raise the store's error.

    Raises:
        ValueError: On an invalid prefix, scope, or store URI.

    Example:
        ```python
        registry = PromptRegistry(store)
        for v in registry.history("jane.doe@example.com"):
            print(v.version, v.status, v.reason)
        print(registry.diff("jane.doe@example.com", 1, 2))
        registry.rollback("jane.doe@example.com", 1)
        ```
    """

    def __init__(
        self,
        store: BaseStore | str,
        *,
        namespace_prefix: Sequence[str] = DEFAULT_PREFIX,
        scope: Literal["user", "global"] | None = None,
        lease_wait: float = 10.0,
        read_only: bool = False,
    ) -> None:
        if scope not in (None, "user", "global"):
            msg = f"scope must be 'user' or 'global'; got {scope!r}"
            raise ValueError(msg)
        self.store = (
            open_store(store, read_only=read_only, create=not read_only)
            if isinstance(store, str)
            else store
        )
        self.scope = scope
        self.lease_wait = lease_wait
        self._layout = StoreLayout(namespace_prefix)
        self._holder = f"registry-{uuid.uuid4().hex[:12]}"

    def _refs(self, user_id: str | None) -> Job[tuple[UserRef, UserRef]]:
        user = UserRef.of(user_id)
        scope: str | None = self.scope
        if scope is None:
            scope = (yield from self._layout.read_config()).scope
        owner = UserRef.global_lineage() if scope == "global" else user
        return user, owner

    # -- reading --------------------------------------------------------------------------------

    def users(self) -> list[str | None]:
        """Every user id with stored runs or prompts (original strings, oldest first).

        Paginated internally: never cut at `search`'s default limit. `None` stands for the
        default namespace (runs without a user id).
        """
        return drive(self._layout.users(), self.store)

    async def ausers(self) -> list[str | None]:
        """Async twin of `users`."""
        return await adrive(self._layout.users(), self.store)

    def _history(self, user_id: str | None, prompt: str) -> Job[list[PromptVersion]]:
        user, owner = yield from self._refs(user_id)
        return (yield from self._layout.history(user, owner, prompt))

    def history(self, user_id: str | None, prompt: str = "system") -> list[PromptVersion]:
        """Every version of a user's prompt, newest first, refused candidates included.

        Raises:
            UnknownUserError: If nothing is stored for the user.
            UnknownPromptError: If the prompt is not managed.
        """
        return drive(self._history(user_id, prompt), self.store)

    async def ahistory(self, user_id: str | None, prompt: str = "system") -> list[PromptVersion]:
        """Async twin of `history`."""
        return await adrive(self._history(user_id, prompt), self.store)

    def _current(self, user_id: str | None, prompt: str) -> Job[PromptVersion]:
        versions = yield from self._history(user_id, prompt)
        return next(v for v in versions if v.status == "active")

    def current(self, user_id: str | None, prompt: str = "system") -> PromptVersion:
        """The version served to the user now (status `"active"`).

        Raises:
            UnknownUserError: If nothing is stored for the user.
            UnknownPromptError: If the prompt is not managed.
        """
        return drive(self._current(user_id, prompt), self.store)

    async def acurrent(self, user_id: str | None, prompt: str = "system") -> PromptVersion:
        """Async twin of `current`."""
        return await adrive(self._current(user_id, prompt), self.store)

    def _version(self, user_id: str | None, version: int, prompt: str) -> Job[PromptVersion]:
        versions = yield from self._history(user_id, prompt)
        for entry in versions:
            if entry.version == version:
                return entry
        raise UnknownVersionError(user_id, prompt, version)

    def version(self, user_id: str | None, version: int, prompt: str = "system") -> PromptVersion:
        """One version of a user's prompt.

        Raises:
            UnknownVersionError: If there is no such version.
        """
        return drive(self._version(user_id, version, prompt), self.store)

    async def aversion(
        self, user_id: str | None, version: int, prompt: str = "system"
    ) -> PromptVersion:
        """Async twin of `version`."""
        return await adrive(self._version(user_id, version, prompt), self.store)

    def _learned_section(
        self, user_id: str | None, version: int | None, prompt: str
    ) -> Job[str | None]:
        found = yield from (
            self._current(user_id, prompt)
            if version is None
            else self._version(user_id, version, prompt)
        )
        return section_content(found.text)

    def learned_section(
        self, user_id: str | None, version: int | None = None, prompt: str = "system"
    ) -> str | None:
        """The learned section's content of a version (the active one by default): the only
        text the optimizer edits in learned-section mode; `None` if the version has none.

        Raises:
            UnknownVersionError: If there is no such version.
        """
        return drive(self._learned_section(user_id, version, prompt), self.store)

    async def alearned_section(
        self, user_id: str | None, version: int | None = None, prompt: str = "system"
    ) -> str | None:
        """Async twin of `learned_section`."""
        return await adrive(self._learned_section(user_id, version, prompt), self.store)

    def _diff(self, user_id: str | None, a: int, b: int, prompt: str) -> Job[str]:
        versions = yield from self._history(user_id, prompt)
        by_number = {v.version: v for v in versions}
        for number in (a, b):
            if number not in by_number:
                raise UnknownVersionError(user_id, prompt, number)
        import difflib  # only `diff` needs it

        lines = difflib.unified_diff(
            by_number[a].text.splitlines(),
            by_number[b].text.splitlines(),
            fromfile=f"{prompt} v{a}",
            tofile=f"{prompt} v{b}",
            lineterm="",
        )
        return "".join(f"{line}\n" for line in lines)

    def diff(self, user_id: str | None, a: int, b: int, prompt: str = "system") -> str:
        """Unified diff from version `a` to version `b` (empty when the texts are equal).

        Raises:
            UnknownVersionError: If either version does not exist.
        """
        return drive(self._diff(user_id, a, b, prompt), self.store)

    async def adiff(self, user_id: str | None, a: int, b: int, prompt: str = "system") -> str:
        """Async twin of `diff`."""
        return await adrive(self._diff(user_id, a, b, prompt), self.store)

    def _feedback(
        self,
        user_id: str | None,
        pending_only: bool,
        status: str | None,
        trajectory_id: str | None = None,
    ) -> Job[list[FeedbackItem]]:
        user, owner = yield from self._refs(user_id)
        if not (yield from self._layout.is_known_user(user)):
            raise UnknownUserError(user_id)
        if trajectory_id is None:
            return (
                yield from self._layout.feedback_of(
                    user, owner, pending_only=pending_only, status=status
                )
            )
        items = yield from self._layout.feedback_of(user, owner, pending_only=False)
        run = _unique_match(
            "trajectory id",
            trajectory_id,
            {fb.trajectory_id for fb in items},
            also=_run_part,
        )
        if run is None:
            raise TrajectoryNotFoundError(
                trajectory_id, f"no feedback on such a run of {user_id!r}"
            )
        wanted = status or ("pending" if pending_only else None)
        return [
            fb
            for fb in items
            if fb.trajectory_id == run and (wanted is None or fb.status == wanted)
        ]

    def feedback(
        self,
        user_id: str | None,
        pending_only: bool = True,
        *,
        status: str | None = None,
        trajectory_id: str | None = None,
    ) -> list[FeedbackItem]:
        """A user's feedback items (oldest first) with trajectory ids, scores and status.

        Args:
            user_id: The user.
            pending_only: Only items waiting for an optimization.
            status: Only items in this state (`pending`, `consumed`, `quarantined`,
                `discarded`, `failed`); overrides `pending_only`. Quarantined items carry
                `quarantine_reason`. `held` (the name before the rename) is read as
                `quarantined`.
            trajectory_id: Only feedback on this run. A unique prefix of the id, or of its run
                part after the user digest (what `promptopt feedback` prints), is accepted.

        Raises:
            UnknownUserError: If nothing is stored for the user.
            TrajectoryNotFoundError: If no feedback of the user names such a run.
            ValueError: If a `trajectory_id` prefix matches several runs (the message lists
                them), or `status` is not a feedback status.
        """
        status = _feedback_status(status)
        return drive(self._feedback(user_id, pending_only, status, trajectory_id), self.store)

    async def afeedback(
        self,
        user_id: str | None,
        pending_only: bool = True,
        *,
        status: str | None = None,
        trajectory_id: str | None = None,
    ) -> list[FeedbackItem]:
        """Async twin of `feedback`."""
        status = _feedback_status(status)
        return await adrive(
            self._feedback(user_id, pending_only, status, trajectory_id), self.store
        )

    def _feedback_counts(self, user_id: str | None) -> Job[dict[str, dict[str, int]]]:
        items = yield from self._feedback(user_id, False, None)
        counts: dict[str, dict[str, int]] = {}
        for fb in items:
            by_status = counts.setdefault(fb.source, {})
            by_status[fb.status] = by_status.get(fb.status, 0) + 1
        return {source: counts[source] for source in sorted(counts)}

    def feedback_counts(self, user_id: str | None) -> dict[str, dict[str, int]]:
        """How much feedback a user's runs got from each source, by status.

        People's feedback has the sources `api`, `in_band` and `cli`; evaluators' has
        `evaluator:<key>` (see `FeedbackItem.from_evaluator`).

        Returns:
            `{source: {status: count}}`, sources sorted, e.g.
            `{"api": {"consumed": 3}, "evaluator:trajectory_accuracy": {"pending": 2}}`.

        Raises:
            UnknownUserError: If nothing is stored for the user.
        """
        return drive(self._feedback_counts(user_id), self.store)

    async def afeedback_counts(self, user_id: str | None) -> dict[str, dict[str, int]]:
        """Async twin of `feedback_counts`."""
        return await adrive(self._feedback_counts(user_id), self.store)

    def _examples(self, user_id: str | None) -> Job[list[Example]]:
        user, owner = yield from self._refs(user_id)
        if owner == user and not (yield from self._layout.is_known_user(user)):
            raise UnknownUserError(user_id)
        return (yield from self._layout.examples(owner))

    def examples(self, user_id: str | None) -> list[Example]:
        """The evaluation gate's examples for the lineage serving a user, newest first.

        Raises:
            UnknownUserError: If nothing is stored for the user.
        """
        return drive(self._examples(user_id), self.store)

    async def aexamples(self, user_id: str | None) -> list[Example]:
        """Async twin of `examples`."""
        return await adrive(self._examples(user_id), self.store)

    # -- monitoring -----------------------------------------------------------------------------

    def _monitoring(
        self, user_id: str | None, prompt: str
    ) -> Job[tuple[list[dict[str, Any]], str | None]]:
        user, owner = yield from self._refs(user_id)
        if owner == user and not (yield from self._layout.is_known_user(user)):
            raise UnknownUserError(user_id)
        stats, paused = yield from self._layout.scores(owner, prompt)
        scores = []
        for version in sorted({*stats.people, *stats.evaluators}, reverse=True):
            n, total = stats.people.get(version, (0, 0.0))
            entry: dict[str, Any] = {"version": version, "n": n, "mean": total / n if n else None}
            if version in stats.evaluators:
                eval_n, eval_total = stats.evaluators[version]
                entry["evaluator_n"] = eval_n
                entry["evaluator_mean"] = eval_total / eval_n if eval_n else None
            scores.append(entry)
        return scores, paused

    def _scores(self, user_id: str | None, prompt: str) -> Job[list[dict[str, Any]]]:
        scores, _ = yield from self._monitoring(user_id, prompt)
        return scores

    def scores(self, user_id: str | None, prompt: str = "system") -> list[dict[str, Any]]:
        """Feedback scores per version of a user's prompt, newest version first.

        Counted when an optimization consumes scored feedback, for the versions that served
        the run (see `Monitor`). People's and evaluators' scores are counted apart. Versions
        without scored feedback are left out.

        Returns:
            `[{"version": n, "n": runs people scored, "mean": their mean score}, ...]`
            (`n` 0 and `mean` `None` when only evaluators scored the version); with
            `"evaluator_n"` and `"evaluator_mean"` for versions evaluators scored.

        Raises:
            UnknownUserError: If nothing is stored for the user.
            UnknownPromptError: If the prompt is not managed.
        """
        return drive(self._scores(user_id, prompt), self.store)

    async def ascores(self, user_id: str | None, prompt: str = "system") -> list[dict[str, Any]]:
        """Async twin of `scores`."""
        return await adrive(self._scores(user_id, prompt), self.store)

    def _paused(self, user_id: str | None, prompt: str) -> Job[str | None]:
        _, paused = yield from self._monitoring(user_id, prompt)
        return paused

    def paused(self, user_id: str | None, prompt: str = "system") -> str | None:
        """Why the prompt's lineage is paused for review after an auto-rollback; `None` if
        it is not paused.

        Example:
            >>> registry.paused("jane.doe@example.com")  # doctest: +SKIP
            'auto-rollback: v2 mean 0.00 over 1 scored runs is below parent v1 ...'

        Raises:
            UnknownUserError: If nothing is stored for the user.
            UnknownPromptError: If the prompt is not managed.
        """
        return drive(self._paused(user_id, prompt), self.store)

    async def apaused(self, user_id: str | None, prompt: str = "system") -> str | None:
        """Async twin of `paused`."""
        return await adrive(self._paused(user_id, prompt), self.store)

    def hold(self, user_id: str | None, prompt: str = "system") -> str | None:
        """Deprecated alias of `paused` (renamed; kept one release)."""
        warn_renamed("PromptRegistry.hold", "PromptRegistry.paused")
        return self.paused(user_id, prompt)

    async def ahold(self, user_id: str | None, prompt: str = "system") -> str | None:
        """Deprecated alias of `apaused` (renamed; kept one release)."""
        warn_renamed("PromptRegistry.ahold", "PromptRegistry.apaused")
        return await self.apaused(user_id, prompt)

    def _lineage_change(self, user_id: str | None, change: Callable[[UserRef], Job[T]]) -> Job[T]:
        """Run `change(owner)` on the user's lineage under its lease (a known user only)."""
        user, owner = yield from self._refs(user_id)
        if owner == user and not (yield from self._layout.is_known_user(user)):
            raise UnknownUserError(user_id)
        return (
            yield from self._layout.under_lease(
                owner, self._holder, change(owner), ttl=_LEASE_TTL, wait=self.lease_wait
            )
        )

    def _resume(self, user_id: str | None, prompt: str, note: str) -> Job[str]:
        return self._lineage_change(
            user_id, lambda owner: self._layout.resume(owner, prompt, note=note)
        )

    def resume(self, user_id: str | None, prompt: str = "system", *, note: str = "") -> str:
        """Resume a prompt's lineage that monitoring paused after an auto-rollback:
        accepted candidates are activated again (unless approval is required). Approving a
        version or rolling back also resumes it.

        Example:
            >>> registry.resume("jane.doe@example.com", note="checked")  # doctest: +SKIP

        Returns:
            The reason the lineage was paused.

        Raises:
            InvalidTransitionError: If the lineage is not paused.
            UnknownUserError: If nothing is stored for the user.
            NamespaceBusyError: If an optimization holds the namespace too long.
        """
        return drive(self._resume(user_id, prompt, note), self.store)

    async def aresume(self, user_id: str | None, prompt: str = "system", *, note: str = "") -> str:
        """Async twin of `resume`."""
        return await adrive(self._resume(user_id, prompt, note), self.store)

    def release(self, user_id: str | None, prompt: str = "system", *, note: str = "") -> str:
        """Deprecated alias of `resume` (renamed; kept one release)."""
        warn_renamed("PromptRegistry.release", "PromptRegistry.resume")
        return self.resume(user_id, prompt, note=note)

    async def arelease(self, user_id: str | None, prompt: str = "system", *, note: str = "") -> str:
        """Deprecated alias of `aresume` (renamed; kept one release)."""
        warn_renamed("PromptRegistry.arelease", "PromptRegistry.aresume")
        return await self.aresume(user_id, prompt, note=note)

    # -- model usage ----------------------------------------------------------------------------

    def _budget_usage(
        self, user_id: str | None, window: str, at: datetime | None, per: str
    ) -> Job[UsageReport]:
        if per not in ("user", "global"):
            msg = f"per must be 'user' or 'global'; got {per!r}"
            raise ValueError(msg)
        owner = None if per == "global" else (yield from self._refs(user_id))[1]
        return (yield from usage_report(self._layout, owner, window, at))

    def budget_usage(
        self,
        user_id: str | None = None,
        *,
        window: str = DEFAULT_USAGE_WINDOW,
        at: datetime | None = None,
        per: Literal["user", "global"] = "user",
    ) -> UsageReport:
        """The model calls and tokens optimizations spent in one window (what a `Budget`
        counts): of the lineage serving `user_id`, or of every lineage with `per="global"`.

        Every optimization that called a model is in the store's usage ledger (optimizer,
        gate and judge calls, failed and unchanged ones included), budget or not.

        Args:
            user_id: The user (`None`: the default namespace); ignored with `per="global"`.
            window: The window spec (`"1h"`, `"1d"`, `"7d"`; aligned to the Unix epoch in UTC).
            at: A time in the window wanted (`None`: now).
            per: `"user"` or `"global"`.

        Raises:
            ValueError: On a bad `window` or `per`.

        Example:
            ```python
            report = registry.budget_usage("jane@example.com", window="1d")
            print(report.usage["calls"], report.usage["input_tokens"])
            ```
        """
        return drive(self._budget_usage(user_id, window, at, per), self.store)

    async def abudget_usage(
        self,
        user_id: str | None = None,
        *,
        window: str = DEFAULT_USAGE_WINDOW,
        at: datetime | None = None,
        per: Literal["user", "global"] = "user",
    ) -> UsageReport:
        """Async twin of `budget_usage`."""
        return await adrive(self._budget_usage(user_id, window, at, per), self.store)

    # -- canaries -------------------------------------------------------------------------------

    def _stop_canary(self, user_id: str | None, prompt: str, note: str) -> Job[list[PromptVersion]]:
        return self._lineage_change(
            user_id, lambda owner: self._layout.stop_canary(owner, prompt, note=note)
        )

    def stop_canary(
        self, user_id: str | None, prompt: str = "system", *, note: str = ""
    ) -> list[PromptVersion]:
        """Stop the canary running on a user's prompt: its version (and those of every
        prompt of the same candidate set) is rejected and the active versions serve
        everyone again. The feedback that waited for the canary is then learned from.

        Example:
            >>> registry.stop_canary("jane@example.com", note="off-brand")  # doctest: +SKIP

        Returns:
            The stopped canary versions (now `rejected`).

        Raises:
            InvalidTransitionError: If no canary runs on the prompt.
            UnknownUserError: If nothing is stored for the user.
            UnknownPromptError: If the prompt is not managed.
            NamespaceBusyError: If an optimization holds the namespace too long.
        """
        return drive(self._stop_canary(user_id, prompt, note), self.store)

    async def astop_canary(
        self, user_id: str | None, prompt: str = "system", *, note: str = ""
    ) -> list[PromptVersion]:
        """Async twin of `stop_canary`."""
        return await adrive(self._stop_canary(user_id, prompt, note), self.store)

    # -- retention ------------------------------------------------------------------------------

    def _prune(self, user_id: str | None, keep: int, everyone: bool) -> Job[int]:
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            msg = f"keep must be a non-negative int; got {keep!r}"
            raise ValueError(msg)
        if everyone:
            return (yield from self._layout.prune_all(keep=keep, holder=self._holder))
        user, owner = yield from self._refs(user_id)
        if not (yield from self._layout.is_known_user(user)):
            raise UnknownUserError(user_id)
        prune = self._layout.prune_trajectories(user, owner, keep=keep)
        return (
            yield from self._layout.under_lease(
                owner, self._holder, prune, ttl=_LEASE_TTL, wait=self.lease_wait
            )
        )

    def prune(
        self, user_id: str | None = None, *, keep: int = 1_000, all_users: bool = False
    ) -> int:
        """Delete trajectories beyond the newest `keep` of a user (or of every user).

        Runs whose feedback is still pending are kept; prompt versions are never deleted.

        Returns:
            How many trajectories were deleted.
        """
        return drive(self._prune(user_id, keep, all_users), self.store)

    async def aprune(
        self, user_id: str | None = None, *, keep: int = 1_000, all_users: bool = False
    ) -> int:
        """Async twin of `prune`."""
        return await adrive(self._prune(user_id, keep, all_users), self.store)

    # -- changing -------------------------------------------------------------------------------

    def _leased(self, user_id: str | None, change: Callable[[UserRef], Job[T]]) -> Job[T]:
        user, owner = yield from self._refs(user_id)
        if owner == user and not (yield from self._layout.is_known_user(user)):
            raise UnknownUserError(user_id)
        return (
            yield from self._layout.under_lease(
                owner, self._holder, change(owner), ttl=_LEASE_TTL, wait=self.lease_wait
            )
        )

    def _review(
        self, user_id: str | None, version: int, prompt: str, approve: bool, note: str
    ) -> Job[PromptVersion]:
        return self._leased(
            user_id,
            lambda owner: self._layout.review(owner, prompt, version, approve=approve, note=note),
        )

    def approve(
        self, user_id: str | None, version: int, prompt: str = "system", *, note: str = ""
    ) -> PromptVersion:
        """Activate a pending version: the user's next run is served it.

        Raises:
            UnknownVersionError: If there is no such version.
            InvalidTransitionError: If the version is not pending.
            NamespaceBusyError: If an optimization holds the namespace too long.
        """
        return drive(self._review(user_id, version, prompt, True, note), self.store)

    async def aapprove(
        self, user_id: str | None, version: int, prompt: str = "system", *, note: str = ""
    ) -> PromptVersion:
        """Async twin of `approve`."""
        return await adrive(self._review(user_id, version, prompt, True, note), self.store)

    def reject(
        self, user_id: str | None, version: int, prompt: str = "system", *, note: str = ""
    ) -> PromptVersion:
        """Reject a pending version; the active one stays.

        Raises:
            UnknownVersionError: If there is no such version.
            InvalidTransitionError: If the version is not pending.
        """
        return drive(self._review(user_id, version, prompt, False, note), self.store)

    async def areject(
        self, user_id: str | None, version: int, prompt: str = "system", *, note: str = ""
    ) -> PromptVersion:
        """Async twin of `reject`."""
        return await adrive(self._review(user_id, version, prompt, False, note), self.store)

    def _rollback(
        self, user_id: str | None, to_version: int, prompt: str, note: str
    ) -> Job[PromptVersion]:
        return self._leased(
            user_id, lambda owner: self._layout.rollback(owner, prompt, to_version, note=note)
        )

    def rollback(
        self, user_id: str | None, to_version: int, prompt: str = "system", *, note: str = ""
    ) -> PromptVersion:
        """Append a NEW active version whose text equals `to_version`'s; nothing is rewritten.

        Returns:
            The new version.

        Raises:
            UnknownVersionError: If there is no such version.
            InvalidTransitionError: If the target was never served or is already active.
        """
        return drive(self._rollback(user_id, to_version, prompt, note), self.store)

    async def arollback(
        self, user_id: str | None, to_version: int, prompt: str = "system", *, note: str = ""
    ) -> PromptVersion:
        """Async twin of `rollback`."""
        return await adrive(self._rollback(user_id, to_version, prompt, note), self.store)

    # -- quarantined feedback and gate examples ----------------------------------------------------

    def _review_feedback(
        self, user_id: str | None, feedback_id: str, release: bool, note: str
    ) -> Job[FeedbackItem]:
        user, owner = yield from self._refs(user_id)
        if owner == user and not (yield from self._layout.is_known_user(user)):
            raise UnknownUserError(user_id)
        if isinstance(feedback_id, str) and 0 < len(feedback_id) < _FULL_ID_LENGTH:
            items = yield from self._layout.feedback_of(user, owner, pending_only=False)
            ids = {fb.id for fb in items}
            feedback_id = _unique_match("feedback id", feedback_id, ids) or feedback_id
        review = self._layout.review_feedback(owner, user, feedback_id, release=release, note=note)
        return (
            yield from self._layout.under_lease(
                owner, self._holder, review, ttl=_LEASE_TTL, wait=self.lease_wait
            )
        )

    def release_feedback(
        self, user_id: str | None, feedback_id: str, *, note: str = ""
    ) -> FeedbackItem:
        """Release feedback the firewall quarantined: it is pending again and not screened again.

        `feedback_id` may be a unique prefix of the id (`promptopt feedback` prints 8
        characters).

        Raises:
            UnknownFeedbackError: If the user has no such feedback.
            InvalidTransitionError: If it is not quarantined.
            ValueError: If a prefix matches several of the user's items (the message lists
                them).
        """
        return drive(self._review_feedback(user_id, feedback_id, True, note), self.store)

    async def arelease_feedback(
        self, user_id: str | None, feedback_id: str, *, note: str = ""
    ) -> FeedbackItem:
        """Async twin of `release_feedback`."""
        return await adrive(self._review_feedback(user_id, feedback_id, True, note), self.store)

    def discard_feedback(
        self, user_id: str | None, feedback_id: str, *, note: str = ""
    ) -> FeedbackItem:
        """Discard feedback the firewall quarantined: it stays readable, never learned from.

        `feedback_id` may be a unique prefix of the id, as for `release_feedback`.

        Raises:
            UnknownFeedbackError: If the user has no such feedback.
            InvalidTransitionError: If it is not quarantined.
            ValueError: If a prefix matches several of the user's items.
        """
        return drive(self._review_feedback(user_id, feedback_id, False, note), self.store)

    async def adiscard_feedback(
        self, user_id: str | None, feedback_id: str, *, note: str = ""
    ) -> FeedbackItem:
        """Async twin of `discard_feedback`."""
        return await adrive(self._review_feedback(user_id, feedback_id, False, note), self.store)

    def _add_example(self, user_id: str | None, messages: Any, note: str) -> Job[Example]:
        from langchain_prompt_optimization.optimizer.gate import reference_example  # agentevals

        example = reference_example(messages, note=note)
        _, owner = yield from self._refs(user_id)
        return (yield from self._layout.add_example(owner, example))

    def add_example(self, user_id: str | None, messages: Any, *, note: str = "") -> Example:
        """Add a reference trajectory the evaluation gate replays (see
        `PromptOptimizationMiddleware.add_example`).

        Raises:
            TypeError, ValueError: If `messages` is not a usable trajectory.
        """
        return drive(self._add_example(user_id, messages, note), self.store)

    async def aadd_example(self, user_id: str | None, messages: Any, *, note: str = "") -> Example:
        """Async twin of `add_example`."""
        return await adrive(self._add_example(user_id, messages, note), self.store)

    def _remove_example(self, user_id: str | None, example_id: str) -> Job[None]:
        _, owner = yield from self._refs(user_id)
        if not (yield from self._layout.delete_example(owner, example_id)):
            raise UnknownExampleError(user_id, example_id)

    def remove_example(self, user_id: str | None, example_id: str) -> None:
        """Delete an evaluation-gate example.

        Raises:
            UnknownExampleError: If there is no such example.
        """
        drive(self._remove_example(user_id, example_id), self.store)

    async def aremove_example(self, user_id: str | None, example_id: str) -> None:
        """Async twin of `remove_example`."""
        await adrive(self._remove_example(user_id, example_id), self.store)


FEEDBACK_STATUSES = ("pending", "consumed", "quarantined", "discarded", "failed")
"""Every state a feedback item can be in (docs/statuses.md)."""


def _feedback_status(status: str | None) -> str | None:
    """`status` checked: a feedback status, or `None`; `held` (its name before the rename)
    works one more release, with a `DeprecationWarning`."""
    if status is None or status in FEEDBACK_STATUSES:
        return status
    if status == "held":
        warnings.warn(
            "status='held' is deprecated (renamed); use status='quarantined'. The old name "
            "goes in the next release.",
            DeprecationWarning,
            stacklevel=3,
        )
        return "quarantined"
    msg = f"status must be one of {', '.join(FEEDBACK_STATUSES)} or None; got {status!r}"
    raise ValueError(msg)
