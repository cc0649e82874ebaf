"""When and where optimizations run: the trigger and the inline / background / external modes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Union

from langchain_core.language_models import BaseChatModel

from langchain_prompt_optimization.optimizer.background import BackgroundWork
from langchain_prompt_optimization.optimizer.run import (
    OptimizationOutcome,
    RunSettings,
    optimize_user,
)
from langchain_prompt_optimization.stores import StoreLayout, adrive, drive

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores import Job, PromptSpec, UserRef

__all__ = ["MODES", "RECORD_ONLY", "Mode", "ModelSource", "OptimizationEngine"]

logger = logging.getLogger(__name__)

Mode = Literal["inline", "background", "external", "server"]
ModelSource = Union["BaseChatModel", Callable[[], "BaseChatModel | None"], None]
"""The optimizer model, or a factory called when an optimization starts."""
MODES: tuple[str, ...] = ("inline", "background", "external", "server")
RECORD_ONLY: tuple[str, ...] = ("external", "server")
"""Modes where the feedback write marks the owner pending for work done elsewhere."""
_MAX_ROUNDS = 5


class OptimizationEngine:
    """Runs optimizations for namespaces, one at a time per namespace.

    Args:
        layout: The store layout.
        settings: Optimizer settings.
        mode: `inline`, `background`, `external` (record only) or `server` (record, then
            queue a run of the optimizer graph on the LangGraph server: `server.py`).
        optimize_every: Pending, not yet attempted feedback items that trigger a run.
        on_outcome: Called with each optimization's outcome (the middleware refreshes the
            prompts it would serve during a store outage).
    """

    def __init__(
        self,
        *,
        layout: StoreLayout,
        settings: RunSettings,
        mode: Mode,
        optimize_every: int,
        on_outcome: Callable[[UserRef, OptimizationOutcome], None] | None = None,
    ) -> None:
        self.layout = layout
        self.on_outcome = on_outcome
        self.settings = settings
        self.mode = mode
        self.optimize_every = optimize_every
        self.holder = f"promptopt-{uuid.uuid4().hex[:12]}"
        self._background = BackgroundWork("promptopt")

    def triggered(self, new_pending: int) -> bool:
        """Whether `new_pending` not-yet-attempted feedback items call for an optimization."""
        return new_pending >= self.optimize_every

    # -- running now ----------------------------------------------------------------------------

    def optimize(
        self,
        store: BaseStore,
        user: UserRef,
        model: ModelSource,
        specs: dict[str, PromptSpec],
    ) -> OptimizationOutcome:
        """Optimize `user` now, then again while new feedback keeps triggering (blocking).

        A model that cannot be created (`model` may be a factory) gives a `failed` outcome;
        the feedback stays pending.
        """
        chat_model = _resolve(model, user)
        if isinstance(chat_model, OptimizationOutcome):
            return chat_model
        outcome = OptimizationOutcome(user.user_id, "no_feedback")
        for _ in range(_MAX_ROUNDS):
            outcome = drive(self._job(user, chat_model, specs), store)
            self._report(user, outcome)
            if outcome.status not in ("optimized", "unchanged", "rolled_back"):
                break
            if not self.triggered(drive(self.layout.new_pending_count(user), store)):
                break
        return outcome

    async def aoptimize(
        self,
        store: BaseStore,
        user: UserRef,
        model: ModelSource,
        specs: dict[str, PromptSpec],
    ) -> OptimizationOutcome:
        """Async twin of `optimize`."""
        chat_model = _resolve(model, user)
        if isinstance(chat_model, OptimizationOutcome):
            return chat_model
        outcome = OptimizationOutcome(user.user_id, "no_feedback")
        for _ in range(_MAX_ROUNDS):
            outcome = await adrive(self._job(user, chat_model, specs), store)
            self._report(user, outcome)
            if outcome.status not in ("optimized", "unchanged", "rolled_back"):
                break
            if not self.triggered(await adrive(self.layout.new_pending_count(user), store)):
                break
        return outcome

    def _report(self, owner: UserRef, outcome: OptimizationOutcome) -> None:
        if self.on_outcome is not None and outcome.versions:
            try:
                self.on_outcome(owner, outcome)
            except Exception:
                logger.exception("on_outcome callback failed")

    def _job(
        self, user: UserRef, model: BaseChatModel, specs: dict[str, PromptSpec]
    ) -> Job[OptimizationOutcome]:
        return optimize_user(
            self.layout, user, model=model, specs=specs, settings=self.settings, holder=self.holder
        )

    # -- scheduling by mode ---------------------------------------------------------------------

    def schedule(
        self,
        store: BaseStore,
        user: UserRef,
        model: ModelSource,
        specs: dict[str, PromptSpec],
    ) -> OptimizationOutcome | None:
        """Start a triggered optimization as the mode says; never raises.

        `external` mode does nothing: the feedback write already marked the owner in the
        pending-work index for the workers. `server` mode also queues a run of the optimizer
        graph for the owner (needs `PROMPTOPT_SERVER_URL` from sync code).

        Returns:
            The outcome in `inline` mode; `None` when it runs elsewhere or later.
        """
        if self.mode == "external":
            return None  # the feedback's write carried the owner's pending-work mark
        if self.mode == "server":
            self._queue(user)
            return None
        if self.mode == "inline":
            return self._guarded(self.optimize, store, user, model, specs)
        self._background.submit(self._guarded, self.optimize, store, user, model, specs)
        return None

    async def aschedule(
        self,
        store: BaseStore,
        user: UserRef,
        model: ModelSource,
        specs: dict[str, PromptSpec],
    ) -> OptimizationOutcome | None:
        """Async twin of `schedule`: background work is an asyncio task on the running loop."""
        if self.mode == "external":
            return None  # the feedback's write carried the owner's pending-work mark
        if self.mode == "server":
            await self._aqueue(user)
            return None
        if self.mode == "inline":
            return await self._aguarded(store, user, model, specs)
        self._background.create_task(self._aguarded(store, user, model, specs))
        return None

    def _queue(self, user: UserRef) -> None:
        """Queue the optimizer graph for `user` (a failure leaves the owner pending)."""
        from langchain_prompt_optimization.server import schedule_optimization

        try:
            schedule_optimization(user, self.layout.prefix)
        except Exception:
            logger.exception("could not queue the optimizer graph for %r", user.user_id)

    async def _aqueue(self, user: UserRef) -> None:
        """Async twin of `_queue`."""
        from langchain_prompt_optimization.server import aschedule_optimization

        try:
            await aschedule_optimization(user, self.layout.prefix)
        except Exception:
            logger.exception("could not queue the optimizer graph for %r", user.user_id)

    def _guarded(
        self,
        fn: Callable[..., OptimizationOutcome],
        store: BaseStore,
        user: UserRef,
        model: ModelSource,
        specs: dict[str, PromptSpec],
    ) -> OptimizationOutcome:
        try:
            return fn(store, user, model, specs)
        except Exception as exc:
            logger.exception("optimization of %r failed", user.user_id)
            return OptimizationOutcome(user.user_id, "failed", error=f"{type(exc).__name__}: {exc}")

    async def _aguarded(
        self,
        store: BaseStore,
        user: UserRef,
        model: ModelSource,
        specs: dict[str, PromptSpec],
    ) -> OptimizationOutcome:
        try:
            return await self.aoptimize(store, user, model, specs)
        except Exception as exc:
            logger.exception("optimization of %r failed", user.user_id)
            return OptimizationOutcome(user.user_id, "failed", error=f"{type(exc).__name__}: {exc}")

    # -- waiting --------------------------------------------------------------------------------

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for background optimizations started from sync code.

        Returns:
            `True` if none is left running.
        """
        return self._background.drain(timeout)

    async def adrain(self, timeout: float | None = None) -> bool:
        """Wait for background optimizations, both asyncio tasks and threads."""
        return await self._background.adrain(timeout)

    def close(self) -> None:
        """Wait for background threads and shut the pool down."""
        self._background.close()


def _resolve(model: ModelSource, user: UserRef) -> BaseChatModel | OptimizationOutcome:
    """The optimizer model, or a `failed` outcome saying why there is none."""
    try:
        resolved = model() if callable(model) and not isinstance(model, BaseChatModel) else model
    except Exception as exc:
        msg = f"cannot create the optimizer model: {type(exc).__name__}: {exc}"
        logger.warning("optimization of %r skipped: %s", user.user_id, msg)
        return OptimizationOutcome(user.user_id, "failed", error=msg)
    if resolved is None:
        msg = (
            "no optimizer model: pass optimizer_model= or run the agent once so its model is known"
        )
        logger.warning("optimization of %r skipped: %s", user.user_id, msg)
        return OptimizationOutcome(user.user_id, "failed", error=msg)
    return resolved
