"""Capture: a run's record, written within the run's store deadline (or behind the run, group
committed), buffered during outages."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, TypeVar

from langgraph.errors import GraphBubbleUp
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization.middleware.feedback import screen_inband_feedback
from langchain_prompt_optimization.middleware.pinning import (
    FEEDBACK_OUTCOME,
    LAST_MESSAGE,
    META,
    PINNED,
    config_hash,
)
from langchain_prompt_optimization.middleware.write_behind import AT_EXIT_TIMEOUT, GroupCommit
from langchain_prompt_optimization.stores import (
    TrajectoryRecord,
    UserRef,
    adrive,
    adrive_within,
    drive,
    drive_within,
    messages_to_json,
)
from langchain_prompt_optimization.stores.buffer import RejectedWrite, WriteBuffer, is_refusal
from langchain_prompt_optimization.stores.io import write
from langchain_prompt_optimization.stores.records import content_hash, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from langchain_core.messages import AnyMessage
    from langgraph.store.base import BaseStore, Op

    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome
    from langchain_prompt_optimization.stores import FeedbackItem, Job, PromptConfig, StoreLayout
    from langchain_prompt_optimization.stores.settings import CaptureMode

__all__ = [
    "Capture",
    "CaptureWriter",
    "FeedbackOutcome",
    "after_update",
    "feedback_outcome",
    "plan_capture",
    "served_versions",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Capture:
    """What `after_agent` writes, and for whom."""

    user: UserRef
    owner: UserRef
    ops: list[Op]
    feedback: FeedbackItem | None
    versions: dict[str, int]
    carry: bool
    ignored: str | None = None
    """Why the run's in-band feedback was not recorded (`None`: none given, or recorded)."""
    record: TrajectoryRecord | None = None
    """The run as recorded (what evaluators score)."""


class FeedbackOutcome(TypedDict):
    """What became of a run's in-band feedback, as the run's output says (`feedback_outcome`).

    `status`: `"stored"` (written with the run; `feedback_id` is its id), `"quarantined"`
    (stored, then set aside by the feedback firewall in the optimization this run started, in
    `mode="inline"`; `reason` says why), `"buffered"` (the store did not confirm the write
    within the deadline: it is kept in memory and written when the store answers, unless the
    store refuses it, see `rejected_writes`) or `"ignored"` (`reason`: invalid feedback, no
    earlier run on this thread, or the run not recorded).
    """

    status: Literal["stored", "quarantined", "buffered", "ignored"]
    feedback_id: NotRequired[str]
    trajectory_id: NotRequired[str]
    reason: NotRequired[str]


def feedback_outcome(
    state: Mapping[str, Any],
    capture: Capture | None,
    written: bool | None,
    error: BaseException | None = None,
    *,
    learned: OptimizationOutcome | None = None,
) -> FeedbackOutcome | None:
    """The outcome of the run's in-band feedback (`None`: the run had none); `learned` is the
    optimization the run ran inline, if any (it may have quarantined the feedback)."""
    if (state.get(META) or {}).get("feedback") is None:
        return None
    if error is not None or capture is None:
        why = f"{type(error).__name__}: {error}" if error is not None else "not pinned"
        return {"status": "ignored", "reason": f"the run could not be recorded ({why})"}
    item = capture.feedback
    if item is None:
        return {"status": "ignored", "reason": capture.ignored or "not valid feedback"}
    reason = learned.quarantined.get(item.id) if learned is not None else None
    if written and reason is not None:
        return {
            "status": "quarantined",
            "feedback_id": item.id,
            "trajectory_id": item.trajectory_id,
            "reason": reason,
        }
    if written:
        return {"status": "stored", "feedback_id": item.id, "trajectory_id": item.trajectory_id}
    return {
        "status": "buffered",
        "feedback_id": item.id,
        "trajectory_id": item.trajectory_id,
        "reason": "the store did not confirm the write in time; it is written when the "
        "store answers",
    }


def after_update(
    state: Mapping[str, Any], capture: Capture | None, outcome: FeedbackOutcome | None = None
) -> dict[str, Any]:
    """`after_agent`'s state update: the thread's last message id, the outcome of the run's
    in-band feedback, and the versions that served the run when they differ from the state's."""
    messages = state.get("messages", [])
    update: dict[str, Any] = {LAST_MESSAGE: messages[-1].id if messages else None}
    if outcome is not None:
        update[FEEDBACK_OUTCOME] = outcome
    if capture is not None and capture.versions != state.get("prompt_versions"):
        update["prompt_versions"] = capture.versions
    return update


