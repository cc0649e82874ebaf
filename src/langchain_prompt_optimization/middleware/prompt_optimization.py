"""Prompt optimization middleware: the agent hooks (pin, swap, capture, schedule) and its API."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

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
from typing_extensions import Unpack, override

from langchain_prompt_optimization.middleware.capture import (
    Capture,
    CaptureWriter,
    FeedbackOutcome,
    after_update,
    feedback_outcome,
    plan_capture,
)
from langchain_prompt_optimization.middleware.config import (
    DeprecatedMiddlewareArgs,
    check_arguments,
    resolve_settings,
    resolve_store,
)
from langchain_prompt_optimization.middleware.feedback import (
    log_trigger_failure,
    store_feedback_job,
)
from langchain_prompt_optimization.middleware.pinning import (
    PINNED,
    Pinner,
    active_text_job,
    config_hash,
    pinned_system_prompt,
)
from langchain_prompt_optimization.middleware.runtime import (
    ModelSource,
    StoreResolver,
    default_user_id,
    resolve_user,
    thread_id,
)
from langchain_prompt_optimization.middleware.settings import (
    SYSTEM_PROMPT,
    ManagedPrompts,
    SystemPromptSettings,
    validate_prompts,
)
from langchain_prompt_optimization.optimizer.budget import Budget, check_budget
from langchain_prompt_optimization.optimizer.canary import Canary
from langchain_prompt_optimization.optimizer.engine import RECORD_ONLY, Mode, OptimizationEngine
from langchain_prompt_optimization.optimizer.evaluation import EvaluationRunner, EvaluationStats
from langchain_prompt_optimization.optimizer.evaluators import Evaluator, EvaluatorSettings
from langchain_prompt_optimization.optimizer.gate import reference_example
from langchain_prompt_optimization.optimizer.settings import (
    OptimizerSettings,
    SafetySettings,
    run_settings,
)
from langchain_prompt_optimization.stores import (
    FeedbackItem,
    FeedbackValue,
    Job,
    StoreLayout,
    UserRef,
    adrive,
    drive,
)
from langchain_prompt_optimization.stores.io import supports_ttl

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langgraph.runtime import Runtime
    from langgraph.store.base import BaseStore
    from langmem import Prompt

    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome
    from langchain_prompt_optimization.stores import PromptConfig, PromptSpec
    from langchain_prompt_optimization.stores.buffer import RejectedWrite
    from langchain_prompt_optimization.stores.settings import StorageSettings

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
        feedback_outcome: Output only: what became of this run's `feedback` (`None` if the
            run had none): `{"status": "stored", "feedback_id": ..., "trajectory_id": ...}`,
            `{"status": "buffered", "feedback_id": ..., "reason": ...}` (the store did not
            confirm the write in time; it is written when the store answers) or
            `{"status": "ignored", "reason": ...}` (invalid, no earlier run on the thread, or
            the run could not be recorded). Whether the firewall later quarantines stored
            feedback is decided at optimization time: see `PromptRegistry`.
    """

    trajectory_id: NotRequired[Annotated[str, OmitFromInput]]
    prompt_versions: NotRequired[Annotated[dict[str, int], OmitFromInput]]
    feedback: NotRequired[Annotated[FeedbackValue | None, OmitFromOutput]]
    feedback_outcome: NotRequired[Annotated[FeedbackOutcome | None, OmitFromInput]]
    prompt_optimization_pinned: NotRequired[Annotated[dict[str, str], PrivateStateAttr]]
    prompt_optimization_meta: NotRequired[Annotated[dict[str, Any], PrivateStateAttr]]
    prompt_optimization_last_message_id: NotRequired[Annotated[str | None, PrivateStateAttr]]


