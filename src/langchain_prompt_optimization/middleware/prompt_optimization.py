"""Prompt optimization middleware: pin prompts per user, capture runs, learn from feedback."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NotRequired, cast

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
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import SystemMessage
from langgraph.errors import GraphBubbleUp
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from typing_extensions import override

from langchain_prompt_optimization.optimizer.checks import CandidatePolicy
from langchain_prompt_optimization.optimizer.engine import MODES, Mode, OptimizationEngine
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.optimizer.gate import EvaluationGate, reference_example
from langchain_prompt_optimization.optimizer.monitor import Monitor
from langchain_prompt_optimization.optimizer.run import (
    KINDS,
    OptimizationOutcome,
    OptimizerKind,
    OptimizerSettings,
)
from langchain_prompt_optimization.stores import (
    DEFAULT_PREFIX,
    ActivePrompt,
    FeedbackItem,
    FeedbackValue,
    Job,
    PromptConfig,
    PromptSpec,
    Retention,
    StoreLayout,
    TrajectoryRecord,
    UserRef,
    adrive,
    adrive_within,
    default_store_uri,
    drive,
    drive_within,
    messages_to_json,
    open_store,
)
from langchain_prompt_optimization.stores.buffer import WriteBuffer
from langchain_prompt_optimization.stores.io import supports_ttl, write
from langchain_prompt_optimization.stores.records import content_hash, utcnow

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage, AnyMessage
    from langgraph.runtime import Runtime
    from langgraph.store.base import Op
    from langmem import Prompt

__all__ = [
    "SYSTEM_PROMPT",
    "PromptOptimizationMiddleware",
    "PromptOptimizationState",
]

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = "system"
"""Name under which the agent's own system prompt is managed."""

_PINNED: Final = "prompt_optimization_pinned"
_META: Final = "prompt_optimization_meta"
_LAST_MESSAGE: Final = "prompt_optimization_last_message_id"
_LAST_PIN_CACHE = 1024
_DEFAULT_MONITOR: Final = Monitor()


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


@dataclass(frozen=True, slots=True)
class _Pin:
    """What a run is served: version numbers, texts and lineage base hashes by prompt."""

    versions: dict[str, int]
    texts: dict[str, str]
    base_hashes: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Capture:
    """What `after_agent` writes, and for whom."""

    user: UserRef
    owner: UserRef
    ops: list[Op]
    feedback: FeedbackItem | None
    versions: dict[str, int]
    carry: bool


@dataclass(frozen=True, slots=True)
class _Pinned:
    """The pin read, after any lineage restart for a base changed in code."""

    active: dict[str, ActivePrompt]
    deferred: dict[str, str]
    registered: bool
    config: PromptConfig | None
    target: str | None
    requeued: int
    target_versions: dict[str, int] | None = None


def _default_user_id(runtime: Runtime[Any]) -> object:
    context = getattr(runtime, "context", None)
    if context is None:
        return None
    if isinstance(context, Mapping):
        return context.get("user_id")
    return getattr(context, "user_id", None)


def _validate_feedback(feedback: object, score: object) -> tuple[FeedbackValue, float | None]:
    if isinstance(feedback, str):
        if not feedback.strip():
            msg = "feedback must not be empty"
            raise ValueError(msg)
    elif isinstance(feedback, Mapping):
        if not feedback:
            msg = "feedback dict must not be empty"
            raise ValueError(msg)
        feedback = dict(feedback)
    else:
        msg = f"feedback must be a str or a dict, got {type(feedback).__name__}"
        raise TypeError(msg)
    _check_json(feedback, "feedback")
    if isinstance(feedback, dict) and score is None and "score" in feedback:
        score = feedback["score"]
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float):
            msg = f"score must be a number or None, got {type(score).__name__}"
            raise TypeError(msg)
        if not math.isfinite(score):
            msg = "score must be finite"
            raise ValueError(msg)
        score = float(score)
    return cast("FeedbackValue", feedback), score


def _served_by(versions: object) -> dict[str, int] | None:
    """The `{prompt: version}` map a run recorded, if usable (for score attribution)."""
    if not isinstance(versions, Mapping):
        return None
    try:
        return {str(name): int(number) for name, number in versions.items()}
    except (TypeError, ValueError):
        return None


