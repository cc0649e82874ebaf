"""Optimizations on the LangGraph server's own task queue: the optimizer graph and its scheduler."""

from __future__ import annotations

import dataclasses
import logging
import os
import uuid
from typing import TYPE_CHECKING, Any, TypedDict

from langchain_core.runnables import RunnableLambda

from langchain_prompt_optimization.optimizer.budget import check_budget
from langchain_prompt_optimization.optimizer.pending import PendingOwners
from langchain_prompt_optimization.optimizer.settings import OptimizerSettings
from langchain_prompt_optimization.stores import UserRef, adrive, drive
from langchain_prompt_optimization.stores.settings import StorageSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langgraph.graph.state import CompiledStateGraph
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.optimizer.budget import Budget
    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome
    from langchain_prompt_optimization.optimizer.settings import SafetySettings

__all__ = [
    "GRAPH_ENV",
    "MODEL_ENV",
    "URL_ENV",
    "OptimizerInput",
    "OptimizerOutput",
    "aschedule_optimization",
    "make_optimizer_graph",
    "optimizer",
    "optimizer_thread_id",
    "schedule_optimization",
]

logger = logging.getLogger(__name__)

MODEL_ENV = "PROMPTOPT_OPTIMIZER_MODEL"
"""The `"provider:model"` the shipped `optimizer` graph optimizes with."""
GRAPH_ENV = "PROMPTOPT_OPTIMIZER_GRAPH"
"""The graph id (in `langgraph.json`) `mode="server"` schedules; default `prompt_optimizer`."""
URL_ENV = "PROMPTOPT_SERVER_URL"
"""The server URL for scheduling from sync code (async code inside the server needs none)."""
DEFAULT_GRAPH = "prompt_optimizer"


class OptimizerInput(TypedDict, total=False):
    """Input of the optimizer graph: one owner (`label`, else `user_id`), or none: sweep."""

    user_id: str | None
    label: str | None


class OptimizerOutput(TypedDict, total=False):
    """Output of the optimizer graph: what each processed owner's optimization did."""

    outcomes: list[dict[str, Any]]


class _State(OptimizerInput, OptimizerOutput):
    """The graph's state: its input and its output."""


def _summary(owner: UserRef, outcome: OptimizationOutcome | None) -> dict[str, Any]:
    if outcome is None:
        return {"user_id": owner.user_id, "status": "not_due", "versions": {}}
    return {
        "user_id": owner.user_id,
        "status": outcome.status,
        "versions": {name: v.version for name, v in outcome.versions.items()},
        "error": outcome.error,
    }


def _wanted(state: OptimizerInput) -> str | None:
    """The owner label the input names (`None`: every pending owner)."""
    label = state.get("label")
    if label:
        return label
    user_id = state.get("user_id")
    return UserRef.of(user_id).label if user_id else None


class _Optimizer:
    """Processes pending owners from the run's store, as `PromptWorker` does."""

    def __init__(
        self,
        settings: OptimizerSettings,
        storage: StorageSettings,
        safety: SafetySettings | None,
        require_approval: bool | None,
        budget: Budget | None = None,
    ) -> None:
        self.pending = PendingOwners(
            settings, storage, safety, require_approval, model_env=MODEL_ENV, budget=budget
        )

    @staticmethod
    def _store() -> BaseStore:
        from langgraph.config import get_store

        store = get_store()
        if store is None:
            msg = "the optimizer graph needs a store: run it on the LangGraph server"
            raise RuntimeError(msg)
        return store

    def run(self, state: _State) -> dict[str, Any]:
        store = self._store()
        wanted = _wanted(state)
        layout = self.pending.layout
        owners = drive(layout.pending_owners(), store)
        config = drive(layout.read_config(), store)
        outcomes = [
            _summary(owner, self.pending.process(store, owner, config))
            for owner in owners
            if wanted is None or owner.label == wanted
        ]
        return {"outcomes": outcomes}

    async def arun(self, state: _State) -> dict[str, Any]:
        store = self._store()
        wanted = _wanted(state)
        layout = self.pending.layout
        owners = await adrive(layout.pending_owners(), store)
        config = await adrive(layout.read_config(), store)
        outcomes = [
            _summary(owner, await self.pending.aprocess(store, owner, config))
            for owner in owners
            if wanted is None or owner.label == wanted
        ]
        return {"outcomes": outcomes}


