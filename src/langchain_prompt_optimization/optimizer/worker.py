"""`PromptWorker`: optimize the namespaces apps in `mode="external"` marked as pending."""

from __future__ import annotations

import concurrent.futures
import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from langchain_prompt_optimization.optimizer.engine import OptimizationEngine
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.optimizer.gate import EvaluationGate
from langchain_prompt_optimization.optimizer.run import (
    KINDS,
    OptimizationOutcome,
    OptimizerKind,
    OptimizerSettings,
)
from langchain_prompt_optimization.stores import (
    DEFAULT_PREFIX,
    Retention,
    StoreLayout,
    drive,
    open_store,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores import UserRef

__all__ = ["PromptWorker"]

logger = logging.getLogger(__name__)


class PromptWorker:
    """Process pending optimization work from a shared store.

    Apps run the middleware with `mode="external"`: when feedback triggers an optimization
    they only mark the lineage owner in the store's pending-work index. Workers — any
    number, on any machines sharing the store — read that index (no scan of every user),
    take each owner's lease (so no namespace is optimized twice at once), optimize from
    what the middleware recorded (base prompts, guidance, approval policy), and clear the
    mark. They need nothing but the store and a model.

    Args:
        store: A `BaseStore` or a store URI.
        optimizer_model: A chat model, or a `"provider:model"` string.
        kind: langmem optimizer kind.
        optimizer_config: langmem config for the kind.
        namespace_prefix: The apps' `namespace_prefix`.
        concurrency: Owners optimized in parallel by this worker.
        poll_interval: Seconds `run_forever` waits when there is no work.
        lease_seconds: Lease time-to-live; a worker that dies mid-optimization blocks its
            namespace at most this long. Must exceed the longest optimization.
        max_feedback_per_optimization: Most feedback items one optimization reads.
        max_trajectory_chars: Per-trajectory budget of what the optimizer reads.
        require_approval: Override the approval policy the apps recorded.
        retention: Run-data retention; `run_forever` enforces its per-user trajectory cap
            on every user every `prune_interval` seconds.
        prune_interval: Seconds between those pruning passes.
        firewall: The feedback firewall; default: the one the apps recorded in the store
            (their `trusted_domains`), `True`/`False` or a `FeedbackFirewall` to override.
        gate: An `EvaluationGate` with its `model` (and `tools`): a worker never sees the
            agent's own model.

    Raises:
        ValueError: On a bad kind, count or store URI.
        TypeError: On a bad model type.

    Example:
        ```python
        worker = PromptWorker("postgresql://...", optimizer_model="openai:gpt-4o-mini")
        worker.run_forever()   # until SIGTERM / SIGINT / worker.stop()
        ```
    """

    def __init__(
        self,
        store: BaseStore | str,
        *,
        optimizer_model: BaseChatModel | str,
        kind: OptimizerKind = "prompt_memory",
        optimizer_config: dict[str, Any] | None = None,
        namespace_prefix: Sequence[str] = DEFAULT_PREFIX,
        concurrency: int = 1,
        poll_interval: float = 2.0,
        lease_seconds: float = 300.0,
        max_feedback_per_optimization: int = 20,
        max_trajectory_chars: int = 8_000,
        require_approval: bool | None = None,
        retention: Retention | None = None,
        prune_interval: float = 3600.0,
        firewall: FeedbackFirewall | bool | None = None,
        gate: EvaluationGate | None = None,
    ) -> None:
        if kind not in KINDS:
            msg = f"kind must be one of {', '.join(KINDS)}; got {kind!r}"
            raise ValueError(msg)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            msg = f"concurrency must be a positive int; got {concurrency!r}"
            raise ValueError(msg)
        if poll_interval <= 0 or lease_seconds <= 0:
            msg = "poll_interval and lease_seconds must be positive"
            raise ValueError(msg)
        if not isinstance(optimizer_model, str | BaseChatModel):
            msg = "optimizer_model must be a 'provider:model' string or a BaseChatModel"
            raise TypeError(msg)
        if firewall is not None:
            firewall = FeedbackFirewall.from_setting(firewall)
        if gate is not None and (not isinstance(gate, EvaluationGate) or gate.model is None):
            msg = (
                "a worker's gate must be an EvaluationGate with model= (and tools=): workers "
                "never see the agent's model"
            )
            raise ValueError(msg)
        self.store = open_store(store, create=False) if isinstance(store, str) else store
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self._model_spec = optimizer_model
        self._model: BaseChatModel | None = (
            optimizer_model if isinstance(optimizer_model, BaseChatModel) else None
        )
        self._model_lock = threading.Lock()
        self._layout = StoreLayout(namespace_prefix)
        self._engine = OptimizationEngine(
            layout=self._layout,
            settings=OptimizerSettings(
                kind=kind,
                config=dict(optimizer_config) if optimizer_config else None,
                max_feedback=max_feedback_per_optimization,
                max_trajectory_chars=max_trajectory_chars,
                lease_seconds=lease_seconds,
                require_approval=require_approval,
                retention=retention or Retention(),
                firewall=firewall,
                gate=gate,
            ),
            mode="inline",
            optimize_every=1,
        )
        self._stop = threading.Event()
        self.prune_interval = prune_interval
        self._next_prune = 0.0

    @property
    def holder(self) -> str:
        """This worker's lease holder id."""
        return self._engine.holder

    def _chat_model(self) -> BaseChatModel:
        with self._model_lock:
            if self._model is None:
                from langchain.chat_models import init_chat_model

                self._model = init_chat_model(str(self._model_spec))
            return self._model

    def _process(self, owner: UserRef) -> OptimizationOutcome | None:
        config = drive(self._layout.read_config(), self.store)
        if not drive(self._layout.owner_due(owner, config.optimize_every), self.store):
            return None  # below the apps' trigger: wait for more feedback
        outcome = self._engine.optimize(self.store, owner, self._chat_model, {})
        settled = ("optimized", "unchanged", "rolled_back", "no_feedback", "failed", "held")
        if outcome.status in settled:
            drive(self._layout.settle_pending(owner), self.store)
        logger.info("owner %r: %s", owner.user_id or owner.label, outcome.status)
        return outcome

    def run_once(self) -> int:
        """Process all pending work once.

        Returns:
            How many namespaces it optimized (at least one new version appended, or the
            prompts judged fine); busy namespaces (another worker holds them) are skipped.
        """
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