def _check_json(value: object, where: str) -> None:
    """Raise `TypeError` unless `value` stores identically on every backend: JSON with
    string keys, finite numbers and valid Unicode text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            msg = f"{where} is not valid Unicode text (lone surrogate)"
            raise TypeError(msg) from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                msg = f"{where} must be JSON with string keys; got key {key!r}"
                raise TypeError(msg)
            _check_json(key, where)
            _check_json(item, where)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, where)
    elif isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{where} must be JSON: {value!r} is not a finite number"
            raise TypeError(msg)
    elif value is not None and not isinstance(value, bool | int):
        msg = f"{where} must be JSON-serializable; got {type(value).__name__}"
        raise TypeError(msg)


def _messages_of_run(messages: Sequence[AnyMessage], last_id: str | None) -> list[AnyMessage]:
    """The messages added since the previous run of this thread ended."""
    if last_id:
        for index, message in enumerate(messages):
            if message.id == last_id:
                return list(messages[index + 1 :])
    return list(messages)


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
        optimizer_model: str | BaseChatModel | None = None,
        kind: OptimizerKind = "prompt_memory",
        optimizer_config: dict[str, Any] | None = None,
        optimize_every: int = 1,
        mode: Mode = "inline",
        store: BaseStore | str | None = None,
        prompts: Sequence[Prompt] | None = None,
        update_instructions: str | None = None,
        when_to_update: str | None = None,
        get_user_id: Callable[[Runtime[Any]], object] | None = None,
        system_prompt_name: str = SYSTEM_PROMPT,
        namespace_prefix: Sequence[str] = DEFAULT_PREFIX,
        max_feedback_per_optimization: int = 20,
        max_trajectory_chars: int = 8_000,
        max_prompt_chars: int = 8_000,
        max_growth_chars: int = 2_000,
        store_timeout: float | None = 0.5,
        max_buffered_writes: int = 1_000,
        retention: Retention | None = None,
        scope: Literal["user", "global"] = "user",
        require_approval: bool | None = None,
        on_base_change: Literal["new_lineage", "carry"] = "new_lineage",
        firewall: FeedbackFirewall | bool = True,
        gate: EvaluationGate | None = None,
        monitor: Monitor | None = _DEFAULT_MONITOR,
    ) -> None:
        """Configure the middleware; everything is validated here.

        Args:
            optimizer_model: Model that rewrites prompts: a `BaseChatModel`, or a
                `"provider:model"` string for `init_chat_model` (created at first use).
                Default: the agent's own model, taken from its first model request.
            kind: langmem optimizer kind. Default `"prompt_memory"`: one model call per
                changed prompt (plus one credit-assignment call when several prompts are
                managed), where `"metaprompt"` makes `max_reflection_steps` calls (default
                5) and `"gradient"` at least three (reflection, then an update). Per-user
                learning runs often, for many users, so the default minimizes cost; the
                candidate checks guard against its full rewrites. Choose `"gradient"` when
                feedback is subtle and cost matters less.
            optimizer_config: langmem config for the kind (`max_reflection_steps`, ...).
            optimize_every: Optimize a user after this many new feedback items.
            mode: `"inline"` (the optimization runs before `add_feedback` returns),
                `"background"` (a thread / asyncio task; never delays a response; wait with
                `drain()` / `adrain()`), or `"external"` (only record; workers optimize).
            store: A `BaseStore` or a store URI (see `open_store`). Default: the store given
                to `create_agent(store=...)`; if none, an embedded SQLite file at
                `default_store_uri()` (`$PROMPTOPT_STORE`, else
                `~/.local/share/langchain-prompt-optimization/store.db`).
            prompts: Extra named prompts (langmem `Prompt` dicts: `name`, `prompt`,
                `update_instructions`, `when_to_update`) optimized together with the system
                prompt. Read their current text with `get_prompt(name, user_id=...)`, or
                in a run with `prompt_for_run(state, name)`.
            update_instructions: langmem guidance on how to update the system prompt.
            when_to_update: langmem guidance on when the system prompt should change (used
                for credit assignment when several prompts are managed).
            system_prompt_name: The name under which the agent's system prompt is managed
                (shown to langmem's credit assignment next to the named prompts, and used
                in the registry). Default `"system"`.
            get_user_id: `runtime -> user id`. Default: `runtime.context.user_id`, or
                `runtime.context["user_id"]`. A run with no user id (or an unusable one)
                uses the default namespace, addressed as `user_id=None`.
            namespace_prefix: Store namespace prefix; use one per agent sharing a store.
            max_feedback_per_optimization: Most feedback items one optimization reads.
            max_trajectory_chars: Each trajectory is cut to its latest messages within this
                many characters before it reaches the optimizer.
            max_prompt_chars: A candidate longer than this is rejected (against bloat).
            max_growth_chars: A candidate that adds more than this to its parent is
                rejected. Candidates must also keep every `<locked>...</locked>` section
                verbatim, and may not drop more than half of the current instruction lines
                unless the feedback asks to remove or replace something.
            store_timeout: Seconds a run waits for the store before its hooks give up: the
                pin read then serves the last known (or base) prompts, a capture write is
                buffered. `None`: no deadline.
            max_buffered_writes: Captures kept in memory while the store is down, written
                when it answers again; beyond that they are dropped (counted in
                `dropped_writes`, logged).
            retention: How long trajectories and consumed feedback are kept (default
                `Retention()`: at most 1,000 trajectories per user, no TTL). Prompt versions
                are never deleted.
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
            firewall: The feedback firewall (`True`: `FeedbackFirewall()`; pass one with
                `trusted_domains=` to let feedback name your own addresses; `False` turns
                it off). Feedback and run content reach the optimizer delimited as data;
                flagged feedback is held for review, flagged candidates are stored
                `pending`, even when approval is off.
            gate: An `EvaluationGate`: candidates are replayed on recorded runs (with the
                recorded tool results) and activated only if they score at least as well
                as the active version. Runs whose feedback score reaches
                `gate.positive_score` become examples; add reference runs with
                `add_example`. In `"external"` mode pass the gate to `PromptWorker`.
            monitor: Online monitoring and auto-rollback (`Monitor(min_runs=5, margin=0.1)`):
                feedback scores are counted per prompt version; when an optimized version's
                mean over at least `min_runs` scored runs falls below its parent's by more
                than `margin`, the lineage is rolled back to the parent (a new version) and
                held for review. `None` disables the rollback (scores are still counted).
                Recorded in the store, so workers apply the same policy.

        Raises:
            ValueError: On an unknown `kind` or `mode`, a non-positive count, an invalid
                prompt list or namespace prefix, or a store URI that cannot be opened.
            TypeError: On arguments of the wrong type.
        """
        super().__init__()
        if kind not in KINDS:
            msg = f"kind must be one of {', '.join(KINDS)}; got {kind!r}"
            raise ValueError(msg)
        if mode not in MODES:
            msg = f"mode must be one of {', '.join(MODES)}; got {mode!r}"
            raise ValueError(msg)
        if store_timeout is not None and (
            isinstance(store_timeout, bool)
            or not isinstance(store_timeout, int | float)
            or store_timeout <= 0
        ):
            msg = f"store_timeout must be positive seconds or None; got {store_timeout!r}"
            raise ValueError(msg)
        for name, value in (
            ("max_prompt_chars", max_prompt_chars),
            ("max_growth_chars", max_growth_chars),
            ("max_buffered_writes", max_buffered_writes),
            ("optimize_every", optimize_every),
            ("max_feedback_per_optimization", max_feedback_per_optimization),
            ("max_trajectory_chars", max_trajectory_chars),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"{name} must be a positive int; got {value!r}"
                raise ValueError(msg)
        if optimizer_model is not None and not isinstance(optimizer_model, str | BaseChatModel):
            msg = (
                "optimizer_model must be a 'provider:model' string or a BaseChatModel; "
                f"got {type(optimizer_model).__name__}"
            )
            raise TypeError(msg)
        if isinstance(optimizer_model, str):
            _check_model_name(optimizer_model)
        if optimizer_config is not None and not isinstance(optimizer_config, Mapping):
            msg = f"optimizer_config must be a dict; got {type(optimizer_config).__name__}"
            raise TypeError(msg)
        if get_user_id is not None and not callable(get_user_id):
            msg = "get_user_id must be callable: runtime -> user id"
            raise TypeError(msg)
        if scope not in ("user", "global"):
            msg = f"scope must be 'user' or 'global'; got {scope!r}"
            raise ValueError(msg)
        if on_base_change not in ("new_lineage", "carry"):
            msg = f"on_base_change must be 'new_lineage' or 'carry'; got {on_base_change!r}"
            raise ValueError(msg)
        if monitor is not None and not isinstance(monitor, Monitor):
            msg = f"monitor must be a Monitor or None; got {type(monitor).__name__}"
            raise TypeError(msg)
        self._monitor = monitor if monitor is not None else Monitor(enabled=False)
        if require_approval is not None and not isinstance(require_approval, bool):
            msg = "require_approval must be a bool or None"
            raise TypeError(msg)
        for name, text in (
            ("update_instructions", update_instructions),
            ("when_to_update", when_to_update),
        ):
            if text is not None and not isinstance(text, str):
                msg = f"{name} must be a str or None"
                raise TypeError(msg)

        self._layout = StoreLayout(namespace_prefix)
        if not isinstance(system_prompt_name, str) or not system_prompt_name.strip():
            msg = "system_prompt_name must be a non-empty str"
            raise ValueError(msg)
        self._system_name = system_prompt_name
        self._named = _validate_prompts(prompts, system_prompt_name)
        self._system_guidance = (update_instructions, when_to_update)
        self._specs: dict[str, PromptSpec] = dict(self._named)
        self._specs_lock = threading.Lock()
        if isinstance(store, str):
            store = open_store(store)
        elif store is not None and not isinstance(store, BaseStore):
            msg = f"store must be a BaseStore or a URI string; got {type(store).__name__}"
            raise TypeError(msg)
        self._store: BaseStore | None = store
        self._default_store: BaseStore | None = None
        self._seen_store: BaseStore | None = None
        self._optimizer_model = optimizer_model
        self._agent_model: BaseChatModel | None = None
        self._model_lock = threading.Lock()
        self._get_user_id = get_user_id or _default_user_id
        self._scope = scope
        self._on_base_change = on_base_change
        if retention is not None and not isinstance(retention, Retention):
            msg = f"retention must be a Retention; got {type(retention).__name__}"
            raise TypeError(msg)
        self._retention = retention or Retention()
        if require_approval is None:
            require_approval = scope == "global"
        firewall = FeedbackFirewall.from_setting(firewall)
        if gate is not None and not isinstance(gate, EvaluationGate):
            msg = f"gate must be an EvaluationGate; got {type(gate).__name__}"
            raise TypeError(msg)
        if gate is not None and mode == "external":
            msg = (
                "gate= has no effect in mode='external': optimizations run in workers; pass "
                "the gate (with its model and tools) to PromptWorker(gate=...)"
            )
            raise ValueError(msg)
        self._agent_tools: list[Any] = []
        self._firewall = firewall
        self._policy = CandidatePolicy(
            max_prompt_chars=max_prompt_chars, max_growth_chars=max_growth_chars
        )
        self._engine = OptimizationEngine(
            layout=self._layout,
            settings=OptimizerSettings(
                kind=kind,
                config=dict(optimizer_config) if optimizer_config else None,
                max_feedback=max_feedback_per_optimization,
                max_trajectory_chars=max_trajectory_chars,
                require_approval=require_approval,
                retention=self._retention,
                policy=self._policy,
                firewall=firewall,
                gate=gate,
                replay_agent=self._replay_agent,
                monitor=self._monitor,
            ),
            mode=mode,
            optimize_every=optimize_every,
            on_outcome=self._learned,
        )
        self._store_timeout = store_timeout
        self._buffer = WriteBuffer(max_buffered_writes)
        self._tasks: set[Any] = set()
        self._io_pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._io_lock = threading.Lock()
        self._last_pins: OrderedDict[str, _Pin] = OrderedDict()
        self._last_pins_lock = threading.Lock()

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
                self._default_store = open_store(default_store_uri())
            store = self._default_store
        self._seen_store = store
        return store

    def _api_store(self) -> BaseStore:
        """The store for API calls: the configured one, the agent's one seen in a run, else
        the embedded default (what runs of an agent without a store write to)."""
        store = self._store or self._seen_store
        if store is None:
            if self._default_store is None:
                uri = default_store_uri()
                logger.warning(
                    "no store passed and no run seen yet: using the embedded default store %s "
                    "(pass store= if the agent uses another one)",
                    uri,
                )
                self._default_store = open_store(uri)
            store = self._default_store
        return store

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
                self._system_name: PromptSpec(self._system_name, base, *self._system_guidance),
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

    # -- before_agent: pin ---------------------------------------------------------------------

    def _code_base(self, name: str, stored: dict[str, PromptSpec]) -> str | None:
        """The base text of a prompt in code (system: as last observed, else as recorded)."""
        spec = self._specs.get(name) or stored.get(name)
        return spec.prompt if spec is not None else None

    def _rebase_job(
        self, owner: UserRef, name: str, base: str
    ) -> Job[tuple[ActivePrompt, int] | None]:
        """Start a new lineage from a changed base: the pointer after, and how much feedback
        was requeued to carry over. `None` if the lease is taken right now."""
        holder = self._engine.holder
        if not (yield from self._layout.acquire_lease(owner, holder, 60.0)):
            return None
        requeued = 0
        try:
            reason = "base prompt changed in code: new lineage"
            if self._on_base_change == "carry":
                reason += " (learned feedback carried over)"
            rebased = yield from self._layout.rebase(owner, name, base, reason=reason)
            if rebased is None:
                return None
            after, previous = rebased
            if previous is not None and self._on_base_change == "carry":
                requeued = yield from self._layout.requeue_learned_feedback(owner, name, previous)
        finally:
            yield from self._layout.release_lease(owner, holder)
        if previous is not None:
            logger.info(
                "prompt %r of %r: base changed in code, new lineage v%s",
                name,
                owner.user_id,
                after.version,
            )
        return after, requeued

    def _pin_job(
        self,
        state: PromptOptimizationState[Any],
        user: UserRef,
        owner: UserRef,
        thread_id: str | None,
    ) -> Job[_Pinned]:
        wants_target = state.get("feedback") is not None and not state.get("trajectory_id")
        pin = yield from self._layout.pin(
            user, owner, self.prompt_names, thread_id=thread_id if wants_target else None
        )
        active = dict(pin.active)
        deferred: dict[str, str] = {}
        requeued = 0
        for name, pointer in pin.active.items():
            base = self._code_base(name, pin.specs)
            if base is None or not pointer.base_hash:
                continue
            code_hash = content_hash(base)
            if pointer.base_hash == code_hash:
                continue
            if code_hash in pointer.retired_bases:
                # This process runs an older base than the lineage (a rolling deploy): serve
                # its own base, never rebase backwards.
                del active[name]
                deferred[name] = base
                continue
            rebased = yield from self._rebase_job(owner, name, base)
            if rebased is None:
                del active[name]
                deferred[name] = base
                continue
            active[name], count = rebased
            requeued += count
        return _Pinned(
            active=active,
            deferred=deferred,
            registered=pin.user_registered,
            config=pin.config,
            target=state.get("trajectory_id") or pin.thread_trajectory,
            requeued=requeued,
            target_versions=(
                state.get("prompt_versions") if state.get("trajectory_id") else pin.thread_versions
            ),
        )

    def _learned(self, owner: UserRef, outcome: OptimizationOutcome) -> None:
        """Serve what this process just activated if the store goes down before the next pin."""
        active = [v for v in outcome.versions.values() if v.status == "active"]
        if not active:
            return
        with self._last_pins_lock:
            labels = list(self._last_pins) if self._scope == "global" else [owner.label]
            for label in labels:
                pin = self._last_pins.get(label)
                if pin is None:
                    continue
                self._last_pins[label] = _Pin(
                    {**pin.versions, **{v.prompt: v.version for v in active}},
                    {**pin.texts, **{v.prompt: v.text for v in active}},
                    {**pin.base_hashes, **{v.prompt: v.base_hash for v in active}},
                )

    def _remember(self, user: UserRef, pin: _Pin) -> None:
        with self._last_pins_lock:
            self._last_pins[user.label] = pin
            self._last_pins.move_to_end(user.label)
            while len(self._last_pins) > _LAST_PIN_CACHE:
                self._last_pins.popitem(last=False)

    def _pin_update(
        self,
        state: PromptOptimizationState[Any],
        user: UserRef,
        pinned: _Pinned | None,
        error: BaseException | None,
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"user": user.user_id}
        if pinned is not None:
            versions = {name: 1 for name in self.prompt_names}
            versions.update({name: p.version for name, p in pinned.active.items()})
            versions.update({name: 0 for name in pinned.deferred})
            texts = {name: p.text for name, p in pinned.active.items()}
            texts.update(pinned.deferred)
            hashes = {name: p.base_hash for name, p in pinned.active.items()}
            current = _Pin(versions, texts, hashes)
            self._remember(user, current)
            meta["registered"] = pinned.registered
            meta["stored_config"] = pinned.config.to_json() if pinned.config else {}
            if pinned.requeued:
                meta["carry"] = pinned.requeued
            target = pinned.target
            target_versions = pinned.target_versions
        else:
            logger.warning(
                "could not read prompt versions for %r (%s); serving the last good prompts",
                user.user_id,
                error,
            )
            with self._last_pins_lock:
                cached = self._last_pins.get(user.label)
            current = cached or _Pin({name: 1 for name in self.prompt_names}, {}, {})
            target = state.get("trajectory_id")
            target_versions = state.get("prompt_versions")
            meta["pin_error"] = f"{type(error).__name__}: {error}"
        meta["base_hashes"] = current.base_hashes
        feedback = state.get("feedback")
        if feedback is not None:
            meta["feedback"] = {"target": target, "value": feedback, "versions": target_versions}
        return {
            "trajectory_id": self._layout.new_trajectory_id(user),
            "prompt_versions": current.versions,
            _PINNED: current.texts,
            _META: meta,
            _LAST_MESSAGE: state.get(_LAST_MESSAGE),
            "feedback": None,
        }

    @override
    def before_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Pin the active version of every managed prompt for this run's user (one read)."""
        user = self._resolve_user(runtime)
        owner = self._owner(user)
        try:
            store = self._run_store(runtime)
            job = self._pin_job(state, user, owner, _thread_id(runtime))
            pinned = drive_within(job, store, self._deadline(store), self._io())
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._pin_update(state, user, None, exc)
        return self._pin_update(state, user, pinned, None)

    @override
    async def abefore_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Async twin of `before_agent`."""
        user = self._resolve_user(runtime)
        owner = self._owner(user)
        try:
            store = self._run_store(runtime)
            job = self._pin_job(state, user, owner, _thread_id(runtime))
            pinned = await adrive_within(job, store, self._store_timeout)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._pin_update(state, user, None, exc)
        return self._pin_update(state, user, pinned, None)

    # -- wrap_model_call: swap, no store I/O ---------------------------------------------------

    def _swap_system_prompt(self, request: ModelRequest[ContextT]) -> ModelRequest[ContextT]:
        self._observe_system_prompt(request.system_prompt)
        if self._agent_model is None:
            self._agent_tools = list(request.tools)
            self._agent_model = request.model
        state: Mapping[str, Any] = request.state
        pinned = (state.get(_PINNED) or {}).get(self._system_name)
        if pinned is None or pinned == request.system_prompt:
            return request
        base_hash = ((state.get(_META) or {}).get("base_hashes") or {}).get(self._system_name)
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

    # -- after_agent: capture ------------------------------------------------------------------

    def _served_versions(self, state: PromptOptimizationState[Any]) -> dict[str, int]:
        """The run's `prompt_versions`, with 0 for a system prompt whose base changed in
        code during the run (the new base was served; it becomes a version on the next run)."""
        versions = dict(state.get("prompt_versions") or {})
        meta = state.get(_META) or {}
        pinned_hash = (meta.get("base_hashes") or {}).get(self._system_name)
        spec = self._specs.get(self._system_name)
        pinned = (state.get(_PINNED) or {}).get(self._system_name)
        if pinned is not None and pinned_hash and spec and pinned_hash != content_hash(spec.prompt):
            versions[self._system_name] = 0
        return versions

    def _capture(
        self, state: PromptOptimizationState[Any], runtime: Runtime[Any], store: BaseStore
    ) -> _Capture | None:
        trajectory_id = state.get("trajectory_id")
        meta = state.get(_META)
        if not trajectory_id or meta is None:
            return None
        user = UserRef.of(meta.get("user"))
        owner = self._owner(user)
        messages = state.get("messages", [])
        versions = self._served_versions(state)
        record = TrajectoryRecord(
            id=trajectory_id,
            user_id=user.user_id,
            thread_id=_thread_id(runtime),
            prompt_versions=versions,
            messages=messages_to_json(_messages_of_run(messages, state.get(_LAST_MESSAGE))),
            created_at=utcnow(),
            pin_error=meta.get("pin_error"),
        )
        config = PromptConfig(
            self._current_specs(),
            self.require_approval,
            self._scope,
            self._engine.optimize_every,
            self._system_name,
            self._monitor.to_json(),
            policy=self._policy.to_json(),
            firewall=self._firewall.to_json(),
        )
        stored = meta.get("stored_config")
        changed = stored is not None and stored != config.to_json()
        feedback_item = None
        inband = meta.get("feedback")
        if inband is not None:
            feedback_item = self._inband_feedback(inband, user)
        ops = self._layout.capture_ops(
            user,
            owner,
            record,
            register_user=meta.get("registered") is not True,
            config=config if changed else None,
            feedback=feedback_item,
            ttl_minutes=(self._retention.trajectory_ttl_minutes if supports_ttl(store) else None),
            mark_pending=self.mode == "external",
        )
        return _Capture(user, owner, ops, feedback_item, versions, bool(meta.get("carry")))

    @staticmethod
    def _inband_feedback(inband: dict[str, Any], user: UserRef) -> FeedbackItem | None:
        target = inband.get("target")
        if not target:
            logger.warning("in-band feedback ignored: no previous run on this thread")
            return None
        try:
            value, score = _validate_feedback(inband.get("value"), None)
        except (TypeError, ValueError) as exc:
            logger.warning("in-band feedback ignored: %s", exc)
            return None
        return FeedbackItem.new(
            target,
            value,
            score,
            source="in_band",
            user_id=user.user_id,
            user_label=user.label,
            prompt_versions=_served_by(inband.get("versions")),
        )

    def _after_update(
        self, state: PromptOptimizationState[Any], versions: dict[str, int] | None
    ) -> dict[str, Any]:
        messages = state.get("messages", [])
        update: dict[str, Any] = {_LAST_MESSAGE: messages[-1].id if messages else None}
        if versions is not None and versions != state.get("prompt_versions"):
            update["prompt_versions"] = versions
        return update

    def _deadline(self, store: BaseStore) -> float | None:
        """`store_timeout`, or `None` for an in-process InMemoryStore: it cannot hang, so its
        calls skip the hop to a deadline thread (that hop is most of the middleware's cost
        on the run path there)."""
        return None if type(store) is InMemoryStore else self._store_timeout

    def _io(self) -> concurrent.futures.ThreadPoolExecutor:
        """Threads that run store calls under a deadline (sync hooks)."""
        with self._io_lock:
            if self._io_pool is None:
                self._io_pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix="promptopt-io"
                )
            return self._io_pool

    def _write_capture(self, store: BaseStore, ops: list[Op]) -> bool:
        """Write a capture (after any buffered ones) within the deadline. Never raises.

        A write that fails is buffered. A write still running at the deadline is left to
        finish and buffered only if it then fails, so nothing is written twice.
        """
        if len(self._buffer):
            try:
                drive_within(self._buffer.flush(), store, self._store_timeout, self._io())
            except Exception as exc:
                logger.warning("buffered captures not written yet: %s", exc)
        if self._deadline(store) is None:
            try:
                drive(write(ops), store)
            except GraphBubbleUp:
                raise
            except Exception as exc:
                return self._buffer_capture(ops, exc)
            return True
        future = self._io().submit(drive, write(ops), store)
        try:
            future.result(timeout=self._store_timeout)
        except concurrent.futures.TimeoutError:
            future.add_done_callback(lambda done: self._buffer_if_failed(done, ops))
            logger.warning(
                "the store did not answer within %ss; recording later", self._store_timeout
            )
            return False
        except Exception as exc:
            return self._buffer_capture(ops, exc)
        return True

    async def _awrite_capture(self, store: BaseStore, ops: list[Op]) -> bool:
        """Async twin of `_write_capture` (the write is a task, never cancelled)."""
        if len(self._buffer):
            try:
                await adrive_within(self._buffer.flush(), store, self._store_timeout)
            except Exception as exc:
                logger.warning("buffered captures not written yet: %s", exc)
        task = asyncio.ensure_future(adrive(write(ops), store))
        done, _ = await asyncio.wait({task}, timeout=self._store_timeout)
        if not done:
            self._tasks.add(task)
            task.add_done_callback(lambda t: self._buffer_if_failed(t, ops))
            logger.warning(
                "the store did not answer within %ss; recording later", self._store_timeout
            )
            return False
        failure = task.exception()
        if failure is not None:
            if isinstance(failure, GraphBubbleUp):
                raise failure
            return self._buffer_capture(ops, failure)
        return True

    def _buffer_if_failed(self, done: Any, ops: list[Op]) -> None:
        """Done-callback of a write that missed its deadline: buffer it only if it failed."""
        self._tasks.discard(done)
        if done.cancelled():
            self._buffer_capture(ops, RuntimeError("write cancelled"))
        elif done.exception() is not None:
            self._buffer_capture(ops, done.exception())

    def _buffer_capture(self, ops: list[Op], exc: BaseException) -> bool:
        kept = self._buffer.add(ops)
        logger.warning(
            "could not record the run (%s: %s); %s for when the store answers",
            type(exc).__name__,
            exc,
            "kept in memory" if kept else "buffer full, dropped",
        )
        return False

    @property
    def buffered_writes(self) -> int:
        """Captures waiting in memory for the store to answer."""
        return len(self._buffer)

    @property
    def dropped_writes(self) -> int:
        """Captures dropped because the outage buffer was full."""
        return self._buffer.dropped

    def flush_writes(self) -> int:
        """Write the captures buffered during a store outage now.

        Returns:
            How many were written.

        Raises:
            Exception: The store's error if it still does not answer (they stay buffered).
        """
        return drive_within(
            self._buffer.flush(), self._api_store(), self._store_timeout, self._io()
        )

    async def aflush_writes(self) -> int:
        """Async twin of `flush_writes`."""
        return await adrive_within(self._buffer.flush(), self._api_store(), self._store_timeout)

    @override
    def after_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Record the run (one write); with in-band feedback, maybe schedule an optimization."""
        capture = None
        try:
            store = self._run_store(runtime)
            capture = self._capture(state, runtime, store)
            if capture is None:
                return None
            if not self._write_capture(store, capture.ops):
                return self._after_update(state, capture.versions)
            if capture.carry:
                specs = self._current_specs()
                self._engine.schedule(store, capture.owner, self._model, specs)
            elif capture.feedback is not None:
                count = self._layout.new_pending_count(capture.owner)
                pending = drive_within(count, store, self._store_timeout, self._io())
                if self._engine.triggered(pending):
                    specs = self._current_specs()
                    self._engine.schedule(store, capture.owner, self._model, specs)
        except GraphBubbleUp:
            raise
        except Exception:
            logger.exception("could not record the run; the agent's answer is unaffected")
        return self._after_update(state, capture.versions if capture else None)

    @override
    async def aafter_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Async twin of `after_agent`."""
        capture = None
        try:
            store = self._run_store(runtime)
            capture = self._capture(state, runtime, store)
            if capture is None:
                return None
            if not await self._awrite_capture(store, capture.ops):
                return self._after_update(state, capture.versions)
            if capture.carry:
                specs = self._current_specs()
                await self._engine.aschedule(store, capture.owner, self._model, specs)
            elif capture.feedback is not None:
                count = self._layout.new_pending_count(capture.owner)
                pending = await adrive_within(count, store, self._store_timeout)
                if self._engine.triggered(pending):
                    specs = self._current_specs()
                    await self._engine.aschedule(store, capture.owner, self._model, specs)
        except GraphBubbleUp:
            raise
        except Exception:
            logger.exception("could not record the run; the agent's answer is unaffected")
        return self._after_update(state, capture.versions if capture else None)

    # -- feedback and optimization API ---------------------------------------------------------

    def _feedback_job(
        self, trajectory_id: str, feedback: object, score: object
    ) -> Job[tuple[UserRef, FeedbackItem, int]]:
        value, checked_score = _validate_feedback(feedback, score)
        user, run = yield from self._layout.resolve_trajectory(trajectory_id)
        owner = self._owner(user)
        item = FeedbackItem.new(
            trajectory_id,
            value,
            checked_score,
            source="api",
            user_id=user.user_id,
            user_label=user.label,
            prompt_versions=run.prompt_versions,
        )
        pending = yield from self._layout.add_feedback(
            owner,
            item,
            mark_pending=self.mode == "external",
            keep_run=run if self._retention.trajectory_ttl_minutes is not None else None,
        )
        return owner, item, pending

    def add_feedback(
        self,
        trajectory_id: str,
        feedback: FeedbackValue,
        *,
        score: float | None = None,
    ) -> str:
        """Record feedback on a run; optimize the user's prompts when the trigger fires.

        In `inline` mode a triggered optimization finishes before this returns; in
        `background` mode it starts in a thread; in `external` mode workers pick it up.
        Optimization failures are recorded on the prompt history, never raised here.

        Args:
            trajectory_id: `result["trajectory_id"]` of the run; the id alone is enough,
                from any process sharing the store.
            feedback: Free text, or a dict in langmem's feedback shape.
            score: Optional numeric score.

        Returns:
            The feedback id.

        Raises:
            TrajectoryNotFoundError: (a `KeyError`) if no such trajectory is stored.
            TypeError: If feedback or score has the wrong type.
            ValueError: If feedback is empty or the score is not finite.
            RuntimeError: If the middleware has no store yet (see `store=`).

        Example:
            ```python
            mw.add_feedback(result["trajectory_id"], "Always sign emails as John Doe.")
            ```
        """
        store = self._api_store()
        user, item, pending = drive(self._feedback_job(trajectory_id, feedback, score), store)
        if self._engine.triggered(pending):
            self._engine.schedule(store, user, self._model, self._current_specs())
        return item.id

    async def aadd_feedback(
        self,
        trajectory_id: str,
        feedback: FeedbackValue,
        *,
        score: float | None = None,
    ) -> str:
        """Async twin of `add_feedback` (background work runs as an asyncio task)."""
        store = self._api_store()
        job = self._feedback_job(trajectory_id, feedback, score)
        user, item, pending = await adrive(job, store)
        if self._engine.triggered(pending):
            await self._engine.aschedule(store, user, self._model, self._current_specs())
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
            self._api_store(), owner, self._model, self._current_specs()
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
        await adrive(self._layout.add_example(owner, example), self._api_store())
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
        return await adrive(job, self._api_store())

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
        pinned = (state.get(_PINNED) or {}).get(name)
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
        if self._io_pool is not None:
            self._io_pool.shutdown(wait=False)
            self._io_pool = None


def _check_model_name(name: str) -> None:
    """Fail fast on a model string `init_chat_model` could never resolve."""
    if not name.strip():
        msg = "optimizer_model must not be an empty string"
        raise ValueError(msg)
    try:
        from langchain.chat_models.base import _parse_model
    except ImportError:  # pragma: no cover - private helper moved; checked at first use
        return
    try:
        _parse_model(name, None)
    except ValueError:
        msg = (
            f"optimizer_model {name!r}: cannot tell its provider; use 'provider:model', "
            "e.g. 'openai:gpt-4o-mini', or pass a BaseChatModel"
        )
        raise ValueError(msg) from None


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


def _validate_prompts(
    prompts: Sequence[Prompt] | None, system_name: str = SYSTEM_PROMPT
) -> dict[str, PromptSpec]:
    if prompts is None:
        return {}
    if isinstance(prompts, str | bytes | Mapping) or not isinstance(prompts, Sequence):
        msg = "prompts must be a list of langmem Prompt dicts ({'name': ..., 'prompt': ...})"
        raise TypeError(msg)
    specs: dict[str, PromptSpec] = {}
    allowed = {"name", "prompt", "update_instructions", "when_to_update"}
    for entry in prompts:
        if not isinstance(entry, Mapping):
            msg = f"each prompt must be a dict with 'name' and 'prompt'; got {entry!r}"
            raise TypeError(msg)
        unknown = set(entry) - allowed
        if unknown:
            msg = f"prompt {entry.get('name')!r} has unknown keys {sorted(unknown)}"
            raise ValueError(msg)
        name, text = entry.get("name"), entry.get("prompt")
        if not isinstance(name, str) or not name.strip():
            msg = f"prompt name must be a non-empty str; got {name!r}"
            raise ValueError(msg)
        if name == system_name:
            msg = (
                f"{system_name!r} is the agent's system prompt; configure it with "
                "update_instructions= / when_to_update="
            )
            raise ValueError(msg)
        if name in specs:
            msg = f"duplicate prompt name {name!r}"
            raise ValueError(msg)
        if not isinstance(text, str):
            msg = f"prompt {name!r} must have a str 'prompt'"
            raise TypeError(msg)
        for key in ("update_instructions", "when_to_update"):
            if entry.get(key) is not None and not isinstance(entry.get(key), str):
                msg = f"prompt {name!r}: {key} must be a str or None"
                raise TypeError(msg)
        specs[name] = PromptSpec(
            name=name,
            prompt=text,
            update_instructions=entry.get("update_instructions"),
            when_to_update=entry.get("when_to_update"),
        )
    return specs