def _messages_of_run(messages: Sequence[AnyMessage], last_id: str | None) -> list[AnyMessage]:
    """The messages added since the previous run of this thread ended."""
    if last_id:
        for index, message in enumerate(messages):
            if message.id == last_id:
                return list(messages[index + 1 :])
    return list(messages)


def served_versions(state: Mapping[str, Any], config: PromptConfig) -> dict[str, int]:
    """The run's `prompt_versions`, with 0 for a system prompt whose base changed in code
    during the run (the new base was served; it becomes a version on the next run)."""
    system = config.system_prompt
    versions = dict(state.get("prompt_versions") or {})
    meta = state.get(META) or {}
    pinned_hash = (meta.get("base_hashes") or {}).get(system)
    spec = config.specs.get(system)
    pinned = (state.get(PINNED) or {}).get(system)
    if pinned is not None and pinned_hash and spec and pinned_hash != content_hash(spec.prompt):
        versions[system] = 0
    return versions


def plan_capture(
    state: Mapping[str, Any],
    *,
    layout: StoreLayout,
    owner_of: Callable[[UserRef], UserRef],
    config: PromptConfig,
    thread_id: str | None,
    ttl_minutes: float | None,
    mark_pending: bool,
    queue_evaluation: Callable[[str], bool] | None = None,
) -> Capture | None:
    """The one write that records a run (trajectory, in-band feedback, changed config), or
    `None` when `before_agent` did not pin this run. Pure: no store I/O.

    Args:
        state: The agent state after the run.
        layout: The store layout.
        owner_of: The lineage owner serving a user.
        config: The prompt configuration now (recorded if it differs from the stored one).
        thread_id: The run's thread.
        ttl_minutes: Trajectory time-to-live (`None`: none, or the store has no TTL).
        mark_pending: Mark the owner in the pending-work index (external and server modes).
        queue_evaluation: `trajectory id -> bool`: queue the run for the workers'
            evaluators in the same write (`EvaluatorSettings(queue_for_workers=True)`).
    """
    trajectory_id = state.get("trajectory_id")
    meta = state.get(META)
    if not trajectory_id or meta is None:
        return None
    user = UserRef.of(meta.get("user"))
    owner = owner_of(user)
    versions = served_versions(state, config)
    record = TrajectoryRecord(
        id=trajectory_id,
        user_id=user.user_id,
        thread_id=thread_id,
        prompt_versions=versions,
        messages=messages_to_json(
            _messages_of_run(state.get("messages", []), state.get(LAST_MESSAGE))
        ),
        created_at=utcnow(),
        pin_error=meta.get("pin_error"),
    )
    if "stored_config" in meta:  # a run pinned by an earlier release kept the configuration itself
        stored = config_hash(meta["stored_config"])
    else:
        stored = meta.get("config_hash")
    changed = stored is not None and stored != config_hash(config.to_json())
    inband = meta.get("feedback")
    feedback, ignored = screen_inband_feedback(inband, user) if inband is not None else (None, None)
    ops = layout.capture_ops(
        user,
        owner,
        record,
        register_user=meta.get("registered") is not True,
        config=config if changed else None,
        feedback=feedback,
        ttl_minutes=ttl_minutes,
        mark_pending=mark_pending,
    )
    if queue_evaluation is not None and queue_evaluation(trajectory_id):
        ops.append(layout.evaluation_mark_op(user, owner, trajectory_id))
    carry = bool(meta.get("carry"))
    return Capture(user, owner, ops, feedback, versions, carry, ignored, record=record)


