"""Prompt optimization middleware: the agent hooks (pin, swap, capture, schedule) and its API."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired, TypedDict

from langchain.agents.middleware.internal_call_transformer import InternalCallTransformer
from langchain.agents.middleware.types import (
    AgentMiddleware,
    AgentState,
    ContextT,
    ModelRequest,
    ModelResponse,
    OmitFromInput,
    OmitFromOutput,
    PrivateStateAttr,
    ResponseT,
)
from langchain_core.messages import SystemMessage
from langgraph.errors import GraphBubbleUp
from langgraph.store.base import BaseStore
from typing_extensions import Unpack, override

from langchain_prompt_optimization._deprecated import Moved, take_moved
from langchain_prompt_optimization.middleware.capture import Capture, CaptureWriter, plan_capture
from langchain_prompt_optimization.middleware.feedback import validate_feedback
from langchain_prompt_optimization.middleware.pinning import LAST_MESSAGE, META, PINNED, Pinner
from langchain_prompt_optimization.middleware.settings import (
    SYSTEM_PROMPT,
    SystemPromptSettings,
    validate_prompts,
)
from langchain_prompt_optimization.optimizer.checks import CandidatePolicy
from langchain_prompt_optimization.optimizer.engine import MODES, Mode, OptimizationEngine
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.optimizer.gate import EvaluationGate, reference_example
from langchain_prompt_optimization.optimizer.monitor import Monitor
from langchain_prompt_optimization.optimizer.settings import (
    OptimizerSettings,
    SafetySettings,
    run_settings,
    settings_or_default,
)
from langchain_prompt_optimization.stores import (
    FeedbackItem,
    FeedbackValue,
    Job,
    PromptConfig,
    PromptSpec,
    Retention,
    StoreLayout,
    UserRef,
    adrive,
    default_store_uri,
    drive,
    open_store,
)
from langchain_prompt_optimization.stores.io import supports_ttl
from langchain_prompt_optimization.stores.open import shared_store
from langchain_prompt_optimization.stores.records import check_feedback_id, content_hash
from langchain_prompt_optimization.stores.server import aserver_store, server_store
from langchain_prompt_optimization.stores.settings import StorageSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langgraph.runtime import Runtime
    from langmem import Prompt

    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome, OptimizerKind
    from langchain_prompt_optimization.stores.buffer import RejectedWrite

__all__ = [
    "SYSTEM_PROMPT",
    "DeprecatedMiddlewareArgs",
    "PromptOptimizationMiddleware",
    "PromptOptimizationState",
]

logger = logging.getLogger(__name__)


class PromptOptimizationState(AgentState[ResponseT]):
    """State added by `PromptOptimizationMiddleware`.

    Attributes:
        trajectory_id: Id of this run's recorded trajectory; give it to `add_feedback`.
        prompt_versions: `{prompt name: version number}` that served this run.
        feedback: Input only: feedback on the previous run of the same thread (a string, or
            a dict in langmem's feedback shape; a numeric `"score"` key is taken as the score).
    """

    trajectory_id: NotRequired[Annotated[str, OmitFromInput]]
    prompt_versions: NotRequired[Annotated[dict[str, int], OmitFromInput]]
    feedback: NotRequired[Annotated[FeedbackValue | None, OmitFromOutput]]
    prompt_optimization_pinned: NotRequired[Annotated[dict[str, str], PrivateStateAttr]]
    prompt_optimization_meta: NotRequired[Annotated[dict[str, Any], PrivateStateAttr]]
    prompt_optimization_last_message_id: NotRequired[Annotated[str | None, PrivateStateAttr]]


class DeprecatedMiddlewareArgs(TypedDict, total=False):
    """Keywords of `PromptOptimizationMiddleware` that moved into configuration objects.

    They keep working for one release with a `DeprecationWarning` naming the replacement.
    """

    optimizer_model: str | BaseChatModel | None
    kind: OptimizerKind
    optimizer_config: dict[str, Any] | None
    max_feedback_per_optimization: int
    max_trajectory_chars: int
    namespace_prefix: Sequence[str]
    store_timeout: float | None
    max_buffered_writes: int
    retention: Retention | None
    update_instructions: str | None
    when_to_update: str | None
    system_prompt_name: str
    max_prompt_chars: int
    max_growth_chars: int
    firewall: FeedbackFirewall | bool
    gate: EvaluationGate | None
    monitor: Monitor | None


_MOVED: dict[str, Moved] = {
    "optimizer_model": Moved("optimizer", ("model",)),
    "kind": Moved("optimizer", ("kind",)),
    "optimizer_config": Moved("optimizer", ("config",)),
    "max_feedback_per_optimization": Moved("optimizer", ("max_feedback",)),
    "max_trajectory_chars": Moved("optimizer", ("max_trajectory_chars",)),
    "namespace_prefix": Moved("storage", ("namespace_prefix",)),
    "store_timeout": Moved("storage", ("timeout",)),
    "max_buffered_writes": Moved("storage", ("max_buffered_writes",)),
    "retention": Moved("storage", ("retention",)),
    "update_instructions": Moved("system_prompt", ("update_instructions",)),
    "when_to_update": Moved("system_prompt", ("when_to_update",)),
    "system_prompt_name": Moved("system_prompt", ("name",)),
    "max_prompt_chars": Moved("safety", ("policy", "max_prompt_chars")),
    "max_growth_chars": Moved("safety", ("policy", "max_growth_chars")),
    "firewall": Moved("safety", ("firewall",)),
    "gate": Moved("safety", ("gate",)),
    "monitor": Moved("safety", ("monitor",)),
}


def _legacy_storage(values: dict[str, Any]) -> StorageSettings:
    if "retention" in values and values["retention"] is None:
        values = {**values, "retention": Retention()}
    return StorageSettings(**values)


def _legacy_safety(values: dict[str, Any]) -> SafetySettings:
    policy = values.pop("policy", None)
    return SafetySettings(
        policy=CandidatePolicy(**policy) if policy is not None else CandidatePolicy(), **values
    )


def _default_user_id(runtime: Runtime[Any]) -> object:
    """`runtime.context.user_id` (or `["user_id"]`), else the run's
    `config["configurable"]["user_id"]` (how LangGraph server clients often pass it)."""
    context = getattr(runtime, "context", None)
    found: object = None
    if isinstance(context, Mapping):
        found = context.get("user_id")
    elif context is not None:
        found = getattr(context, "user_id", None)
    if found is not None:
        return found
    return _configurable_user_id()


def _configurable_user_id() -> object:
    from langgraph.config import get_config

    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # not inside a run
        return None
    return configurable.get("user_id") if isinstance(configurable, Mapping) else None


class PromptOptimizationMiddleware(
    AgentMiddleware[PromptOptimizationState[ResponseT], ContextT, ResponseT]
):
    """Make an agent improve its prompts, per user, from feedback.

    Each run is served the active version of every managed prompt for its user (pinned in
    one store read before the run, so a run never mixes versions) and recorded as a
    trajectory (one store write after the run). Feedback on a trajectory — through
    `add_feedback`, or the `feedback` input key on the next run of the same thread — is
    stored; every `optimize_every` new items, langmem's multi-prompt optimizer rewrites
    the user's prompts. Candidates that are empty, langmem's "No recommendations." sentinel,
    or that drop a `{variable}` are recorded as rejected and never served. Each change is
    an appended version; `PromptRegistry` reads the history.

    The user's run never fails because of this middleware: a store or optimizer error is
    logged and the run is served the last good prompt (or the base prompt).

    Put it first in `middleware=[...]` so it sees the agent's own system prompt.

    Example:
        ```python
        from langchain.agents import create_agent
        from langchain_prompt_optimization import PromptOptimizationMiddleware

        mw = PromptOptimizationMiddleware()
        agent = create_agent(model, tools, system_prompt="You are an email assistant.",
                             middleware=[mw], store=store, context_schema=Context)
        result = agent.invoke({"messages": [...]}, context=Context(user_id="jane@x.com"))
        mw.add_feedback(result["trajectory_id"], "Always sign emails as John Doe.")
        ```
    """

    state_schema = PromptOptimizationState  # type: ignore[assignment]
    transformers = (InternalCallTransformer,)

    def __init__(
        self,
        *,
        optimizer: OptimizerSettings | str | BaseChatModel | None = None,
        optimize_every: int = 1,
        mode: Mode = "inline",
        scope: Literal["user", "global"] = "user",
        require_approval: bool | None = None,
        on_base_change: Literal["new_lineage", "carry"] = "new_lineage",
        store: BaseStore | str | None = None,
        storage: StorageSettings | None = None,
        prompts: Sequence[Prompt] | None = None,
        system_prompt: SystemPromptSettings | None = None,
        get_user_id: Callable[[Runtime[Any]], object] | None = None,
        safety: SafetySettings | None = None,
        **deprecated: Unpack[DeprecatedMiddlewareArgs],
    ) -> None:
        """Configure the middleware; everything is validated here.

        Args:
            optimizer: Which model rewrites prompts, with which langmem optimizer kind, and
                how much one optimization reads (`OptimizerSettings`). A model string
                (`"openai:gpt-4o-mini"`) or a `BaseChatModel` is short for
                `OptimizerSettings(model=...)`. Default: the agent's own model, kind
                `"prompt_memory"`.
            optimize_every: Optimize a user after this many new feedback items.
            mode: `"inline"` (the optimization runs before `add_feedback` returns),
                `"background"` (a thread / asyncio task; never delays a response; wait with
                `drain()` / `adrain()`), or `"external"` (only record; workers optimize).
            scope: `"user"`: one lineage of prompt versions per user namespace. `"global"`:
                one lineage shared by all users, learned from everyone's feedback.
            require_approval: New versions are stored `pending` and not served until
                approved (`PromptRegistry.approve`). Default: `False` for `scope="user"`,
                `True` for `scope="global"`, since one user's feedback reaches everyone.
            on_base_change: What happens to a lineage when its base text in code changes
                (detected through the base hash stored on every version).
                `"new_lineage"`: start a new lineage from the new base; the old history
                stays readable. `"carry"`: the same, then re-optimize the new base with the
                feedback the old lineage had learned from.
            store: A `BaseStore` or a store URI (see `open_store`). Default: the store given
                to `create_agent(store=...)`; if none, an embedded SQLite file at
                `default_store_uri()` (`$PROMPTOPT_STORE`, else
                `~/.local/share/langchain-prompt-optimization/store.db`).
            storage: Namespace prefix, the run path's store deadline, the outage buffer and
                retention (`StorageSettings`).
            prompts: Extra named prompts (langmem `Prompt` dicts: `name`, `prompt`,
                `update_instructions`, `when_to_update`) optimized together with the system
                prompt. Read their current text with `get_prompt(name, user_id=...)`, or
                in a run with `prompt_for_run(state, name)`.
            system_prompt: The name and langmem guidance of the agent's own system prompt
                (`SystemPromptSettings`).
            get_user_id: `runtime -> user id`. Default: `runtime.context.user_id`, or
                `runtime.context["user_id"]`, else `config["configurable"]["user_id"]`. A run
                with no user id (or an unusable one) uses the default namespace, addressed
                as `user_id=None`.
            safety: Candidate budgets, the feedback firewall, an evaluation gate and online
                monitoring (`SafetySettings`). In `"external"` mode pass the gate to
                `PromptWorker`.
            **deprecated: The keywords that moved into these objects (`optimizer_model=`,
                `kind=`, `store_timeout=`, `max_prompt_chars=`, ...; see
                `DeprecatedMiddlewareArgs`) still work for one release, with a
                `DeprecationWarning` naming the replacement.

        Raises:
            ValueError: On an unknown `mode`, `scope` or `on_base_change`, a non-positive
                count, an invalid prompt list, a store URI that cannot be opened, a gate in
                `"external"` mode, or an old keyword given with the object that holds it.
            TypeError: On arguments of the wrong type or an unknown keyword.

        Example:
            ```python
            PromptOptimizationMiddleware(
                optimizer=OptimizerSettings(model="openai:gpt-4o-mini"),
                optimize_every=3,
                storage=StorageSettings(namespace_prefix=("email_agent",)),
                safety=SafetySettings(policy=CandidatePolicy(max_prompt_chars=4_000)),
            )
            ```
        """
        super().__init__()
        moved = take_moved(
            type(self).__name__,
            deprecated,
            _MOVED,
            {
                "optimizer": optimizer,
                "storage": storage,
                "system_prompt": system_prompt,
                "safety": safety,
            },
            stacklevel=2,
        )
        if "optimizer" in moved:
            optimizer = moved.build("optimizer", lambda v: OptimizerSettings(**v))
        if "storage" in moved:
            storage = moved.build("storage", _legacy_storage)
        if "system_prompt" in moved:
            system_prompt = moved.build("system_prompt", lambda v: SystemPromptSettings(**v))
        if "safety" in moved:
            safety = moved.build("safety", _legacy_safety)
        optimizer = OptimizerSettings.from_setting(optimizer)
        storage = settings_or_default("storage", storage, StorageSettings)
        system_prompt = settings_or_default("system_prompt", system_prompt, SystemPromptSettings)
        safety = settings_or_default("safety", safety, SafetySettings)
        if safety.policy is None or safety.firewall is None:
            safety = replace(
                safety,
                policy=safety.policy or CandidatePolicy(),
                firewall=True if safety.firewall is None else safety.firewall,
            )
        if mode not in MODES:
            msg = f"mode must be one of {', '.join(MODES)}; got {mode!r}"
            raise ValueError(msg)
        if isinstance(optimize_every, bool) or not isinstance(optimize_every, int):
            msg = f"optimize_every must be a positive int; got {optimize_every!r}"
            raise ValueError(msg)
        if optimize_every < 1:
            msg = f"optimize_every must be a positive int; got {optimize_every!r}"
            raise ValueError(msg)
        if get_user_id is not None and not callable(get_user_id):
            msg = "get_user_id must be callable: runtime -> user id"
            raise TypeError(msg)
        if scope not in ("user", "global"):
            msg = f"scope must be 'user' or 'global'; got {scope!r}"
            raise ValueError(msg)
        if on_base_change not in ("new_lineage", "carry"):
            msg = f"on_base_change must be 'new_lineage' or 'carry'; got {on_base_change!r}"
            raise ValueError(msg)
        if require_approval is not None and not isinstance(require_approval, bool):
            msg = "require_approval must be a bool or None"
            raise TypeError(msg)
        if safety.gate is not None and mode == "external":
            msg = (
                "a gate has no effect in mode='external': optimizations run in workers; pass "
                "the gate (with its model and tools) to PromptWorker(safety=SafetySettings("
                "gate=...))"
            )
            raise ValueError(msg)
        self._named = validate_prompts(prompts, system_prompt.name)
        if isinstance(store, str):
            store = open_store(store)
        elif store is not None and not isinstance(store, BaseStore):
            msg = f"store must be a BaseStore or a URI string; got {type(store).__name__}"
            raise TypeError(msg)

        self._optimizer = optimizer
        self._storage = storage
        self._system_prompt = system_prompt
        self._safety = safety
        self._system_name = system_prompt.name
        self._layout = StoreLayout(storage.namespace_prefix)
        self._specs: dict[str, PromptSpec] = dict(self._named)
        self._specs_lock = threading.Lock()
        self._store: BaseStore | None = store
        self._default_store: BaseStore | None = None
        self._seen_store: BaseStore | None = None
        self._optimizer_model: str | BaseChatModel | None = optimizer.model
        self._agent_model: BaseChatModel | None = None
        self._agent_tools: list[Any] = []
        self._model_lock = threading.Lock()
        self._get_user_id = get_user_id or _default_user_id
        self._scope = scope
        self._monitor = safety.monitor if safety.monitor is not None else Monitor(enabled=False)
        self._policy = safety.policy or CandidatePolicy()
        self._firewall = safety.feedback_firewall or FeedbackFirewall()
        self._engine = OptimizationEngine(
            layout=self._layout,
            settings=run_settings(
                optimizer,
                storage,
                safety,
                require_approval=(
                    scope == "global" if require_approval is None else require_approval
                ),
                replay_agent=self._replay_agent,
            ),
            mode=mode,
            optimize_every=optimize_every,
            on_outcome=self._learned,
        )
        self._pinner = Pinner(
            self._layout,
            holder=self._engine.holder,
            prompt_names=self.prompt_names,
            specs=lambda: self._specs,
            on_base_change=on_base_change,
            global_scope=scope == "global",
            lease_seconds=optimizer.lease_seconds,
        )
        self._writer = CaptureWriter(
            storage.timeout,
            storage.max_buffered_writes,
            capture=storage.capture,
            max_capture_delay=storage.max_capture_delay,
        )

    # -- configuration accessors -------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        """The optimization mode."""
        return self._engine.mode

    @property
    def scope(self) -> Literal["user", "global"]:
        """`"user"` (a lineage per user) or `"global"` (one shared lineage)."""
        return self._scope

    @property
    def require_approval(self) -> bool:
        """Whether new versions wait for approval."""
        return bool(self._engine.settings.require_approval)

    @property
    def optimizer(self) -> OptimizerSettings:
        """Which model rewrites prompts, with which langmem optimizer, reading how much."""
        return self._optimizer

    @property
    def storage(self) -> StorageSettings:
        """Namespace prefix, the run path's store deadline, outage buffer and retention."""
        return self._storage

    @property
    def system_prompt(self) -> SystemPromptSettings:
        """The name and langmem guidance of the agent's own system prompt."""
        return self._system_prompt

    @property
    def safety(self) -> SafetySettings:
        """Candidate budgets, feedback firewall, evaluation gate and monitoring in effect."""
        return self._safety

    def _owner(self, user: UserRef) -> UserRef:
        """The owner of the lineage that serves `user`."""
        return UserRef.global_lineage() if self._scope == "global" else user

    @property
    def prompt_names(self) -> list[str]:
        """Managed prompt names: the system prompt's name first, then the named prompts."""
        return [self._system_name, *self._named]

    # -- store and model resolution ----------------------------------------------------------

    def _run_store(self, runtime: Runtime[Any]) -> BaseStore:
        store = self._store or getattr(runtime, "store", None)
        if store is None:
            if self._default_store is None:
                self._default_store = shared_store(default_store_uri())
            store = self._default_store
        self._seen_store = store
        return store

    async def _arun_store(self, runtime: Runtime[Any]) -> BaseStore:
        """Async twin of `_run_store`: the first open of the default store runs in a thread."""
        no_store = self._store is None and getattr(runtime, "store", None) is None
        if no_store and self._default_store is None:
            uri = default_store_uri()
            self._default_store = await asyncio.to_thread(shared_store, uri)
        return self._run_store(runtime)

    def _api_store(self) -> BaseStore:
        """The store for API calls: the configured one, the agent's one seen in a run, the
        LangGraph server's store when this process is the server (a custom route's own
        middleware instance has seen no run), else the embedded default (what runs of an
        agent without a store write to)."""
        store = self._store or self._seen_store or server_store()
        if store is None:
            if self._default_store is None:
                uri = default_store_uri()
                logger.warning(
                    "no store passed and no run seen yet: using the embedded default store %s "
                    "(pass store= if the agent uses another one)",
                    uri,
                )
                self._default_store = shared_store(uri)
            store = self._default_store
        return store

    async def _aapi_store(self) -> BaseStore:
        """Async twin of `_api_store`: asks the LangGraph server for its store; the first
        open of the default store runs in a thread (no blocking I/O on the event loop)."""
        store = self._store or self._seen_store or await aserver_store()
        if store is not None:
            return store
        if self._default_store is None:
            await asyncio.to_thread(self._api_store)
        return self._api_store()

    def _model(self) -> BaseChatModel | None:
        with self._model_lock:
            if isinstance(self._optimizer_model, str):
                from langchain.chat_models import init_chat_model

                self._optimizer_model = init_chat_model(self._optimizer_model)
            return self._optimizer_model or self._agent_model

    def _replay_agent(self) -> tuple[BaseChatModel, list[Any]] | None:
        """The agent's model and tools as its model calls saw them (for the gate)."""
        model = self._agent_model
        return (model, list(self._agent_tools)) if model is not None else None

    def _current_specs(self) -> dict[str, PromptSpec]:
        with self._specs_lock:
            return dict(self._specs)

    def _observe_system_prompt(self, text: str | None) -> None:
        base = text or ""
        spec = self._specs.get(self._system_name)
        if spec is not None and spec.prompt == base:
            return
        with self._specs_lock:
            self._specs = {
                self._system_name: PromptSpec(
                    self._system_name,
                    base,
                    self._system_prompt.update_instructions,
                    self._system_prompt.when_to_update,
                ),
                **{k: v for k, v in self._specs.items() if k != self._system_name},
            }

    def _resolve_user(self, runtime: Runtime[Any]) -> UserRef:
        try:
            raw = self._get_user_id(runtime)
        except GraphBubbleUp:
            raise
        except Exception:
            logger.exception("get_user_id raised; using the default namespace")
            return UserRef.of(None)
        if raw is None:
            return UserRef.of(None)
        if not isinstance(raw, str):
            if isinstance(raw, bool) or not isinstance(raw, int | uuid.UUID):
                logger.warning(
                    "user id of type %s is not usable; using the default namespace",
                    type(raw).__name__,
                )
                return UserRef.of(None)
            raw = str(raw)
        try:
            return UserRef.of(raw)
        except ValueError as exc:
            logger.warning("unusable user id (%s); using the default namespace", exc)
            return UserRef.of(None)

    # -- before_agent: pin (pinning.py) -------------------------------------------------------

    def _learned(self, owner: UserRef, outcome: OptimizationOutcome) -> None:
        """Serve what this process just activated if the store goes down before the next pin."""
        self._pinner.learned(owner, outcome)

    @override
    def before_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Pin the active version of every managed prompt for this run's user (one read)."""
        user = self._resolve_user(runtime)
        try:
            store = self._run_store(runtime)
            if state.get("feedback") is not None:  # write-behind: the run it names is stored
                self._writer.settle(store)
            job = self._pinner.pin_job(state, user, self._owner(user), _thread_id(runtime))
            pinned = self._writer.within(job, store)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._pinner.update(state, user, None, exc)
        return self._pinner.update(state, user, pinned, None)

    @override
    async def abefore_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Async twin of `before_agent`."""
        user = self._resolve_user(runtime)
        try:
            store = await self._arun_store(runtime)
            if state.get("feedback") is not None:  # write-behind: the run it names is stored
                await self._writer.asettle(store)
            job = self._pinner.pin_job(state, user, self._owner(user), _thread_id(runtime))
            pinned = await self._writer.awithin(job, store)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._pinner.update(state, user, None, exc)
        return self._pinner.update(state, user, pinned, None)

    # -- wrap_model_call: swap, no store I/O ---------------------------------------------------

    def _swap_system_prompt(self, request: ModelRequest[ContextT]) -> ModelRequest[ContextT]:
        self._observe_system_prompt(request.system_prompt)
        if self._agent_model is None:
            self._agent_tools = list(request.tools)
            self._agent_model = request.model
        state: Mapping[str, Any] = request.state
        pinned = (state.get(PINNED) or {}).get(self._system_name)
        if pinned is None or pinned == request.system_prompt:
            return request
        base_hash = ((state.get(META) or {}).get("base_hashes") or {}).get(self._system_name)
        if base_hash and base_hash != content_hash(request.system_prompt or ""):
            return request  # the base changed in code: serve it (rebased on the next run)
        return request.override(system_message=SystemMessage(content=pinned))

    @override
    def wrap_model_call(
        self,
        request: ModelRequest[ContextT],
        handler: Callable[[ModelRequest[ContextT]], ModelResponse[ResponseT]],
    ) -> ModelResponse[ResponseT] | AIMessage:
        """Serve the pinned system prompt to the model."""
        return handler(self._swap_system_prompt(request))

    @override
    async def awrap_model_call(
        self,
        request: ModelRequest[ContextT],
        handler: Callable[[ModelRequest[ContextT]], Awaitable[ModelResponse[ResponseT]]],
    ) -> ModelResponse[ResponseT] | AIMessage:
        """Async twin of `wrap_model_call`."""
        return await handler(self._swap_system_prompt(request))

    # -- after_agent: capture (capture.py) ---------------------------------------------------

    def _prompt_config(self) -> PromptConfig:
        """What this process records for workers and the registry."""
        return PromptConfig(
            self._current_specs(),
            self.require_approval,
            self._scope,
            self._engine.optimize_every,
            self._system_name,
            self._monitor.to_json(),
            policy=self._policy.to_json(),
            firewall=self._firewall.to_json(),
        )

    def _plan_capture(
        self, state: PromptOptimizationState[Any], runtime: Runtime[Any], store: BaseStore
    ) -> Capture | None:
        ttl = self._storage.retention.trajectory_ttl_minutes
        return plan_capture(
            state,
            layout=self._layout,
            owner_of=self._owner,
            config=self._prompt_config(),
            thread_id=_thread_id(runtime),
            ttl_minutes=ttl if supports_ttl(store) else None,
            mark_pending=self.mode == "external",
        )

    @staticmethod
    def _after_update(
        state: PromptOptimizationState[Any], capture: Capture | None
    ) -> dict[str, Any]:
        messages = state.get("messages", [])
        update: dict[str, Any] = {LAST_MESSAGE: messages[-1].id if messages else None}
        if capture is not None and capture.versions != state.get("prompt_versions"):
            update["prompt_versions"] = capture.versions
        return update

    @override
    def after_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Record the run (one write); with in-band feedback, maybe schedule an optimization."""
        capture = None
        try:
            store = self._run_store(runtime)
            capture = self._plan_capture(state, runtime, store)
            if capture is None:
                return None
            wait = capture.carry or capture.feedback is not None  # the trigger reads it back
            if not self._writer.write(store, capture.ops, wait=wait):
                return self._after_update(state, capture)
            due = capture.carry
            if not due and capture.feedback is not None:
                count = self._layout.new_pending_count(capture.owner)
                due = self._engine.triggered(self._writer.within(count, store))
            if due:
                self._engine.schedule(store, capture.owner, self._model, self._current_specs())
        except GraphBubbleUp:
            raise
        except Exception:
            logger.exception("could not record the run; the agent's answer is unaffected")
        return self._after_update(state, capture)

    @override
    async def aafter_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Async twin of `after_agent`."""
        capture = None
        try:
            store = await self._arun_store(runtime)
            capture = self._plan_capture(state, runtime, store)
            if capture is None:
                return None
            wait = capture.carry or capture.feedback is not None  # the trigger reads it back
            if not await self._writer.awrite(store, capture.ops, wait=wait):
                return self._after_update(state, capture)
            due = capture.carry
            if not due and capture.feedback is not None:
                count = self._layout.new_pending_count(capture.owner)
                due = self._engine.triggered(await self._writer.awithin(count, store))
            if due:
                specs = self._current_specs()
                await self._engine.aschedule(store, capture.owner, self._model, specs)
        except GraphBubbleUp:
            raise
        except Exception:
            logger.exception("could not record the run; the agent's answer is unaffected")
        return self._after_update(state, capture)

    @property
    def buffered_writes(self) -> int:
        """Captures waiting in memory for the store to answer."""
        return self._writer.buffered

    @property
    def rejected_writes(self) -> int:
        """Captures the store refused and that were set aside, so the ones after them still
        land (logged at ERROR; the newest are in `rejected_write_details`)."""
        return self._writer.rejected

    @property
    def rejected_write_details(self) -> tuple[RejectedWrite, ...]:
        """The newest refused captures (at most 100): their store operations and the store's
        error, oldest first."""
        return self._writer.rejected_details

    @property
    def dropped_writes(self) -> int:
        """Captures dropped because the outage buffer was full."""
        return self._writer.dropped

    def flush_writes(self) -> int:
        """Write the captures buffered during a store outage now, and (write-behind) the
        captures the writer still holds.

        Returns:
            How many were written.

        Raises:
            Exception: The store's error if it still does not answer (they stay buffered).
            TimeoutError: Write-behind: the writer did not commit within the storage timeout.
        """
        return self._writer.flush(self._api_store())

    async def aflush_writes(self) -> int:
        """Async twin of `flush_writes`."""
        return await self._writer.aflush(await self._aapi_store())

    # -- feedback and optimization API ---------------------------------------------------------

    def _feedback_job(
        self, trajectory_id: str, feedback: object, score: object, feedback_id: object
    ) -> Job[tuple[UserRef, FeedbackItem]]:
        """Validate, find the run's user, and store the item once: the write is the last
        step, so once the feedback is stored this job cannot raise."""
        value, checked_score = validate_feedback(feedback, score)
        key = check_feedback_id(feedback_id) if feedback_id is not None else None
        user, run = yield from self._layout.resolve_run(trajectory_id)
        owner = self._owner(user)
        item = FeedbackItem.new(
            trajectory_id,
            value,
            checked_score,
            source="api",
            user_id=user.user_id,
            user_label=user.label,
            prompt_versions=run.prompt_versions if run is not None else None,
            feedback_id=key,
        )
        keep = self._storage.retention.trajectory_ttl_minutes is not None
        yield from self._layout.put_feedback_once(
            owner,
            item,
            mark_pending=self.mode == "external",
            keep_run=run if keep else None,
            check_existing=key is not None,
        )
        return owner, item

    def _trigger_failed(self, item: FeedbackItem, exc: Exception) -> None:
        logger.warning(
            "feedback %r is stored; checking the optimization trigger failed (%s: %s), "
            "it is checked again with the next feedback or by a worker",
            item.id,
            type(exc).__name__,
            exc,
        )

    def add_feedback(
        self,
        trajectory_id: str,
        feedback: FeedbackValue,
        *,
        score: float | None = None,
        feedback_id: str | None = None,
    ) -> str:
        """Record feedback on a run; optimize the user's prompts when the trigger fires.

        In `inline` mode a triggered optimization finishes before this returns; in
        `background` mode it starts in a thread; in `external` mode workers pick it up.
        Optimization failures are recorded on the prompt history, never raised here.

        Any id a run returned is accepted, whether or not the run's capture has landed yet
        (late, buffered during an outage, or written by another process): the feedback is
        stored and the run is joined to it when it lands. Once the feedback is stored this
        returns its id; nothing after the write raises.

        Args:
            trajectory_id: `result["trajectory_id"]` of the run; the id alone is enough,
                from any process sharing the store.
            feedback: Free text, or a dict in langmem's feedback shape.
            score: Optional numeric score.
            feedback_id: An idempotency key chosen by the caller (non-empty, at most 128
                characters, no control characters): the record's key. A retry with the same
                key never stores a second copy and returns the same id. Without it a fresh
                id is used, so identical feedback given twice is stored twice.

        Returns:
            The feedback id (`feedback_id` when given).

        Raises:
            TrajectoryNotFoundError: (a `KeyError`) if the id is malformed, names no known
                user, or names a run that is not stored and was issued too long ago to be
                still landing (see `LANDING_WINDOW`). Nothing is stored.
            FeedbackOutcomeUnknownError: If the store failed during the write: the feedback
                may or may not be stored; retrying with the same `feedback_id` (the error's
                `feedback_id`) is safe.
            TypeError: If feedback, score or feedback_id has the wrong type.
            ValueError: If feedback is empty, the score is not finite, `feedback_id` is
                invalid or already used by feedback on another run.
            RuntimeError: If the middleware has no store yet (see `store=`).

        Any other error (the store failing before the write) means nothing was stored.

        Example:
            ```python
            mw.add_feedback(result["trajectory_id"], "Always sign emails as John Doe.")
            mw.add_feedback(tid, "Too long.", score=0.2, feedback_id="ticket-4711")
            ```
        """
        store = self._api_store()
        job = self._feedback_job(trajectory_id, feedback, score, feedback_id)
        owner, item = drive(job, store)
        try:
            pending = drive(self._layout.new_pending_count(owner), store)
            if self._engine.triggered(pending):
                self._engine.schedule(store, owner, self._model, self._current_specs())
        except Exception as exc:
            self._trigger_failed(item, exc)
        return item.id

    async def aadd_feedback(
        self,
        trajectory_id: str,
        feedback: FeedbackValue,
        *,
        score: float | None = None,
        feedback_id: str | None = None,
    ) -> str:
        """Async twin of `add_feedback` (background work runs as an asyncio task)."""
        store = await self._aapi_store()
        job = self._feedback_job(trajectory_id, feedback, score, feedback_id)
        owner, item = await adrive(job, store)
        try:
            pending = await adrive(self._layout.new_pending_count(owner), store)
            if self._engine.triggered(pending):
                await self._engine.aschedule(store, owner, self._model, self._current_specs())
        except Exception as exc:
            self._trigger_failed(item, exc)
        return item.id

    def optimize_now(self, user_id: str | None = None) -> OptimizationOutcome:
        """Optimize a user's prompts from their pending feedback now, whatever the mode.

        Args:
            user_id: The user; `None` is the default namespace.

        Returns:
            What the optimization did (`status`, appended `versions`, `error`).
        """
        owner = self._owner(UserRef.of(user_id))
        return self._engine.optimize(self._api_store(), owner, self._model, self._current_specs())

    async def aoptimize_now(self, user_id: str | None = None) -> OptimizationOutcome:
        """Async twin of `optimize_now`."""
        owner = self._owner(UserRef.of(user_id))
        return await self._engine.aoptimize(
            await self._aapi_store(), owner, self._model, self._current_specs()
        )

    def add_example(self, messages: Any, *, user_id: str | None = None, note: str = "") -> str:
        """Add a reference trajectory the evaluation gate replays for a user's lineage.

        Args:
            messages: A human message, then what the agent should do (its tool calls,
                the tool results to replay, its answer): `BaseMessage`s, OpenAI-style
                dicts, or an agent result.
            user_id: The user (`None`: the default namespace; ignored in global scope).
            note: Free text stored with it.

        Returns:
            The example id.

        Raises:
            TypeError, ValueError: If `messages` is not a usable trajectory.
        """
        example = reference_example(messages, note=note)
        owner = self._owner(UserRef.of(user_id))
        drive(self._layout.add_example(owner, example), self._api_store())
        return example.id

    async def aadd_example(
        self, messages: Any, *, user_id: str | None = None, note: str = ""
    ) -> str:
        """Async twin of `add_example`."""
        example = reference_example(messages, note=note)
        owner = self._owner(UserRef.of(user_id))
        await adrive(self._layout.add_example(owner, example), await self._aapi_store())
        return example.id

    def get_prompt(self, name: str | None = None, *, user_id: str | None = None) -> str:
        """The text of a managed prompt currently active for a user (the base if never changed).

        Raises:
            KeyError: If `name` is not a managed prompt, or the system prompt's base is not
                known yet (no run, no recorded configuration).
        """
        return drive(self._get_prompt_job(name or self._system_name, user_id), self._api_store())

    async def aget_prompt(self, name: str | None = None, *, user_id: str | None = None) -> str:
        """Async twin of `get_prompt`."""
        job = self._get_prompt_job(name or self._system_name, user_id)
        return await adrive(job, await self._aapi_store())

    def _get_prompt_job(self, name: str, user_id: str | None) -> Job[str]:
        if name not in self.prompt_names:
            msg = f"{name!r} is not a managed prompt; managed: {self.prompt_names}"
            raise KeyError(msg)
        owner = self._owner(UserRef.of(user_id))
        active, stored = yield from self._layout.read_active(owner, [name])
        if name in active:
            return active[name].text
        spec = self._current_specs().get(name) or stored.get(name)
        if spec is None:
            msg = f"the base text of {name!r} is not known yet: run the agent once"
            raise KeyError(msg)
        return spec.prompt

    def prompt_for_run(self, state: Mapping[str, Any], name: str | None = None) -> str:
        """The text of a managed prompt pinned for the current run (for tools and nodes).

        Raises:
            KeyError: If `name` is not a managed prompt.
        """
        name = name or self._system_name
        pinned = (state.get(PINNED) or {}).get(name)
        if pinned is not None:
            return str(pinned)
        spec = self._current_specs().get(name)
        if spec is None:
            msg = f"{name!r} is not a managed prompt; managed: {self.prompt_names}"
            raise KeyError(msg)
        return spec.prompt

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for background optimizations started from sync code (tests, shutdown).

        Returns:
            `True` if none is still running.
        """
        return self._engine.drain(timeout)

    async def adrain(self, timeout: float | None = None) -> bool:
        """Wait for background optimizations (asyncio tasks and threads)."""
        return await self._engine.adrain(timeout)

    def close(self) -> None:
        """Wait for background work and release threads."""
        self._engine.close()
        self._writer.close()


def _thread_id(runtime: Runtime[Any]) -> str | None:
    info = getattr(runtime, "execution_info", None)
    thread_id = getattr(info, "thread_id", None)
    if thread_id is None:
        try:
            from langgraph.config import get_config

            thread_id = get_config().get("configurable", {}).get("thread_id")
        except RuntimeError:
            return None
    return str(thread_id) if thread_id is not None else None
