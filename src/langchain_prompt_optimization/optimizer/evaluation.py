"""Evaluations off the run path: a recorded run's evaluators run in a thread or an asyncio task."""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_prompt_optimization.optimizer.background import BackgroundWork
from langchain_prompt_optimization.optimizer.evaluators import EvaluationReport, evaluate_run
from langchain_prompt_optimization.stores import adrive, drive

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.optimizer.budget import Budget
    from langchain_prompt_optimization.optimizer.evaluators import EvaluatorSettings
    from langchain_prompt_optimization.stores import Job, StoreLayout, TrajectoryRecord, UserRef

__all__ = ["EvaluationRunner", "EvaluationStats"]

logger = logging.getLogger(__name__)

_KEPT_ERRORS = 100


@dataclass(frozen=True, slots=True)
class EvaluationStats:
    """What the evaluators did in this process.

    Attributes:
        sampled: Runs in the evaluated sample (`evaluation_rate`).
        evaluated: Sampled runs whose evaluators were called (each may have failed).
        feedback: Feedback items the evaluators' verdicts stored.
        errors: Evaluator calls that failed, and evaluations whose store reads or writes
            failed; the runs were unaffected.
        skipped: Evaluator calls not made because their verdict was already stored.
        over_budget: Evaluator calls not made because the budget's window was spent
            (`budget=`; the runs were unaffected and are not evaluated later).
        recent_errors: The newest errors (at most 100), oldest first.
    """

    sampled: int = 0
    evaluated: int = 0
    feedback: int = 0
    errors: int = 0
    skipped: int = 0
    over_budget: int = 0
    recent_errors: tuple[str, ...] = ()


class EvaluationRunner:
    """Evaluates a middleware's sampled runs after they are recorded, never on the run path:
    from sync hooks in a small thread pool, from async hooks as asyncio tasks. A failure is
    logged and counted, never raised to the run.

    Args:
        layout: The store layout.
        settings: The evaluators and the sample rate.
        mark_pending: Evaluator feedback marks its owner pending (record-only modes).
        keep_runs: Trajectories expire: a run that got a verdict is kept without a TTL.
        budget: Caps the evaluators' model calls share with the optimizations (`None`:
            none; their usage is recorded either way).
        after: Called with the store and the owner after feedback was stored (the middleware
            checks the optimization trigger); `aafter` is its async twin.
    """

    def __init__(
        self,
        layout: StoreLayout,
        settings: EvaluatorSettings,
        *,
        mark_pending: bool,
        keep_runs: bool = False,
        budget: Budget | None = None,
        after: Callable[[BaseStore, UserRef], object],
        aafter: Callable[[BaseStore, UserRef], Awaitable[object]],
    ) -> None:
        self.layout = layout
        self.settings = settings
        self._mark_pending = mark_pending
        self._keep_runs = keep_runs
        self._budget = budget
        self._after = after
        self._aafter = aafter
        self._lock = threading.Lock()
        counted = ("sampled", "evaluated", "feedback", "errors", "skipped", "over_budget")
        self._counts = dict.fromkeys(counted, 0)
        self._recent: deque[str] = deque(maxlen=_KEPT_ERRORS)
        self._background = BackgroundWork("promptopt-evaluate")

    @property
    def stats(self) -> EvaluationStats:
        """A snapshot of the counters."""
        with self._lock:
            return EvaluationStats(**self._counts, recent_errors=tuple(self._recent))

    def _take(self, record: TrajectoryRecord) -> bool:
        if not self.settings.sampled(record.id):
            return False
        with self._lock:
            self._counts["sampled"] += 1
        return True

    def submit(
        self, store: BaseStore, user: UserRef, owner: UserRef, record: TrajectoryRecord
    ) -> None:
        """Evaluate a recorded run in the background if it is sampled (returns at once)."""
        if self._take(record):
            self._background.submit(self._evaluate, store, user, owner, record)

    def asubmit(
        self, store: BaseStore, user: UserRef, owner: UserRef, record: TrajectoryRecord
    ) -> None:
        """Async twin of `submit`: an asyncio task on the running loop."""
        if self._take(record):
            self._background.create_task(self._aevaluate(store, user, owner, record))

    def _job(
        self, user: UserRef, owner: UserRef, record: TrajectoryRecord
    ) -> Job[EvaluationReport]:
        return evaluate_run(
            self.layout,
            self.settings,
            user,
            owner,
            record,
            mark_pending=self._mark_pending,
            keep_run=self._keep_runs,
            budget=self._budget,
        )

    def _evaluate(
        self, store: BaseStore, user: UserRef, owner: UserRef, record: TrajectoryRecord
    ) -> None:
        try:
            if self._counted(drive(self._job(user, owner, record), store)):
                self._after(store, owner)
        except Exception as exc:
            self._failed(record, exc)

    async def _aevaluate(
        self, store: BaseStore, user: UserRef, owner: UserRef, record: TrajectoryRecord
    ) -> None:
        try:
            if self._counted(await adrive(self._job(user, owner, record), store)):
                await self._aafter(store, owner)
        except Exception as exc:
            self._failed(record, exc)

    def _counted(self, report: EvaluationReport) -> bool:
        """Count a finished evaluation; whether it stored feedback (check the trigger)."""
        with self._lock:
            self._counts["evaluated"] += 0 if report.over_budget else 1
            self._counts["feedback"] += len(report.stored)
            self._counts["errors"] += len(report.errors)
            self._counts["skipped"] += report.skipped
            self._counts["over_budget"] += report.over_budget
            self._recent.extend(f"{report.trajectory_id}: {error}" for error in report.errors)
        return bool(report.stored)

    def _failed(self, record: TrajectoryRecord, exc: Exception) -> None:
        """The evaluation's store I/O, or the trigger check after it, failed."""
        logger.warning(
            "evaluation of run %s failed (%s: %s); the run is not affected",
            record.id,
            type(exc).__name__,
            exc,
        )
        with self._lock:
            self._counts["errors"] += 1
            self._recent.append(f"{record.id}: {type(exc).__name__}: {exc}")

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for evaluations started from sync code; `True` if none is left running."""
        return self._background.drain(timeout)

    async def adrain(self, timeout: float | None = None) -> bool:
        """Wait for evaluations, both asyncio tasks and threads."""
        return await self._background.adrain(timeout)

    def close(self) -> None:
        """Wait for the evaluation threads and release them."""
        self._background.close()