class CaptureWriter:
    """Runs the run path's store I/O within one deadline rule, and keeps the captures that
    could not be written during an outage.

    The rule (the same for the sync and the async hooks): `timeout` seconds, except for an
    in-process `InMemoryStore`, which cannot hang and so skips the hop to a deadline thread
    (that hop is most of the middleware's cost on the run path there).

    With `capture="write_behind"` a capture is handed to a `GroupCommit` writer thread
    instead (see `write`).

    Args:
        timeout: Seconds the run path waits for the store; `None`: no deadline.
        max_buffered_writes: Captures kept in memory during an outage (and, write-behind,
            queued for the writer).
        capture: `"sync"` or `"write_behind"` (`StorageSettings.capture`).
        max_capture_delay: Seconds a write-behind capture waits for companions.
    """

    def __init__(
        self,
        timeout: float | None,
        max_buffered_writes: int,
        *,
        capture: CaptureMode = "sync",
        max_capture_delay: float = 0.05,
    ) -> None:
        self.timeout = timeout
        self._buffer = WriteBuffer(max_buffered_writes)
        self._group = (
            GroupCommit(self._buffer, max_capture_delay, timeout)
            if capture == "write_behind"
            else None
        )
        self._tasks: set[asyncio.Future[Any]] = set()  # async calls past their deadline
        self._io_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._io_lock = threading.Lock()

    def deadline(self, store: BaseStore) -> float | None:
        """The deadline for a run-path call to `store` (see the class docstring)."""
        return None if type(store) is InMemoryStore else self.timeout

    def _io(self) -> concurrent.futures.ThreadPoolExecutor:
        """Threads that run store calls under a deadline (sync hooks)."""
        with self._io_lock:
            if self._io_pool is None:
                self._io_pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix="promptopt-io"
                )
            return self._io_pool

    def within(self, job: Job[T], store: BaseStore) -> T:
        """Drive `job` within the deadline (`TimeoutError` past it)."""
        return drive_within(job, store, self.deadline(store), self._io())

    async def awithin(self, job: Job[T], store: BaseStore) -> T:
        """Async twin of `within`: past the deadline the job is left running (never cancelled
        and awaited, which on a silent PostgreSQL connection takes about 10 s)."""
        return await adrive_within(job, store, self.deadline(store), late=self._tasks)

    # -- writing a capture ---------------------------------------------------------------------

    @property
    def write_behind(self) -> bool:
        """Whether captures are group committed by a writer thread."""
        return self._group is not None

    @property
    def commits(self) -> int:
        """Store batches the write-behind writer committed (0 in sync mode)."""
        return self._group.commits if self._group is not None else 0

    def write(self, store: BaseStore, ops: list[Op], *, wait: bool = True) -> bool:
        """Write a capture (after any buffered ones) within the deadline. Never raises.

        A write the store refuses (`is_refusal`) is set aside; any other failed write is
        buffered. A write still running at the deadline is left to
        finish and buffered only if it then fails, so nothing is written twice.

        Write-behind: the capture is queued for the writer thread (group commit); with
        `wait` the call then waits, within the deadline, for its commit.

        Returns:
            Whether the capture was written now (`False` when queued without waiting).
        """
        if self._group is not None:
            committed = self._group.submit(store, ops, urgent=wait)
            if not wait:
                return False
            deadline = self.deadline(store)
            finished, _ = concurrent.futures.wait({committed}, timeout=deadline)
            if not finished:
                return self._late(deadline)
            return committed.exception() is None and committed.result()
        if len(self._buffer):
            try:
                self.within(self._buffer.flush(), store)
            except Exception as exc:
                logger.warning("buffered captures not written yet: %s", exc)
        deadline = self.deadline(store)
        try:
            if deadline is None:
                drive(write(ops), store)
                return True
            future = self._io().submit(drive, write(ops), store)
            done, _ = concurrent.futures.wait({future}, timeout=deadline)
            if not done:
                future.add_done_callback(lambda late: self._buffer_if_failed(late, ops))
                return self._late(deadline)
            future.result()
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._buffer_capture(ops, exc)
        return True

    async def awrite(self, store: BaseStore, ops: list[Op], *, wait: bool = True) -> bool:
        """Async twin of `write` (the write is a task, never cancelled; write-behind: the
        queueing never blocks the event loop, and waiting awaits the writer's future)."""
        if self._group is not None:
            committed = self._group.submit(store, ops, urgent=wait)
            if not wait:
                return False
            deadline = self.deadline(store)
            waiting = asyncio.wrap_future(committed)
            finished, _ = await asyncio.wait({waiting}, timeout=deadline)
            if not finished:
                return self._late(deadline)
            return waiting.exception() is None and waiting.result()
        if len(self._buffer):
            try:
                await self.awithin(self._buffer.flush(), store)
            except Exception as exc:
                logger.warning("buffered captures not written yet: %s", exc)
        deadline = self.deadline(store)
        task = asyncio.ensure_future(adrive(write(ops), store))
        try:
            done, _ = await asyncio.wait({task}, timeout=deadline)
        except asyncio.CancelledError:  # the run was cancelled: the write still lands
            self._leave_running(task, ops)
            raise
        if not done:
            self._leave_running(task, ops)
            return self._late(deadline)
        failure = task.exception()
        if failure is not None:
            if isinstance(failure, GraphBubbleUp):
                raise failure
            return self._buffer_capture(ops, failure)
        return True

    def settle(self, store: BaseStore) -> None:
        """Write-behind: commit the queued captures now and wait for them within the
        deadline (a run reading the thread's previous run needs it stored). Never raises."""
        if self._group is None:
            return
        pending = self._group.commit_now()
        if pending:
            concurrent.futures.wait(pending, timeout=self.deadline(store))

    async def asettle(self, store: BaseStore) -> None:
        """Async twin of `settle` (awaits the writer's futures; never blocks the loop)."""
        if self._group is None:
            return
        pending = self._group.commit_now()
        if pending:
            waiting = {asyncio.wrap_future(future) for future in pending}
            await asyncio.wait(waiting, timeout=self.deadline(store))

    def _leave_running(self, task: asyncio.Future[None], ops: list[Op]) -> None:
        """Keep a write that missed its deadline until it is done; buffer it if it fails."""
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._buffer_if_failed(t, ops))

    def _late(self, deadline: float | None) -> bool:
        logger.warning("the store did not answer within %ss; recording later", deadline)
        return False

    def _buffer_if_failed(self, done: Any, ops: list[Op]) -> None:
        """Done-callback of a write that missed its deadline: buffer it only if it failed."""
        self._tasks.discard(done)
        if done.cancelled():
            self._buffer_capture(ops, RuntimeError("write cancelled"))
        elif done.exception() is not None:
            self._buffer_capture(ops, done.exception())

    def _buffer_capture(self, ops: list[Op], exc: BaseException) -> bool:
        if is_refusal(exc):
            self._buffer.reject(ops, exc)  # writing it again would fail the same way
            return False
        kept = self._buffer.add(ops)
        logger.warning(
            "could not record the run (%s: %s); %s for when the store answers",
            type(exc).__name__,
            exc,
            "kept in memory" if kept else "buffer full, dropped",
        )
        return False

    # -- the outage buffer ---------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Captures waiting in memory for the store to answer (write-behind: including the
        ones queued for the writer)."""
        return len(self._buffer) + (len(self._group) if self._group is not None else 0)

    @property
    def rejected(self) -> int:
        """Captures the store refused (set aside so later ones still land)."""
        return self._buffer.rejected_count

    @property
    def rejected_details(self) -> tuple[RejectedWrite, ...]:
        """The newest refused captures with the store's error."""
        return self._buffer.rejected

    @property
    def dropped(self) -> int:
        """Captures dropped because the outage buffer was full."""
        return self._buffer.dropped

    def flush(self, store: BaseStore) -> int:
        """Write the buffered captures now (within the deadline); how many were written.

        Write-behind: first the writer commits what is queued (waiting at most the
        storage timeout; `TimeoutError` past it), then the outage buffer is written.
        """
        queued = self._group.flush(self.timeout) if self._group is not None else 0
        return queued + self.within(self._buffer.flush(), store)

    async def aflush(self, store: BaseStore) -> int:
        """Async twin of `flush` (the wait for the writer runs in a thread)."""
        queued = 0
        if self._group is not None:
            queued = await asyncio.to_thread(self._group.flush, self.timeout)
        return queued + await self.awithin(self._buffer.flush(), store)

    def close(self) -> None:
        """Commit what the write-behind writer still holds (at most the storage timeout,
        `AT_EXIT_TIMEOUT` without one) and release the deadline threads (late writes still
        finish)."""
        if self._group is not None:
            self._group.close(self.timeout if self.timeout is not None else AT_EXIT_TIMEOUT)
        with self._io_lock:
            if self._io_pool is not None:
                self._io_pool.shutdown(wait=False)
                self._io_pool = None
