"""Pending owners: optimize what apps marked as pending, with the settings they recorded."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from langchain_prompt_optimization.optimizer.engine import OptimizationEngine
from langchain_prompt_optimization.optimizer.settings import run_settings
from langchain_prompt_optimization.stores import StoreLayout, adrive, drive

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.optimizer.budget import Budget
    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome
    from langchain_prompt_optimization.optimizer.settings import OptimizerSettings, SafetySettings
    from langchain_prompt_optimization.stores import PromptConfig, UserRef
    from langchain_prompt_optimization.stores.settings import StorageSettings

__all__ = ["SETTLED", "PendingOwners"]

logger = logging.getLogger(__name__)

SETTLED = frozenset(
    {"optimized", "unchanged", "rolled_back", "no_feedback", "failed", "quarantined"}
)
"""Outcomes after which an owner's pending mark is cleared (`busy` and `over_budget` keep
it: the owner is tried again, an over-budget one in its budget's next window)."""


class PendingOwners:
    """Optimize the owners apps in `mode="external"` / `"server"` marked as pending, with what
    the apps recorded (base prompts, trigger, approval, budgets, firewall): the one
    implementation behind `PromptWorker` and the server's optimizer graph.

    Args:
        optimizer: The optimizer settings; `model` may be a `BaseChatModel`, a
            `"provider:model"` string (created at first use) or `None` (then `model_env`).
        storage: The apps' `namespace_prefix` (and retention).
        safety: Overrides of the apps' recorded safety (`None`: follow what they recorded).
        require_approval: Override of the apps' approval policy (`None`: as recorded).
        model_env: An environment variable holding a `"provider:model"`, read at first use
            when `optimizer.model` is `None`.
        budget: Caps on the optimizations' model usage (`None`: none).
    """

    def __init__(
        self,
        optimizer: OptimizerSettings,
        storage: StorageSettings,
        safety: SafetySettings | None,
        require_approval: bool | None,
        *,
        model_env: str | None = None,
        budget: Budget | None = None,
    ) -> None:
        self._spec = optimizer.model
        self._model: BaseChatModel | None = (
            optimizer.model if isinstance(optimizer.model, BaseChatModel) else None
        )
        self._model_env = model_env
        self._lock = threading.Lock()
        self.layout = StoreLayout(storage.namespace_prefix)
        self.engine = OptimizationEngine(
            layout=self.layout,
            settings=run_settings(
                optimizer,
                storage,
                safety,
                require_approval=require_approval,
                follow_recorded=True,
                budget=budget,
            ),
            mode="inline",
            optimize_every=1,
        )

    def chat_model(self) -> BaseChatModel:
        """The optimizer model, created at first use from a model string.

        Raises:
            ValueError: If no model is configured (nor in `model_env`).
        """
        with self._lock:
            if self._model is None:
                spec = self._spec or (os.environ.get(self._model_env) if self._model_env else None)
                if not spec:
                    where = f"set {self._model_env}='provider:model' or " if self._model_env else ""
                    msg = f"no optimizer model: {where}pass OptimizerSettings(model=...)"
                    raise ValueError(msg)
                from langchain.chat_models import init_chat_model

                self._model = init_chat_model(str(spec))
            return self._model

    def process(
        self, store: BaseStore, owner: UserRef, config: PromptConfig | None = None
    ) -> OptimizationOutcome | None:
        """Optimize `owner` if its pending feedback reached the apps' trigger, and clear its
        pending mark when settled. `None`: below the trigger (it waits for more feedback).

        Args:
            store: The shared store.
            owner: A pending lineage owner.
            config: What the apps recorded, when the caller has read it already.
        """
        if config is None:
            config = drive(self.layout.read_config(), store)
        if not drive(self.layout.owner_due(owner, config.optimize_every), store):
            return None
        outcome = self.engine.optimize(store, owner, self.chat_model, {})
        if outcome.status in SETTLED:
            drive(self.layout.settle_pending(owner), store)
        logger.info("owner %r: %s", owner.user_id or owner.label, outcome.status)
        return outcome

    async def aprocess(
        self, store: BaseStore, owner: UserRef, config: PromptConfig | None = None
    ) -> OptimizationOutcome | None:
        """Async twin of `process`."""
        if config is None:
            config = await adrive(self.layout.read_config(), store)
        if not await adrive(self.layout.owner_due(owner, config.optimize_every), store):
            return None
        outcome = await self.engine.aoptimize(store, owner, self.chat_model, {})
        if outcome.status in SETTLED:
            await adrive(self.layout.settle_pending(owner), store)
        logger.info("owner %r: %s", owner.user_id or owner.label, outcome.status)
        return outcome