class PromptOptimizationMiddleware(
    AgentMiddleware[PromptOptimizationState[ResponseT], ContextT, ResponseT]
):
    """Make an agent improve its prompts, per user, from feedback.

    Each run is served the active version of every managed prompt for its user (pinned in
    one store read before the run, so a run never mixes versions) and recorded as a
    trajectory (one store write after the run). Feedback on a trajectory — through
    `add_feedback`, or the `feedback` input key on the next run of the same thread — is
    stored; every `optimize_every` new items, langmem's multi-prompt optimizer rewrites
    the user's prompts. Candidates failing the checks of `SafetySettings` are recorded as
    rejected and never served. Each change is an appended version; `PromptRegistry` reads
    the history.

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
        budget: Budget | None = None,
        evaluators: EvaluatorSettings | Sequence[Evaluator] | Mapping[str, Evaluator] | None = None,
        rollout: Canary | None = None,
        **deprecated: Unpack[DeprecatedMiddlewareArgs],
    ) -> None:
        """Configure the middleware; everything is validated here.

        Args:
            optimizer: `OptimizerSettings` (model, langmem kind, budgets). A model string
                (`"openai:gpt-4o-mini"`) or a `BaseChatModel` is short for
                `OptimizerSettings(model=...)`. Default: the agent's own model.
            optimize_every: Optimize a user after this many new feedback items.
            mode: `"inline"` (the optimization runs before `add_feedback` returns),
                `"background"` (a thread / asyncio task; never delays a response; wait with
                `drain()` / `adrain()`), `"external"` (only record; workers optimize), or
                `"server"` (on the LangGraph server: record, then queue a run of the
                optimizer graph, `langchain_prompt_optimization.server`, on the user's own
                thread, one at a time per user).
            scope: `"user"`: one lineage of prompt versions per user namespace. `"global"`:
                one lineage shared by all users, learned from everyone's feedback.
            require_approval: New versions are stored `pending` and not served until
                approved (`PromptRegistry.approve`). Default: `False` for `scope="user"`,
                `True` for `scope="global"`, since one user's feedback reaches everyone.
            on_base_change: When a prompt's base text in code changes: `"new_lineage"`
                starts a new lineage from it (the old history stays readable); `"carry"`
                does the same, then re-optimizes it with the old lineage's feedback.
            store: A `BaseStore` or a store URI (see `open_store`). Default: the store given
                to `create_agent(store=...)`; if none, an embedded SQLite file at
                `default_store_uri()`.
            storage: `StorageSettings` (namespace prefix, run-path deadline, outage buffer,
                retention).
            prompts: Extra named prompts (langmem `Prompt` dicts: `name`, `prompt`,
                `update_instructions`, `when_to_update`) optimized together with the system
                prompt. Read them with `get_prompt(name, user_id=...)`, or in a run with
                `prompt_for_run(state, name)`.
            system_prompt: `SystemPromptSettings` (name and langmem guidance of the agent's
                own system prompt).
            get_user_id: `runtime -> user id`. Default: `runtime.context.user_id`, or
                `runtime.context["user_id"]`, else `config["configurable"]["user_id"]`. A run
                with no usable user id uses the default namespace, addressed as
                `user_id=None`.
            safety: `SafetySettings` (candidate budgets, feedback firewall, evaluation gate,
                monitoring). In `"external"` / `"server"` mode pass the gate to the worker.
            budget: A `Budget` capping the model calls and tokens optimizations spend
                (optimizer, gate and judge calls together) per window, per user, lineage or
                all; over budget, an optimization is deferred (`over_budget`) and its
                feedback waits for the next window. The `evaluators=`' model calls count
                too: over budget, a sampled run is not evaluated (`evaluation_stats`).
                Enforced through the store. In `"external"` / `"server"` mode pass it to
                the worker.
            evaluators: Evaluators that score runs as feedback (`EvaluatorSettings`, or a
                list of agentevals-style evaluators, short for `EvaluatorSettings(evaluators=
                [...])`): a sampled share of recorded runs (`evaluation_rate`) is evaluated in
                the background, never on the run path; each verdict is stored as feedback
                with `source="evaluator:<key>"`, its score and comment, and counts towards
                `optimize_every` like a person's. Wait with `drain()`; counters in
                `evaluation_stats`. See docs/evaluators.md.
            rollout: `Canary(fraction=..., min_runs=...)`: a candidate that passes the
                checks (and approval, when required) is first served to `fraction` of the
                threads (of the users, in global scope) as a `canary`; monitoring compares
                the two arms' feedback scores and promotes or rejects it. Recorded in the
                store, so workers follow it. `None`: candidates go live at once.
            **deprecated: The keywords that moved into these objects (see
                `DeprecatedMiddlewareArgs`) still work for one release, with a
                `DeprecationWarning` naming the replacement.

        Raises:
            ValueError: On an unknown `mode`, `scope` or `on_base_change`, a non-positive
                count, an invalid prompt list, a store URI that cannot be opened, a gate in
                `"external"` / `"server"` mode, or an old keyword given with the object that
                holds it.
            TypeError: On arguments of the wrong type (an evaluator that is not callable, an
                `evaluation_rate` that is not a number, a `rollout` that is not a `Canary`) or
                an unknown keyword.

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
        settings = resolve_settings(
            deprecated,
            optimizer=optimizer,
            storage=storage,
            system_prompt=system_prompt,
            safety=safety,
            stacklevel=2,
        )
        check_arguments(
            mode=mode,
            optimize_every=optimize_every,
            scope=scope,
            on_base_change=on_base_change,
            require_approval=require_approval,
            get_user_id=get_user_id,
            safety=settings.safety,
        )
        if rollout is not None and not isinstance(rollout, Canary):
            msg = f"rollout must be a Canary or None; got {type(rollout).__name__}"
            raise TypeError(msg)
        self._rollout = rollout
        self._prompts = ManagedPrompts(
            settings.system_prompt,
            validate_prompts(prompts, settings.system_prompt.name),
            learned_section=settings.system_prompt.learned_section_mode(scope),
        )
        self._stores = StoreResolver(resolve_store(store))
        self._settings = settings
        self._system_name = settings.system_prompt.name
        self._layout = StoreLayout(settings.storage.namespace_prefix)
        self._models = ModelSource(settings.optimizer.model)
        self._get_user_id = get_user_id or default_user_id
        self._scope = scope
        self._budget = check_budget(budget, scope=scope)
        if self._budget is not None and mode in ("external", "server"):
            msg = (
                f"a budget has no effect in mode={mode!r}: optimizations run in workers; "
                "pass it to PromptWorker(budget=...) or make_optimizer_graph(budget=...)"
            )
            raise ValueError(msg)
        if require_approval is None:
            require_approval = scope == "global"
        self._engine = self._build_engine(mode, optimize_every, require_approval)
        self._evaluation = EvaluatorSettings.from_setting(evaluators)
        self._evaluations: EvaluationRunner | None = None
        if self._evaluation is not None and not self._evaluation.queue_for_workers:
            self._evaluations = EvaluationRunner(
                self._layout,
                self._evaluation,
                mark_pending=self.mode in RECORD_ONLY,
                keep_runs=settings.storage.retention.trajectory_ttl_minutes is not None,
                budget=self._budget,
                after=self._after_evaluation,
                aafter=self._aafter_evaluation,
            )
        self._pinner = Pinner(
            self._layout,
            holder=self._engine.holder,
            prompt_names=self.prompt_names,
            specs=self._prompts.live,
            on_base_change=on_base_change,
            global_scope=scope == "global",
            lease_seconds=settings.optimizer.lease_seconds,
            pin_cache_seconds=settings.storage.pin_cache_seconds,
            learned_sections={self._system_name: self._prompts.learned_section},
        )
        self._config_memo: tuple[Mapping[str, PromptSpec], int, PromptConfig, str] | None = None
        self._writer = CaptureWriter(
            settings.storage.timeout,
            settings.storage.max_buffered_writes,
            capture=settings.storage.capture,
            max_capture_delay=settings.storage.max_capture_delay,
        )

    def _build_engine(
        self, mode: Mode, optimize_every: int, require_approval: bool
    ) -> OptimizationEngine:
        """Init phase: the engine that runs this middleware's optimizations."""
        settings = run_settings(
            self._settings.optimizer,
            self._settings.storage,
            self._settings.safety,
            require_approval=require_approval,
            replay_agent=self._models.replay_agent,
            budget=self._budget,
            rollout=self._rollout,
        )
        return OptimizationEngine(
            layout=self._layout,
            settings=settings,
            mode=mode,
            optimize_every=optimize_every,
            on_outcome=self._learned,
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
        return self._settings.optimizer

    @property
    def storage(self) -> StorageSettings:
        """Namespace prefix, the run path's store deadline, outage buffer and retention."""
        return self._settings.storage

    @property
    def system_prompt(self) -> SystemPromptSettings:
        """The name and langmem guidance of the agent's own system prompt."""
        return self._settings.system_prompt

    @property
    def rollout(self) -> Canary | None:
        """The canary rollout of new candidates (`None`: they go live at once)."""
        return self._rollout

    @property
    def safety(self) -> SafetySettings:
        """Candidate budgets, feedback firewall, evaluation gate and monitoring in effect."""
        return self._settings.safety

    @property
    def budget(self) -> Budget | None:
        """The spend caps on optimizations (`None`: none)."""
        return self._budget

    @property
    def evaluators(self) -> EvaluatorSettings | None:
        """The evaluators scoring runs, and the share of runs they score (`None`: none)."""
        return self._evaluation

    @property
    def evaluation_stats(self) -> EvaluationStats:
        """What this process's evaluators did: runs sampled and evaluated, feedback stored,
        errors (an evaluator that raised; the run was not affected) with the newest ones."""
        if self._evaluations is None:
            return EvaluationStats()
        return self._evaluations.stats

    def _after_evaluation(self, store: BaseStore, owner: UserRef) -> None:
        """Evaluator feedback was stored: optimize when it reaches the trigger."""
        if self._engine.triggered(drive(self._layout.new_pending_count(owner), store)):
            self._engine.schedule(store, owner, self._models.optimizer, self._prompts.current())

    async def _aafter_evaluation(self, store: BaseStore, owner: UserRef) -> None:
        """Async twin of `_after_evaluation`."""
        if self._engine.triggered(await adrive(self._layout.new_pending_count(owner), store)):
            specs = self._prompts.current()
            await self._engine.aschedule(store, owner, self._models.optimizer, specs)

    def _owner(self, user: UserRef) -> UserRef:
        """The owner of the lineage that serves `user`."""
        return UserRef.global_lineage() if self._scope == "global" else user

    @property
    def prompt_names(self) -> list[str]:
        """Managed prompt names: the system prompt's name first, then the named prompts."""
        return self._prompts.names

    # -- before_agent: pin (pinning.py) -------------------------------------------------------

    def _learned(self, owner: UserRef, outcome: OptimizationOutcome) -> None:
        """Serve what this process just activated if the store goes down before the next pin."""
        self._pinner.learned(owner, outcome)

    @override
    def before_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Pin the active version of every managed prompt for this run's user (one read, or
        none when the pin cache holds a current one)."""
        user = resolve_user(self._get_user_id, runtime)
        try:
            store = self._stores.for_run(runtime)
            if state.get("feedback") is not None:  # write-behind: the run it names is stored
                self._writer.settle(store)
            owner = self._owner(user)
            thread = thread_id(runtime)
            pinned = self._pinner.cached(state, user, owner, store, thread)
            if pinned is None:
                job = self._pinner.pin_job(state, user, owner, thread, store)
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
        user = resolve_user(self._get_user_id, runtime)
        try:
            store = await self._stores.afor_run(runtime)
            if state.get("feedback") is not None:  # write-behind: the run it names is stored
                await self._writer.asettle(store)
            owner = self._owner(user)
            thread = thread_id(runtime)
            pinned = self._pinner.cached(state, user, owner, store, thread)
            if pinned is None:
                job = self._pinner.pin_job(state, user, owner, thread, store)
                pinned = await self._writer.awithin(job, store)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            return self._pinner.update(state, user, None, exc)
        return self._pinner.update(state, user, pinned, None)

    # -- a run resumed in another process reads its pinned texts (rare) ------------------------

    def _read_missing_texts(self, request: ModelRequest[ContextT]) -> None:
        """Read the pinned texts this process lacks (a run resumed after an interrupt in
        another process) by version, in one store batch within the store deadline. The
        common case (texts in memory) does no I/O: this is the only store call a model call
        can make, and only a resumed run in a fresh process makes it."""
        wanted = self._pinner.missing(request.state)
        if not wanted:
            return
        try:
            store = self._stores.for_run(request.runtime)
            self._writer.within(self._pinner.read_missing_job(request.state, wanted), store)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            logger.warning("could not read the pinned prompt texts %s: %s", wanted, exc)

    async def _aread_missing_texts(self, request: ModelRequest[ContextT]) -> None:
        """Async twin of `_read_missing_texts`."""
        wanted = self._pinner.missing(request.state)
        if not wanted:
            return
        try:
            store = await self._stores.afor_run(request.runtime)
            job = self._pinner.read_missing_job(request.state, wanted)
            await self._writer.awithin(job, store)
        except GraphBubbleUp:
            raise
        except Exception as exc:
            logger.warning("could not read the pinned prompt texts %s: %s", wanted, exc)

    # -- wrap_model_call: swap (store I/O only for a resumed run's missing texts) -----------

    def _served_text(self, state: Mapping[str, Any]) -> str | None:
        """The pinned system prompt text from process memory (never the store)."""
        text = self._pinner.text_for(state, self._system_name)
        if text is None and (state.get(PINNED) or {}).get(self._system_name) is not None:
            logger.warning(
                "the pinned text of %r v%s is not in this process; serving the base prompt",
                self._system_name,
                (state.get("prompt_versions") or {}).get(self._system_name),
            )
        return text

    def _swap_system_prompt(self, request: ModelRequest[ContextT]) -> ModelRequest[ContextT]:
        self._prompts.observe(request.system_prompt)
        self._models.observe(request)
        text = pinned_system_prompt(
            request.state,
            self._system_name,
            request.system_prompt,
            self._served_text(request.state),
        )
        if text is None:
            return request
        return request.override(system_message=SystemMessage(content=text))

    @override
    def wrap_model_call(
        self,
        request: ModelRequest[ContextT],
        handler: Callable[[ModelRequest[ContextT]], ModelResponse[ResponseT]],
    ) -> ModelResponse[ResponseT] | AIMessage:
        """Serve the pinned system prompt to the model."""
        self._read_missing_texts(request)
        return handler(self._swap_system_prompt(request))

    @override
    async def awrap_model_call(
        self,
        request: ModelRequest[ContextT],
        handler: Callable[[ModelRequest[ContextT]], Awaitable[ModelResponse[ResponseT]]],
    ) -> ModelResponse[ResponseT] | AIMessage:
        """Async twin of `wrap_model_call`."""
        await self._aread_missing_texts(request)
        return await handler(self._swap_system_prompt(request))

    # -- after_agent: capture (capture.py) ---------------------------------------------------

    def _plan_capture(
        self, state: PromptOptimizationState[Any], runtime: Runtime[Any], store: BaseStore
    ) -> Capture | None:
        config, digest = self._config_now()
        ttl = self._settings.storage.retention.trajectory_ttl_minutes
        evaluation = self._evaluation
        return plan_capture(
            state,
            layout=self._layout,
            owner_of=self._owner,
            config=config,
            thread_id=thread_id(runtime),
            ttl_minutes=ttl if supports_ttl(store) else None,
            mark_pending=self.mode in RECORD_ONLY,
            queue_evaluation=(
                evaluation.sampled
                if evaluation is not None and evaluation.queue_for_workers
                else None
            ),
            config_digest=digest,
        )

    def _config_now(self) -> tuple[PromptConfig, str]:
        """The prompt configuration to record and its hash, built again only when the
        prompts in code (or the trigger count) changed."""
        specs, every = self._prompts.live(), self._engine.optimize_every
        memo = self._config_memo
        if memo is not None and memo[0] is specs and memo[1] == every:
            return memo[2], memo[3]
        config = self._settings.prompt_config(
            dict(specs),
            require_approval=self.require_approval,
            scope=self._scope,
            optimize_every=every,
            rollout=self._rollout,
        )
        digest = config_hash(config.to_json())
        self._config_memo = (specs, every, config, digest)
        return config, digest

    @override
    def after_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Record the run (one write); with in-band feedback, maybe schedule an optimization."""
        capture = None
        written: bool | None = None
        learned: OptimizationOutcome | None = None
        try:
            store = self._stores.for_run(runtime)
            capture = self._plan_capture(state, runtime, store)
            if capture is None:
                return None
            wait = capture.carry or capture.feedback is not None  # the trigger reads it back
            written = self._writer.write(store, capture.ops, wait=wait)
            if self._evaluations is not None and capture.record is not None:
                self._evaluations.submit(store, capture.user, capture.owner, capture.record)
            if not written:
                return after_update(
                    state, capture, feedback_outcome(state, capture, written, learned=learned)
                )
            due = capture.carry
            if not due and capture.feedback is not None:
                count = self._layout.new_pending_count(capture.owner)
                due = self._engine.triggered(self._writer.within(count, store))
            if due:
                learned = self._engine.schedule(
                    store, capture.owner, self._models.optimizer, self._prompts.current()
                )
        except GraphBubbleUp:
            raise
        except Exception as exc:
            logger.exception("could not record the run; the agent's answer is unaffected")
            if written is None:
                return after_update(state, capture, feedback_outcome(state, None, None, exc))
        return after_update(
            state, capture, feedback_outcome(state, capture, written, learned=learned)
        )

    @override
    async def aafter_agent(
        self, state: PromptOptimizationState[ResponseT], runtime: Runtime[ContextT]
    ) -> dict[str, Any] | None:
        """Async twin of `after_agent`."""
        capture = None
        written: bool | None = None
        learned: OptimizationOutcome | None = None
        try:
            store = await self._stores.afor_run(runtime)
            capture = self._plan_capture(state, runtime, store)
            if capture is None:
                return None
            wait = capture.carry or capture.feedback is not None  # the trigger reads it back
            written = await self._writer.awrite(store, capture.ops, wait=wait)
            if self._evaluations is not None and capture.record is not None:
                self._evaluations.asubmit(store, capture.user, capture.owner, capture.record)
            if not written:
                return after_update(
                    state, capture, feedback_outcome(state, capture, written, learned=learned)
                )
            due = capture.carry
            if not due and capture.feedback is not None:
                count = self._layout.new_pending_count(capture.owner)
                due = self._engine.triggered(await self._writer.awithin(count, store))
            if due:
                specs = self._prompts.current()
                learned = await self._engine.aschedule(
                    store, capture.owner, self._models.optimizer, specs
                )
        except GraphBubbleUp:
            raise
        except Exception as exc:
            logger.exception("could not record the run; the agent's answer is unaffected")
            if written is None:
                return after_update(state, capture, feedback_outcome(state, None, None, exc))
        return after_update(
            state, capture, feedback_outcome(state, capture, written, learned=learned)
        )

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
        return self._writer.flush(self._stores.for_api())

    async def aflush_writes(self) -> int:
        """Async twin of `flush_writes`."""
        return await self._writer.aflush(await self._stores.afor_api())

    # -- feedback and optimization API ---------------------------------------------------------

    def _feedback_job(
        self, trajectory_id: str, feedback: object, score: object, feedback_id: object
    ) -> Job[tuple[UserRef, FeedbackItem]]:
        return store_feedback_job(
            self._layout,
            trajectory_id,
            feedback,
            score,
            feedback_id,
            owner_of=self._owner,
            mark_pending=self.mode in RECORD_ONLY,
            keep_runs=self._settings.storage.retention.trajectory_ttl_minutes is not None,
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
        `background` mode it starts in a thread; in `external` mode workers pick it up; in
        `server` mode a run of the optimizer graph is queued on the server.
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
        store = self._stores.for_api()
        job = self._feedback_job(trajectory_id, feedback, score, feedback_id)
        owner, item = drive(job, store)
        try:
            pending = drive(self._layout.new_pending_count(owner), store)
            if self._engine.triggered(pending):
                self._engine.schedule(store, owner, self._models.optimizer, self._prompts.current())
        except Exception as exc:
            log_trigger_failure(item, exc)
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
        store = await self._stores.afor_api()
        job = self._feedback_job(trajectory_id, feedback, score, feedback_id)
        owner, item = await adrive(job, store)
        try:
            pending = await adrive(self._layout.new_pending_count(owner), store)
            if self._engine.triggered(pending):
                await self._engine.aschedule(
                    store, owner, self._models.optimizer, self._prompts.current()
                )
        except Exception as exc:
            log_trigger_failure(item, exc)
        return item.id

    def optimize_now(self, user_id: str | None = None) -> OptimizationOutcome:
        """Optimize a user's prompts from their pending feedback now, whatever the mode.

        Args:
            user_id: The user; `None` is the default namespace.

        Returns:
            What the optimization did (`status`, appended `versions`, `error`).
        """
        owner = self._owner(UserRef.of(user_id))
        specs = self._prompts.current()
        return self._engine.optimize(self._stores.for_api(), owner, self._models.optimizer, specs)

    async def aoptimize_now(self, user_id: str | None = None) -> OptimizationOutcome:
        """Async twin of `optimize_now`."""
        owner = self._owner(UserRef.of(user_id))
        return await self._engine.aoptimize(
            await self._stores.afor_api(), owner, self._models.optimizer, self._prompts.current()
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
        drive(self._layout.add_example(owner, example), self._stores.for_api())
        return example.id

    async def aadd_example(
        self, messages: Any, *, user_id: str | None = None, note: str = ""
    ) -> str:
        """Async twin of `add_example`."""
        example = reference_example(messages, note=note)
        owner = self._owner(UserRef.of(user_id))
        await adrive(self._layout.add_example(owner, example), await self._stores.afor_api())
        return example.id

    def get_prompt(self, name: str | None = None, *, user_id: str | None = None) -> str:
        """The text of a managed prompt currently active for a user (the base if never changed).

        Raises:
            KeyError: If `name` is not a managed prompt, or the system prompt's base is not
                known yet (no run, no recorded configuration).
        """
        job = self._get_prompt_job(name or self._system_name, user_id)
        return drive(job, self._stores.for_api())

    async def aget_prompt(self, name: str | None = None, *, user_id: str | None = None) -> str:
        """Async twin of `get_prompt`."""
        job = self._get_prompt_job(name or self._system_name, user_id)
        return await adrive(job, await self._stores.afor_api())

    def _get_prompt_job(self, name: str, user_id: str | None) -> Job[str]:
        if name not in self.prompt_names:
            msg = f"{name!r} is not a managed prompt; managed: {self.prompt_names}"
            raise KeyError(msg)
        owner = self._owner(UserRef.of(user_id))
        return active_text_job(self._layout, owner, name, self._prompts.current())

    def prompt_for_run(self, state: Mapping[str, Any], name: str | None = None) -> str:
        """The text of a managed prompt pinned for the current run (for tools and nodes).

        Raises:
            KeyError: If `name` is not a managed prompt.
        """
        name = name or self._system_name
        pinned = self._pinner.text_for(state, name)
        if pinned is not None:
            return pinned
        spec = self._prompts.current().get(name)
        if spec is None:
            msg = f"{name!r} is not a managed prompt; managed: {self.prompt_names}"
            raise KeyError(msg)
        return spec.prompt

    def drain(self, timeout: float | None = None) -> bool:
        """Wait for background evaluations, then background optimizations, started from sync
        code (tests, shutdown).

        Returns:
            `True` if none is still running.
        """
        evaluated = self._evaluations.drain(timeout) if self._evaluations is not None else True
        return self._engine.drain(timeout) and evaluated

    async def adrain(self, timeout: float | None = None) -> bool:
        """Wait for background evaluations and optimizations (asyncio tasks and threads)."""
        evaluated = True
        if self._evaluations is not None:
            evaluated = await self._evaluations.adrain(timeout)
        return await self._engine.adrain(timeout) and evaluated

    def close(self) -> None:
        """Wait for background work and release threads."""
        if self._evaluations is not None:
            self._evaluations.close()
        self._engine.close()
        self._writer.close()