def make_optimizer_graph(
    model: BaseChatModel | str | None = None,
    *,
    optimizer: OptimizerSettings | None = None,
    storage: StorageSettings | None = None,
    safety: SafetySettings | None = None,
    require_approval: bool | None = None,
    budget: Budget | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The optimizer graph to list in `langgraph.json` (next to the agent).

    Each run optimizes, from the server's store, the owners apps in `mode="server"` (or
    `"external"`) marked as pending, with what the apps recorded (base prompts, approval,
    budgets, firewall), exactly as `PromptWorker` does: input `{"user_id": ...}` processes
    that user, `{}` sweeps every pending owner (e.g. from a cron). Output `{"outcomes": [...]}`.

    Args:
        model: The optimizer model (a `BaseChatModel` or `"provider:model"`); `None`: the
            one in `optimizer`, else the `PROMPTOPT_OPTIMIZER_MODEL` environment variable
            read at the first optimization.
        optimizer: `OptimizerSettings` (kind, budgets); its model when `model` is `None`.
        storage: `StorageSettings` with the apps' `namespace_prefix`.
        safety: Overrides of the apps' recorded safety (as `PromptWorker(safety=)`).
        require_approval: Override of the apps' approval policy (`None`: follow it).
        budget: A `Budget` capping the optimizations' model usage (as `PromptWorker(budget=)`).

    Returns:
        A compiled LangGraph graph (no store of its own: the server gives it its store).

    Raises:
        ValueError: If a gate has no model (the graph never sees the agent's), or on a bad
            model or settings.
        TypeError: On a model or settings of the wrong type.
    """
    from langgraph.graph import END, START, StateGraph

    if safety is not None and safety.gate is not None and safety.gate.model is None:
        msg = "the optimizer graph's gate must be an EvaluationGate with model= (and tools=)"
        raise ValueError(msg)

    settings = OptimizerSettings.from_setting(optimizer)
    if model is not None:
        settings = dataclasses.replace(settings, model=model)
    worker = _Optimizer(
        settings, storage or StorageSettings(), safety, require_approval, check_budget(budget)
    )
    builder = StateGraph(_State, input_schema=OptimizerInput, output_schema=OptimizerOutput)
    builder.add_node("optimize", RunnableLambda(worker.run, afunc=worker.arun, name="optimize"))
    builder.add_edge(START, "optimize")
    builder.add_edge("optimize", END)
    return builder.compile(name="prompt_optimizer")


optimizer = make_optimizer_graph()
"""The shipped optimizer graph (model from `PROMPTOPT_OPTIMIZER_MODEL`):
`"prompt_optimizer": "langchain_prompt_optimization.server:optimizer"` in `langgraph.json`."""


# -- scheduling from the middleware ("server" mode) ---------------------------------------------


def optimizer_thread_id(owner: UserRef, namespace_prefix: tuple[str, ...] = ()) -> str:
    """The owner's optimizer thread: one per owner, so its runs queue one after another."""
    name = f"promptopt:{'/'.join(namespace_prefix)}:{owner.label}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _run_args(owner: UserRef, namespace_prefix: tuple[str, ...]) -> dict[str, Any]:
    return {
        "thread_id": optimizer_thread_id(owner, namespace_prefix),
        "assistant_id": os.environ.get(GRAPH_ENV) or DEFAULT_GRAPH,
        "input": {"user_id": owner.user_id, "label": owner.label},
        "multitask_strategy": "enqueue",
        "if_not_exists": "create",
    }


async def aschedule_optimization(owner: UserRef, namespace_prefix: tuple[str, ...] = ()) -> str:
    """Create a run of the optimizer graph for `owner` on its own thread (queued behind the
    owner's earlier ones: `multitask_strategy="enqueue"`).

    Inside the server it connects to the server itself; elsewhere to `PROMPTOPT_SERVER_URL`.

    Returns:
        The run id.
    """
    from langgraph_sdk import get_client

    client = get_client(url=os.environ.get(URL_ENV) or None)
    run = await client.runs.create(**_run_args(owner, namespace_prefix))
    return str(run["run_id"])


def schedule_optimization(owner: UserRef, namespace_prefix: tuple[str, ...] = ()) -> str | None:
    """Sync twin of `aschedule_optimization`: needs `PROMPTOPT_SERVER_URL`.

    Returns:
        The run id; `None` without a URL (the owner stays marked pending: a sweep run of the
        graph picks it up).
    """
    url = os.environ.get(URL_ENV)
    if not url:
        logger.warning(
            "mode='server' from sync code needs %s to schedule the optimizer graph; %r stays "
            "pending for a sweep",
            URL_ENV,
            owner.user_id,
        )
        return None
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=url)
    run = client.runs.create(**_run_args(owner, namespace_prefix))
    return str(run["run_id"])
