"""The evaluation queue: runs apps sampled for `PromptWorker`'s evaluators, and their records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from langgraph.store.base import GetOp, Item, PutOp, SearchOp

from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.labels import Namespaces, UserRef
from langchain_prompt_optimization.stores.records import TrajectoryRecord, utcnow

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langgraph.store.base import SearchItem

    from langchain_prompt_optimization.stores.io import Job

__all__ = ["EvaluationQueue", "QueuedRun"]


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """A run waiting for the workers' evaluators: who ran it, and whose lineage it feeds."""

    trajectory_id: str
    user: UserRef
    owner: UserRef


class EvaluationQueue(Namespaces):
    """Runs queued for evaluation in workers, and the reads an evaluation makes, as
    `StoreLayout` jobs."""

    def evaluation_mark_op(self, user: UserRef, owner: UserRef, trajectory_id: str) -> PutOp:
        """The write (in a run's capture batch) that queues the run for the workers."""
        return PutOp(
            self._evaluation_ns(),
            trajectory_id,
            {
                "trajectory_id": trajectory_id,
                "user": user.label,
                "owner": owner.label,
                "queued_at": utcnow().isoformat(),
            },
        )

    def queued_runs(self, limit: int) -> Job[list[QueuedRun]]:
        """At most `limit` queued runs (any order: each is handled once, then removed)."""
        (found,) = yield from batch([SearchOp(self._evaluation_ns(), limit=limit)])
        runs = []
        for item in cast("list[SearchItem]", found):
            value = item.value
            runs.append(
                QueuedRun(
                    trajectory_id=item.key,
                    user=UserRef.from_label(str(value["user"])),
                    owner=UserRef.from_label(str(value["owner"])),
                )
            )
        return runs

    def dequeue_runs(self, trajectory_ids: Sequence[str]) -> Job[None]:
        """Remove handled runs from the queue."""
        if trajectory_ids:
            yield from batch([PutOp(self._evaluation_ns(), tid, None) for tid in trajectory_ids])

    def read_run(self, user: UserRef, trajectory_id: str) -> Job[TrajectoryRecord | None]:
        """A run's record (`None`: not stored, or expired)."""
        (item,) = yield from batch([GetOp(self._trajectory_ns(user), trajectory_id)])
        return TrajectoryRecord.from_json(item.value) if isinstance(item, Item) else None

    def stored_feedback_ids(self, owner: UserRef, ids: Sequence[str]) -> Job[set[str]]:
        """Which of these feedback ids are already stored for the owner (one batch)."""
        if not ids:
            return set()
        ns = self._feedback_ns(owner)
        found = yield from batch([GetOp(ns, fid) for fid in ids])
        return {fid for fid, item in zip(ids, found, strict=True) if isinstance(item, Item)}
