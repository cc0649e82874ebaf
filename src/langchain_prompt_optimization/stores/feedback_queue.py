"""The feedback queue: feedback records, their states, and the pending-work index workers read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langgraph.store.base import GetOp, Item, PutOp

from langchain_prompt_optimization.errors import (
    FeedbackOutcomeUnknownError,
    InvalidTransitionError,
    UnknownFeedbackError,
)
from langchain_prompt_optimization.stores.io import batch, search_any
from langchain_prompt_optimization.stores.labels import Namespaces, UserRef
from langchain_prompt_optimization.stores.records import (
    LEGACY_FEEDBACK_STATUS,
    FeedbackItem,
    review_stamp,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.records import TrajectoryRecord

__all__ = ["FeedbackQueue"]


def _oldest_first(items: Iterable[FeedbackItem]) -> list[FeedbackItem]:
    return sorted(items, key=lambda fb: (fb.created_at, fb.id))


class FeedbackQueue(Namespaces):
    """Feedback items (`pending` → `consumed` / `failed` / `quarantined` → released or discarded)
    and the index of owners with pending work, as `StoreLayout` jobs."""

    # -- the pending-work index -----------------------------------------------------------------

    def _pending_mark_op(self, owner: UserRef) -> PutOp:
        return PutOp(
            self._pending_ns(),
            owner.label,
            {"owner": owner.label, "marked_at": utcnow().isoformat()},
        )

    def mark_pending(self, owner: UserRef) -> Job[None]:
        """Put the owner in the pending-work index that workers read."""
        yield from batch([self._pending_mark_op(owner)])

    def pending_owners(self) -> Job[list[UserRef]]:
        """Owners marked as having triggered, not yet optimized work (oldest mark first)."""
        items = yield from self._search_all(self._pending_ns(), None)
        ordered = sorted(items, key=lambda item: item.value.get("marked_at", ""))
        return [UserRef.from_label(item.key) for item in ordered]

    def settle_pending(self, owner: UserRef) -> Job[bool]:
        """Remove the owner's mark, then put it back if any feedback is still pending
        (untried, or failed fewer than `max_attempts` times: it will be retried).

        The removal comes before the re-count, so feedback that arrives meanwhile is never
        left unmarked. Returns whether the owner is still marked.
        """
        yield from batch([PutOp(self._pending_ns(), owner.label, None)])
        remaining = yield from self.pending_feedback(owner)
        if remaining:
            yield from batch([self._pending_mark_op(owner)])
        return bool(remaining)

    def owner_due(self, owner: UserRef, optimize_every: int) -> Job[bool]:
        """Whether a marked owner has enough work: `optimize_every` untried items, or an
        item to retry after a failed attempt."""
        pending = yield from self.pending_feedback(owner)
        untried = sum(1 for fb in pending if fb.attempts == 0)
        return untried >= optimize_every or any(fb.attempts > 0 for fb in pending)

    # -- feedback records -----------------------------------------------------------------------

    def add_feedback(
        self,
        owner: UserRef,
        item: FeedbackItem,
        *,
        mark_pending: bool = False,
        keep_run: TrajectoryRecord | None = None,
    ) -> Job[int]:
        """Store a feedback item with its lineage owner; return `new_pending_count` after it.

        In the same batch: the owner's pending-work mark (external mode: workers apply the
        trigger) and, with `keep_run`, the run it is about written again without a TTL so it
        cannot expire while its feedback waits.
        """
        ops: list[Op] = [PutOp(self._feedback_ns(owner), item.id, item.to_json())]
        if mark_pending:
            ops.append(self._pending_mark_op(owner))
        if keep_run is not None:
            user = UserRef.from_label(item.user_label) if item.user_label else owner
            ops.append(PutOp(self._trajectory_ns(user), keep_run.id, keep_run.to_json()))
        yield from batch(ops)
        return (yield from self.new_pending_count(owner))

    def put_feedback_once(
        self,
        owner: UserRef,
        item: FeedbackItem,
        *,
        mark_pending: bool = False,
        keep_run: TrajectoryRecord | None = None,
        check_existing: bool = True,
    ) -> Job[bool]:
        """Store a feedback item under its id unless it is already stored; the write is the
        job's last step, so the job never raises after the item is stored.

        The batch is the one of `add_feedback` (item, pending-work mark, `keep_run`). With
        `check_existing` (the id came from the caller, who may be retrying), the item's key
        is read first: an item already stored for the same run is left as it is.

        Returns:
            Whether the item was written now (`False`: it was already stored).

        Raises:
            ValueError: If the id is already taken by feedback on another run or user.
            FeedbackOutcomeUnknownError: If the write failed: it may or may not have landed.
        """
        ns = self._feedback_ns(owner)
        if check_existing:
            (found,) = yield from batch([GetOp(ns, item.id)])
            if isinstance(found, Item):
                same = (
                    found.value.get("trajectory_id") == item.trajectory_id
                    and found.value.get("user_label", "") == item.user_label
                )
                if not same:
                    msg = f"feedback_id {item.id!r} is already used by feedback on another run"
                    raise ValueError(msg)
                return False
        ops: list[Op] = [PutOp(ns, item.id, item.to_json())]
        if mark_pending:
            ops.append(self._pending_mark_op(owner))
        if keep_run is not None:
            user = UserRef.from_label(item.user_label) if item.user_label else owner
            ops.append(PutOp(self._trajectory_ns(user), keep_run.id, keep_run.to_json()))
        try:
            yield from batch(ops)
        except Exception as exc:
            raise FeedbackOutcomeUnknownError(item.id, exc) from exc
        return True

    def new_pending_count(self, owner: UserRef) -> Job[int]:
        """How many pending feedback items no optimization has attempted yet (the trigger)."""
        pending = yield from self.pending_feedback(owner)
        return sum(1 for fb in pending if fb.attempts == 0)

    def pending_feedback(self, owner: UserRef) -> Job[list[FeedbackItem]]:
        """All pending feedback of a lineage owner, oldest first (paginated, never cut at 10)."""
        items = yield from self._search_all(self._feedback_ns(owner), {"status": "pending"})
        return _oldest_first(FeedbackItem.from_json(item.value) for item in items)

    def _quarantined_feedback(self, owner: UserRef) -> Job[list[FeedbackItem]]:
        items = yield from self._search_statuses(owner, "quarantined", {})
        return [FeedbackItem.from_json(item.value) for item in items]

    def _search_statuses(
        self, owner: UserRef, status: str, query: dict[str, Any]
    ) -> Job[list[Item]]:
        """Feedback records in `status` matching `query`, also those stored under the
        status's name before the rename (`held` for `quarantined`)."""
        wanted = {LEGACY_FEEDBACK_STATUS.get(status, status)}
        wanted |= {old for old, new in LEGACY_FEEDBACK_STATUS.items() if new in wanted}
        filters = [{**query, "status": value} for value in sorted(wanted)]
        return (yield from search_any(self._feedback_ns(owner), filters))

    def feedback_of(
        self, user: UserRef, owner: UserRef, *, pending_only: bool, status: str | None = None
    ) -> Job[list[FeedbackItem]]:
        """A user's feedback items (stored under the lineage owner), oldest first.

        `status` keeps only items in that state (`pending_only` is `status="pending"`).
        """
        query: dict[str, Any] = {}
        if owner != user:
            query["user_label"] = user.label
        if pending_only or status is not None:
            items = yield from self._search_statuses(owner, status or "pending", query)
        else:
            items = yield from self._search_all(self._feedback_ns(owner), query or None)
        return _oldest_first(FeedbackItem.from_json(item.value) for item in items)

    def mark_attempted(
        self, owner: UserRef, items: Sequence[FeedbackItem], *, max_attempts: int
    ) -> Job[None]:
        """Count a failed optimization attempt on each item still pending.

        Items stay pending until `max_attempts` failures, then become `failed` so one bad
        item cannot block a namespace's learning forever (they stay readable). Items are
        read again first: one consumed meanwhile is left as it is.
        """
        if not items:
            return
        ns = self._feedback_ns(owner)
        fresh = yield from batch([GetOp(ns, fb.id) for fb in items])
        still_pending = [
            FeedbackItem.from_json(item.value)
            for item in fresh
            if isinstance(item, Item) and item.value.get("status") == "pending"
        ]
        ops: list[Op] = [
            PutOp(
                ns,
                fb.id,
                {
                    **fb.to_json(),
                    "attempts": fb.attempts + 1,
                    "status": "failed" if fb.attempts + 1 >= max_attempts else "pending",
                },
            )
            for fb in still_pending
        ]
        if ops:
            yield from batch(ops)

    def quarantine_feedback(
        self, owner: UserRef, caught: Sequence[tuple[FeedbackItem, str]]
    ) -> Job[None]:
        """Set caught items aside as `quarantined` with the firewall's reason (not fed, not
        lost)."""
        ops: list[Op] = [
            PutOp(
                self._feedback_ns(owner),
                fb.id,
                {**fb.to_json(), "status": "quarantined", "quarantine_reason": reason},
            )
            for fb, reason in caught
        ]
        if ops:
            yield from batch(ops)

    def review_feedback(
        self, owner: UserRef, user: UserRef, feedback_id: str, *, release: bool, note: str
    ) -> Job[FeedbackItem]:
        """Release a quarantined item (pending again, trusted: not screened again) or discard it.

        Raises:
            UnknownFeedbackError: If `user` has no such item under `owner`.
            InvalidTransitionError: If the item is not quarantined.
        """
        ns = self._feedback_ns(owner)
        (item,) = yield from batch([GetOp(ns, feedback_id)])
        if not isinstance(item, Item) or (
            owner != user and item.value.get("user_label") != user.label
        ):
            raise UnknownFeedbackError(user.user_id, feedback_id)
        fb = FeedbackItem.from_json(item.value)
        action = "released" if release else "discarded"
        if fb.status != "quarantined":
            msg = (
                f"feedback {feedback_id!r} is {fb.status}: only quarantined feedback can be "
                f"{action}"
            )
            raise InvalidTransitionError(msg)
        record = {
            **fb.to_json(),
            "status": "pending" if release else "discarded",
            "trusted": release,
            "review": review_stamp("release" if release else "discard", note, utcnow()),
        }
        ops: list[Op] = [PutOp(ns, feedback_id, record)]
        if release:
            ops.append(self._pending_mark_op(owner))
        yield from batch(ops)
        return FeedbackItem.from_json(record)

    def _requeue_feedback(self, owner: UserRef, ids: Iterable[str], prompt: str) -> Job[int]:
        """Make the items `ids` pending again, for `prompt` only; return how many exist."""
        ns = self._feedback_ns(owner)
        keys = sorted(ids)
        if not keys:
            return 0
        results = yield from batch([GetOp(ns, fid) for fid in keys])
        ops: list[Op] = [
            PutOp(
                ns,
                item.key,
                {
                    **item.value,
                    "status": "pending",
                    "attempts": 0,
                    "consumed_by": None,
                    "only_prompts": [prompt],
                    # its score was counted when it was consumed: never count it twice
                    "prompt_versions": None,
                },
            )
            for item in results
            if isinstance(item, Item)
        ]
        if ops:
            yield from batch(ops)
        return len(ops)

    def _consume_ops(
        self,
        owner: UserRef,
        feedback: Sequence[FeedbackItem],
        consumed_by: dict[str, int],
        ttl_minutes: float | None,
    ) -> list[Op]:
        return [
            PutOp(
                self._feedback_ns(owner),
                fb.id,
                {**fb.to_json(), "status": "consumed", "consumed_by": consumed_by},
                ttl=ttl_minutes,
            )
            for fb in feedback
        ]
