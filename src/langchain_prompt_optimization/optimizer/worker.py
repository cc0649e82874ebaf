"""`PromptWorker`: optimize the namespaces apps in `mode="external"` marked as pending."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, TypedDict

from typing_extensions import Unpack

from langchain_prompt_optimization._deprecated import moved_subset, take_moved
from langchain_prompt_optimization.optimizer.budget import Budget, check_budget
from langchain_prompt_optimization.optimizer.evaluators import EvaluatorSettings, evaluate_run
from langchain_prompt_optimization.optimizer.pending import PendingOwners
from langchain_prompt_optimization.optimizer.settings import (
    DEFAULT_LEASE_SECONDS,
    OptimizerSettings,
    SafetySettings,
    check_positive_int,
    check_positive_number,
    check_require_approval,
    settings_or_default,
)
from langchain_prompt_optimization.stores import Retention, drive, open_store
from langchain_prompt_optimization.stores.settings import StorageSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from langchain_core.language_models import BaseChatModel
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.optimizer.evaluators import EvaluationReport, Evaluator
    from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
    from langchain_prompt_optimization.optimizer.gate import EvaluationGate
    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome, OptimizerKind
    from langchain_prompt_optimization.stores import UserRef
    from langchain_prompt_optimization.stores.evaluation_queue import QueuedRun

__all__ = ["DeprecatedWorkerArgs", "PromptWorker"]

logger = logging.getLogger(__name__)


class DeprecatedWorkerArgs(TypedDict, total=False):
    """Keywords of `PromptWorker` that moved into configuration objects.

    They keep working for one release with a `DeprecationWarning` naming the replacement.
    """

    optimizer_model: BaseChatModel | str
    kind: OptimizerKind
    optimizer_config: dict[str, Any] | None
    namespace_prefix: Sequence[str]
    max_feedback_per_optimization: int
    max_trajectory_chars: int
    retention: Retention | None
    firewall: FeedbackFirewall | bool | None
    gate: EvaluationGate | None


_MOVED = moved_subset(
    (
        "optimizer_model",
        "kind",
        "optimizer_config",
        "max_feedback_per_optimization",
        "max_trajectory_chars",
        "namespace_prefix",
        "retention",
        "firewall",
        "gate",
    )
)


def _legacy_safety(values: dict[str, Any]) -> SafetySettings:
    # The old worker keywords left the candidate budgets, the firewall and the screeners to
    # the apps.
    return SafetySettings(**{"policy": None, "firewall": None, "screeners": None, **values})


def _take_deprecated(
    deprecated: DeprecatedWorkerArgs,
    optimizer: OptimizerSettings | str | BaseChatModel | None,
    storage: StorageSettings | None,
    safety: SafetySettings | None,
) -> tuple[OptimizerSettings, StorageSettings, SafetySettings | None]:
    """Phase 1: fold the old keywords (warning for each) into the settings objects.

    Raises:
        ValueError: If an old keyword and the object holding it are both given, or the
            optimizer has no model.
        TypeError: On an unknown keyword or an object of the wrong type.
    """
    moved = take_moved(
        PromptWorker.__name__,
        deprecated,
        _MOVED,
        {"optimizer": optimizer, "storage": storage, "safety": safety},
        stacklevel=3,
    )
    if "optimizer" in moved:
        optimizer = moved.build("optimizer", lambda v: OptimizerSettings(**v))
    if "storage" in moved:
        storage = moved.build("storage", StorageSettings.from_keywords)
    if "safety" in moved:
        safety = moved.build("safety", _legacy_safety)
    settings = OptimizerSettings.from_setting(optimizer)
    storage = settings_or_default("storage", storage, StorageSettings)
    if safety is not None and not isinstance(safety, SafetySettings):
        msg = f"safety must be a SafetySettings or None; got {type(safety).__name__}"
        raise TypeError(msg)
    if settings.model is None:
        msg = (
            "PromptWorker needs a model to optimize with (it never sees the agent's): "
            "optimizer=OptimizerSettings(model='openai:gpt-4o-mini') or a BaseChatModel"
        )
        raise ValueError(msg)
    return settings, storage, safety


def _with_lease(optimizer: OptimizerSettings, lease_seconds: object) -> OptimizerSettings:
    """Phase 2: `optimizer` with the `lease_seconds=` keyword applied (`None`: as is).

    Raises:
        ValueError: If it is not a positive number, or differs from a non-default
            `OptimizerSettings.lease_seconds`.
    """
    if lease_seconds is None:
        return optimizer
    lease = check_positive_number("lease_seconds", lease_seconds)
    if optimizer.lease_seconds not in (DEFAULT_LEASE_SECONDS, lease):
        msg = (
            f"lease_seconds={lease_seconds!r} differs from "
            f"OptimizerSettings.lease_seconds={optimizer.lease_seconds!r}: give it once (in "
            "OptimizerSettings)"
        )
        raise ValueError(msg)
    return dataclasses.replace(optimizer, lease_seconds=lease)


def _check_safety(safety: SafetySettings | None) -> None:
    """Phase 3: a worker's gate brings its own model.

    Raises:
        ValueError: If the gate has no model.
    """
    if safety is not None and safety.gate is not None and safety.gate.model is None:
        msg = (
            "a worker's gate must be an EvaluationGate with model= (and tools=): workers "
            "never see the agent's model"
        )
        raise ValueError(msg)


class PromptWorker:
    """Process pending optimization work from a shared store.

    Apps run the middleware with `mode="external"`: when feedback triggers an optimization
    they only mark the lineage owner in the store's pending-work index. Workers — any
    number, on any machines sharing the store — read that index (no scan of every user),
    take each owner's lease (so no namespace is optimized twice at once), optimize from
    what the middleware recorded (base prompts, guidance, approval policy, candidate
    budgets, firewall, screeners, monitoring), and clear the mark. They need nothing but the
    store and a model.

    Args:
        store: A `BaseStore` or a store URI.
        optimizer: `OptimizerSettings` with its `model` (required: a worker never sees the
            agent's model); a `"provider:model"` string or a `BaseChatModel` is short for
            `OptimizerSettings(model=...)`.
        storage: `StorageSettings`: the apps' `namespace_prefix`, and the retention
            `run_forever` enforces (its per-user trajectory cap on every user every
            `prune_interval` seconds). Its `timeout` and `max_buffered_writes` concern the
            apps' run path and are ignored here.
        safety: `SafetySettings` overriding what the apps recorded: a `policy`, `firewall`
            or `screeners` of `None` keeps following the apps' record (the model screener
            judges with this worker's optimizer model unless the apps recorded a guard
            model string); `gate` needs its own `model` (and `tools`). `monitor` is
            ignored: workers follow the apps' recorded policy. Default `None`: follow the
            apps' record for everything, no gate.
        concurrency: Owners optimized in parallel by this worker (a positive int).
        poll_interval: Seconds `run_forever` waits when there is no work (a positive
            finite number, as are `lease_seconds` and `prune_interval`).
        lease_seconds: Lease time-to-live; a worker that dies mid-optimization blocks its
            namespace at most this long (the lease is renewed while an optimization runs).
            Same as `OptimizerSettings.lease_seconds` (default 300); giving both with
            different values (the settings' one not the default) raises `ValueError`.
        require_approval: Override the approval policy the apps recorded (a bool; `None`
            follows the record).
        prune_interval: Seconds between pruning passes.
        budget: A `Budget` capping the model calls and tokens optimizations spend per
            window (per user, lineage or all), enforced through the store together with
            the apps and other workers sharing it; over budget, an owner stays pending
            until its next window. The evaluators' model calls (`evaluators=`) count
            against it too. `None`: no cap (usage is still recorded).
        evaluators: Evaluators for the runs apps queued with
            `EvaluatorSettings(queue_for_workers=True)` (a list of evaluators, or
            `EvaluatorSettings`; the apps' `evaluation_rate` decided which runs are queued).
            Each pass evaluates up to `evaluation_batch` queued runs first, stores their
            verdicts as feedback (`source="evaluator:<key>"`), then optimizes.
        evaluation_batch: Most queued runs one pass evaluates (a positive int).
        **deprecated: The keywords that moved into these objects (`optimizer_model=`,
            `kind=`, `namespace_prefix=`, `gate=`, ...; see `DeprecatedWorkerArgs`) still
            work for one release, with a `DeprecationWarning` naming the replacement.

    Raises:
        ValueError: On a missing model, a bad kind, count, interval or store URI, a gate
            without a model, or an old keyword given with the object that holds it.
        TypeError: On a bad model type, a non-bool `require_approval` or an unknown keyword.

    Example:
        ```python
        worker = PromptWorker(
            "postgresql://...", optimizer=OptimizerSettings(model="openai:gpt-4o-mini")
        )
        worker.run_forever()   # until SIGTERM / SIGINT / worker.stop()
        ```
    """

    def __init__(
        self,
        store: BaseStore | str,
        *,
        optimizer: OptimizerSettings | str | BaseChatModel | None = None,
        storage: StorageSettings | None = None,
        safety: SafetySettings | None = None,
        concurrency: int = 1,
        poll_interval: float = 2.0,
        lease_seconds: float | None = None,
        require_approval: bool | None = None,
        prune_interval: float = 3600.0,
        budget: Budget | None = None,
        evaluators: EvaluatorSettings | Sequence[Evaluator] | Mapping[str, Evaluator] | None = None,
        evaluation_batch: int = 100,
        **deprecated: Unpack[DeprecatedWorkerArgs],
    ) -> None:
        optimizer, storage, safety = _take_deprecated(deprecated, optimizer, storage, safety)
        self._evaluators = EvaluatorSettings.from_setting(evaluators)
        if self._evaluators is not None and self._evaluators.queue_for_workers:
            msg = "PromptWorker(evaluators=...) needs the evaluators themselves"
            raise ValueError(msg)
        self.evaluation_batch = check_positive_int("evaluation_batch", evaluation_batch)
        optimizer = _with_lease(optimizer, lease_seconds)
        _check_safety(safety)
        self.concurrency = check_positive_int("concurrency", concurrency)
        self.poll_interval = check_positive_number("poll_interval", poll_interval)
        self.prune_interval = check_positive_number("prune_interval", prune_interval)
        approval = check_require_approval(require_approval)
        self.store = open_store(store, create=False) if isinstance(store, str) else store
        self._optimizer = optimizer
        self._storage = storage
        self._safety = safety
        self._budget = check_budget(budget)
        self._pending = PendingOwners(optimizer, storage, safety, approval, budget=self._budget)
        self._layout = self._pending.layout
        self._engine = self._pending.engine
        self._stop = threading.Event()
        self._next_prune = 0.0

    @property
    def optimizer(self) -> OptimizerSettings:
        """The model, kind and budgets this worker optimizes with."""
        return self._optimizer

    @property
    def budget(self) -> Budget | None:
        """The budget this worker enforces (`None`: none)."""
        return self._budget

    @property
    def storage(self) -> StorageSettings:
        """The apps' namespace prefix and the retention this worker enforces."""
        return self._storage

    @property
    def safety(self) -> SafetySettings | None:
        """What this worker overrides of the apps' recorded safety (`None`: nothing)."""
        return self._safety

    @property
    def holder(self) -> str:
        """This worker's lease holder id."""
        return self._engine.holder

    @property
    def evaluators(self) -> EvaluatorSettings | None:
        """The evaluators this worker runs on queued runs (`None`: none)."""
        return self._evaluators

    def _process(self, owner: UserRef) -> OptimizationOutcome | None:
        return self._pending.process(self.store, owner)

    def evaluate_queued(self) -> list[EvaluationReport]:
        """Evaluate up to `evaluation_batch` runs the apps queued, store the verdicts as
        feedback (marking their owners pending), and take the runs off the queue. An
        evaluator that raises is logged and reported; the run is not evaluated again. With
        `budget=`, the evaluators' model calls count against it: a run whose owner's window
        is spent is not evaluated (its report's `over_budget`) and is taken off the queue
        too (kept, it would hold its place at the head of the queue every pass).

        Returns:
            One report per queued run that is still stored (expired runs are dropped).
        """
        if self._evaluators is None:
            return []
        queued = drive(self._layout.queued_runs(self.evaluation_batch), self.store)
        if not queued:
            return []
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="promptopt-evaluate"
        ) as pool:
            results = list(pool.map(self._evaluate_queued_run, queued))
        drive(self._layout.dequeue_runs([q.trajectory_id for q in queued]), self.store)
        return [report for report in results if report is not None]

    def _evaluate_queued_run(self, queued: QueuedRun) -> EvaluationReport | None:
        assert self._evaluators is not None  # checked by the caller
        try:
            record = drive(self._layout.read_run(queued.user, queued.trajectory_id), self.store)
            if record is None:
                return None
            job = evaluate_run(
                self._layout,
                self._evaluators,
                queued.user,
                queued.owner,
                record,
                mark_pending=True,
                keep_run=self._storage.retention.trajectory_ttl_minutes is not None,
                budget=self._budget,
            )
            return drive(job, self.store)
        except Exception:
            logger.exception("evaluation of queued run %s failed", queued.trajectory_id)
            return None

    def run_once(self) -> int:
        """Process all pending work once: evaluate queued runs (with `evaluators=`), then
        optimize the pending owners.

        Returns:
            How many namespaces it optimized (at least one new version appended, or the
            prompts judged fine); busy namespaces (another worker holds them) are skipped.
        """
        try:
            self.evaluate_queued()
        except Exception:
            logger.exception("evaluating queued runs failed; optimizing what is pending")
        owners = drive(self._layout.pending_owners(), self.store)
        if not owners:
            return 0
        done = 0
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="promptopt-worker"
        ) as pool:
            futures = [pool.submit(self._safe_process, owner) for owner in owners]
            for future in concurrent.futures.as_completed(futures):
                outcome = future.result()
                if outcome is not None and outcome.status in (
                    "optimized",
                    "unchanged",
                    "rolled_back",
                ):
                    done += 1
        return done

    def _safe_process(self, owner: UserRef) -> OptimizationOutcome | None:
        if self._stop.is_set():
            return None
        try:
            return self._process(owner)
        except Exception:
            logger.exception("worker failed on %r; it stays pending", owner.label)
            return None

    def run_forever(self, *, handle_signals: bool = True) -> None:
        """Process work until `stop()`, SIGTERM or SIGINT; in-flight work finishes first.

        Args:
            handle_signals: Install SIGTERM/SIGINT handlers (main thread only).
        """
        restore: list[tuple[signal.Signals, Callable[..., Any] | int | None]] = []
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                restore.append((sig, signal.getsignal(sig)))
                signal.signal(sig, lambda *_: self.stop())
        logger.info("worker %s started", self.holder)
        try:
            while not self._stop.is_set():
                self._maybe_prune()
                try:
                    worked = self.run_once()
                except Exception:
                    logger.exception("worker pass failed; retrying after the poll interval")
                    worked = 0
                if not worked:
                    self._stop.wait(self.poll_interval)
        finally:
            for sig, handler in restore:
                signal.signal(sig, handler)
            logger.info("worker %s stopped", self.holder)

    def prune(self) -> int:
        """Enforce the retention cap on every user now; returns trajectories deleted."""
        keep = self._engine.settings.retention.max_trajectories_per_user
        if keep is None:
            return 0
        return drive(self._layout.prune_all(keep=keep, holder=self.holder), self.store)

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + self.prune_interval
        try:
            deleted = self.prune()
        except Exception:
            logger.exception("pruning pass failed; retrying next interval")
        else:
            if deleted:
                logger.info("pruned %d old trajectories", deleted)

    def stop(self) -> None:
        """Ask `run_forever` to return once in-flight work is done."""
        self._stop.set()
