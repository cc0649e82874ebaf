"""One optimization of one user namespace: lease, load, langmem, checks, commit."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from langchain.agents.middleware.internal_call_transformer import internal_call_metadata
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables.config import set_config_context
from langmem import create_multi_prompt_optimizer

from langchain_prompt_optimization.optimizer.checks import (
    CandidatePolicy,
    check_candidate,
    undo_langmem_escaping,
)
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall, quote_untrusted
from langchain_prompt_optimization.optimizer.gate import EvaluationGate, GateCall
from langchain_prompt_optimization.optimizer.monitor import (
    Monitor,
    Regression,
    VersionScores,
    find_regression,
    merged,
    score_deltas,
)
from langchain_prompt_optimization.optimizer.privacy import (
    find_pii,
    map_text,
    redact_json,
    redact_pii,
)
from langchain_prompt_optimization.stores import (
    Example,
    FeedbackItem,
    NewVersion,
    PromptSpec,
    PromptVersion,
    Retention,
    StoreLayout,
    TrajectoryRecord,
    UserRef,
    messages_from_json,
)
from langchain_prompt_optimization.stores.io import Call, call, supports_ttl_job

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_core.language_models import BaseChatModel
    from langchain_core.outputs import LLMResult

    from langchain_prompt_optimization.stores import ActivePrompt, Job, PromptConfig

__all__ = [
    "KINDS",
    "NoStructuredOutputError",
    "OptimizationOutcome",
    "OptimizerCall",
    "RunSettings",
    "UsageCounter",
    "optimize_user",
]

logger = logging.getLogger(__name__)

OptimizerKind = Literal["gradient", "metaprompt", "prompt_memory"]
KINDS: tuple[str, ...] = ("gradient", "metaprompt", "prompt_memory")


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How one optimization runs (built by the middleware, the worker and the CLI).

    Attributes:
        kind: langmem optimizer kind.
        config: langmem optimizer config (e.g. `max_reflection_steps`).
        max_feedback: Most feedback items fed to one optimization (oldest first; the rest
            wait for the next one).
        max_trajectory_chars: Each trajectory is cut to its most recent messages within
            this many characters of content.
        lease_seconds: How long a namespace lease lives if its holder dies.
        require_approval: New versions wait as `pending` until approved; `None` follows
            the policy the middleware recorded in the store (workers).
        max_attempts: Failed optimizations a feedback item takes part in before it is set
            aside as `failed`.
        retention: How long run data is kept (pruned after each optimization).
        policy: Budgets candidates must respect (size, growth, retention of lines); `None`
            follows the budgets the middleware recorded in the store (workers), else the
            defaults.
        firewall: Screens feedback, runs and candidates for injected instructions; `None`
            follows the firewall the middleware recorded (workers), else the default one;
            `FeedbackFirewall(enabled=False)` turns it off.
        gate: Evaluation gate candidates must pass (`None`: none).
        replay_agent: Where the gate finds the agent's model and tools when it was given
            none (the middleware hands over what its model calls saw).
        monitor: Online monitoring and auto-rollback policy; `None` follows the policy the
            middleware recorded in the store (workers), `Monitor()` if none is recorded.
    """

    kind: OptimizerKind = "prompt_memory"
    config: dict[str, Any] | None = None
    max_feedback: int = 20
    max_trajectory_chars: int = 8_000
    lease_seconds: float = 300.0
    require_approval: bool | None = False
    max_attempts: int = 3
    retention: Retention = field(default_factory=Retention)
    policy: CandidatePolicy | None = None
    firewall: FeedbackFirewall | None = None
    gate: EvaluationGate | None = None
    replay_agent: Callable[[], tuple[BaseChatModel, Sequence[Any]] | None] | None = None
    monitor: Monitor | None = None


@dataclass(frozen=True, slots=True)
class OptimizationOutcome:
    """What an optimization did.

    Attributes:
        user_id: The namespace's user id (`None`: the default namespace).
        status: `optimized` (at least one new version was appended, accepted or not),
            `unchanged` (the optimizer kept every prompt), `rolled_back` (monitoring found
            the active version scoring worse than its parent: `versions` are the appended
            rollbacks, the batch was consumed without calling the optimizer),
            `no_feedback`, `busy` (another optimizer holds the namespace), `failed` (the
            optimizer raised; recorded), or `quarantined` (the feedback firewall quarantined
            every pending item; this status was `held` before the rename).
        versions: Appended versions by prompt name.
        feedback_ids: Feedback items this optimization consumed or attempted.
        error: The error text when `failed`.
        usage: The optimizer's model calls and tokens in this optimization (also when no
            prompt changed, so nothing was stored).
    """

    user_id: str | None
    status: Literal[
        "optimized", "unchanged", "rolled_back", "no_feedback", "busy", "failed", "quarantined"
    ]
    versions: dict[str, PromptVersion] = field(default_factory=dict)
    feedback_ids: tuple[str, ...] = ()
    error: str | None = None
    usage: dict[str, int] = field(default_factory=dict)


class UsageCounter(BaseCallbackHandler):
    """Counts a model's calls and the tokens it reports (a callback handler; thread-safe).

    The optimizer's calls are counted with one; the learning harness counts both models
    with it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        with self._lock:
            self.calls += 1
            for generations in response.generations:
                for generation in generations:
                    usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
                    if usage:
                        self.input_tokens += int(usage.get("input_tokens", 0))
                        self.output_tokens += int(usage.get("output_tokens", 0))

    def as_dict(self) -> dict[str, int]:
        """Calls and tokens counted so far."""
        with self._lock:
            return {
                "calls": self.calls,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
            }


class _ReplyWatch(BaseCallbackHandler):
    """Counts the optimizer model's replies and those that carried tool calls (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.replies = 0
        self.tool_replies = 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        with self._lock:
            for generations in response.generations:
                for generation in generations:
                    message = getattr(generation, "message", None)
                    self.replies += 1
                    if getattr(message, "tool_calls", None):
                        self.tool_replies += 1


class NoStructuredOutputError(RuntimeError):
    """The optimizer model did not produce langmem's structured output (no tool calling)."""


_PARSE_FAILURES = (TypeError, IndexError, KeyError, ValueError, AttributeError)


def _model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _explain(exc: Exception, model: BaseChatModel, watch: _ReplyWatch) -> Exception:
    """`exc`, or a `NoStructuredOutputError` saying so in plain words when the model cannot
    give langmem structured output: it does not support tool calling, or it answered only
    in plain text and langmem failed reading the answer."""
    unsupported = isinstance(exc, NotImplementedError)
    plain_text = isinstance(exc, _PARSE_FAILURES) and watch.replies > 0 and watch.tool_replies == 0
    if not (unsupported or plain_text):
        return exc
    msg = (
        f"the optimizer model ({_model_name(model)}) did not return langmem's structured "
        f"output ({type(exc).__name__}: {exc}); use a model that supports tool calling, set "
        "it with optimizer=OptimizerSettings(model=...) (formerly optimizer_model=)"
    )
    return NoStructuredOutputError(msg)


@dataclass(frozen=True, slots=True)
class OptimizerCall(Call[tuple[list[dict[str, Any]], dict[str, int]]]):
    """A request to run langmem's multi-prompt optimizer (sync `invoke` / async `ainvoke`);
    returns langmem's prompts and the usage counted.

    The call runs in its own config context: tagged internal, with only our usage counter
    as callback, so it never streams into the user's run. A model that cannot give
    langmem structured output raises `NoStructuredOutputError`, which names the fix.
    """

    model: BaseChatModel
    settings: RunSettings
    payload: dict[str, Any]

    def _config(self, counter: UsageCounter, watch: _ReplyWatch) -> Any:
        return {
            "callbacks": [counter, watch],
            "metadata": {"lc_source": "prompt_optimization", **internal_call_metadata()},
            "tags": ["prompt_optimization"],
        }

    def _optimizer(self) -> Any:
        return create_multi_prompt_optimizer(
            self.model, kind=self.settings.kind, config=self.settings.config
        )

    def run(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Run the optimizer with blocking calls."""
        counter, watch = UsageCounter(), _ReplyWatch()
        try:
            optimizer = self._optimizer()
            with set_config_context(self._config(counter, watch)) as ctx:
                result = ctx.run(optimizer.invoke, self.payload)
        except Exception as exc:
            explained = _explain(exc, self.model, watch)
            if explained is exc:
                raise
            raise explained from exc
        return list(result), counter.as_dict()

    async def arun(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """Run the optimizer with async calls."""
        counter, watch = UsageCounter(), _ReplyWatch()
        try:
            optimizer = self._optimizer()
            with set_config_context(self._config(counter, watch)) as ctx:
                result = await asyncio.create_task(optimizer.ainvoke(self.payload), context=ctx)
        except Exception as exc:
            explained = _explain(exc, self.model, watch)
            if explained is exc:
                raise
            raise explained from exc
        return list(result), counter.as_dict()


def _feedback_for_langmem(item: FeedbackItem, budget: int, private: bool) -> str | dict[str, Any]:
    """The item's feedback as langmem is given it: clipped, tags neutralized, and personal
    data redacted when the lineage is shared."""
    clean = _cleaner(private)
    feedback: str | dict[str, Any] = map_text(
        _clip(item.feedback, budget)
        if isinstance(item.feedback, str)
        else {k: _clip(v, budget) if isinstance(v, str) else v for k, v in item.feedback.items()},
        clean,
        messages=False,
    )
    if item.score is None:
        return feedback
    if isinstance(feedback, dict):
        return {**feedback, "score": item.score}
    return {"feedback": feedback, "score": item.score}


def _clip(text: str, budget: int) -> str:
    """`text` cut to its last `budget` characters, saying how much was cut."""
    if len(text) <= budget:
        return text
    return f"[... {len(text) - budget} characters cut ...]\n{text[-budget:]}"


def _recent_messages(trajectory: TrajectoryRecord | None, budget: int) -> list[Any]:
    """The trajectory's most recent messages within `budget` characters of content.

    Older messages are dropped first; a single message longer than what is left has its
    content cut to its tail.
    """
    if trajectory is None:
        return []
    kept: list[Any] = []
    left = budget
    for message in reversed(messages_from_json(trajectory.messages)):
        if left <= 0:
            break
        content = message.content if isinstance(message.content, str) else str(message.content)
        if len(content) > left:
            content = _clip(content, left)
            message = message.model_copy(update={"content": content})
        kept.append(message)
        left -= len(content)
    return list(reversed(kept))


def _prompt_payload(spec: PromptSpec, current: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": spec.name, "prompt": current}
    if spec.update_instructions:
        payload["update_instructions"] = spec.update_instructions
    if spec.when_to_update:
        payload["when_to_update"] = spec.when_to_update
    return payload


def optimize_user(
    layout: StoreLayout,
    owner: UserRef,
    *,
    model: BaseChatModel,
    specs: dict[str, PromptSpec],
    settings: RunSettings,
    holder: str,
) -> Job[OptimizationOutcome]:
    """Optimize one lineage's prompts from its pending feedback.

    `owner` is the lineage owner: a user (`scope="user"`) or the global lineage. Takes its
    lease, loads pending feedback (oldest first, within the budget) and
    its trajectories, runs langmem's multi-prompt optimizer over every managed prompt, checks
    each changed prompt, appends the results and consumes the feedback in one batch. An
    optimizer error is recorded as a `failed` entry on each prompt's history and the
    feedback stays pending; the active prompts stay byte-identical.

    Args:
        layout: The store layout.
        owner: The lineage owner.
        model: Optimizer chat model.
        specs: Managed prompts known to the caller (code wins over the recorded config).
        settings: Optimizer settings.
        holder: Lease holder id.

    Returns:
        The outcome.
    """
    if not (yield from layout.acquire_lease(owner, holder, settings.lease_seconds)):
        return OptimizationOutcome(owner.user_id, "busy")
    try:
        return (yield from _optimize_leased(layout, owner, model, specs, settings, holder))
    finally:
        try:
            yield from layout.release_lease(owner, holder)
        except Exception:
            logger.warning("could not release the optimizer lease of %r", owner.user_id)


@dataclass(frozen=True, slots=True)
class _Run:
    """One optimization's fixed inputs, handed to each phase."""

    layout: StoreLayout
    owner: UserRef
    settings: RunSettings
    holder: str

    def outcome(self, status: Any, **fields: Any) -> OptimizationOutcome:
        return OptimizationOutcome(self.owner.user_id, status, **fields)


@dataclass(frozen=True, slots=True)
class _Loaded:
    """What the load phase read: the batch, its runs, the recorded config and the prompts."""

    batch: list[FeedbackItem]
    trajectories: dict[str, TrajectoryRecord]
    config: PromptConfig
    specs: dict[str, PromptSpec]


@dataclass(frozen=True, slots=True)
class _Targets:
    """The prompts this batch optimizes, as served and as the optimizer starts from."""

    names: list[str]
    active: dict[str, ActivePrompt]
    served: dict[str, str]
    current: dict[str, str]
    parents: dict[str, int]
    expected: dict[str, int]


def _optimize_leased(
    layout: StoreLayout,
    owner: UserRef,
    model: BaseChatModel,
    local_specs: dict[str, PromptSpec],
    settings: RunSettings,
    holder: str,
) -> Job[OptimizationOutcome]:
    run = _Run(layout, owner, settings, holder)
    loaded = yield from _load_batch(run, local_specs)
    if loaded is None:
        return run.outcome("no_feedback")
    if not loaded.specs:
        return (yield from _fail_without_prompts(run, loaded.batch))
    active, _ = yield from layout.read_active(owner, list(loaded.specs))
    served = {
        name: active[name].text if name in active else spec.prompt
        for name, spec in loaded.specs.items()
    }
    config = loaded.config
    configured = settings.firewall or FeedbackFirewall.from_json(config.firewall)
    firewall = configured if configured.enabled else None
    batch = loaded.batch
    if firewall is not None:
        batch, quarantined_ids = yield from _screen_batch(run, firewall, loaded, served)
        if not batch:
            return run.outcome("quarantined", feedback_ids=quarantined_ids)
    targets = _target_prompts(loaded.specs, batch, active, served)
    deltas = score_deltas(batch)
    monitor = settings.monitor or Monitor.from_json(config.monitor)
    if monitor.enabled and targets.active:
        rolled_back = yield from _monitor(run, monitor, batch, targets, deltas)
        if rolled_back is not None:
            return rolled_back
    targets = yield from _build_on_pending_heads(run, targets)
    private = owner == UserRef.global_lineage()
    payload = _build_payload(loaded, batch, targets, settings, private)
    results, error = yield from _call_optimizer(run, model, payload)
    base_texts = {name: loaded.specs[name].prompt for name in targets.names}
    if not results:
        return (yield from _record_failure(run, batch, targets, base_texts, error))
    policy = settings.policy or CandidatePolicy.from_json(config.policy)
    options = _check_candidates(results, batch, targets, policy, firewall, private)
    usage = _total_usage(results, attempts=_attempts(settings))
    gated = yield from _gate(run, loaded, batch, options, served, private)
    return (yield from _commit(run, loaded, batch, targets, base_texts, gated, usage, deltas))


def _load_batch(run: _Run, local_specs: dict[str, PromptSpec]) -> Job[_Loaded | None]:
    """Phase 1: the oldest pending feedback within `max_feedback`, its runs, the recorded
    config and the managed prompts (code wins over the record); `None` if none pending."""
    pending = yield from run.layout.pending_feedback(run.owner)
    if not pending:
        return None
    batch = pending[: run.settings.max_feedback]
    trajectories = yield from run.layout.load_trajectories(batch)
    config = yield from run.layout.read_config()
    return _Loaded(batch, trajectories, config, {**config.specs, **local_specs})


def _fail_without_prompts(run: _Run, batch: list[FeedbackItem]) -> Job[OptimizationOutcome]:
    """No prompt is known yet: count a failed attempt on the batch."""
    ids = tuple(fb.id for fb in batch)
    msg = "no prompt is known for this namespace yet: run the agent once first"
    settings = run.settings
    if (yield from run.layout.renew_lease(run.owner, run.holder, settings.lease_seconds)):
        yield from run.layout.mark_attempted(run.owner, batch, max_attempts=settings.max_attempts)
    return run.outcome("failed", feedback_ids=ids, error=msg)


def _screen_batch(
    run: _Run, firewall: FeedbackFirewall, loaded: _Loaded, served: dict[str, str]
) -> Job[tuple[list[FeedbackItem], tuple[str, ...]]]:
    """Phase 2: quarantine the items the firewall catches; the rest of the batch, and the
    ids quarantined."""
    batch = loaded.batch
    caught = _screen_inputs(firewall, batch, loaded.trajectories, "\n".join(served.values()))
    if not caught:
        return batch, ()
    yield from run.layout.quarantine_feedback(run.owner, caught)
    caught_ids = {fb.id for fb, _ in caught}
    return [fb for fb in batch if fb.id not in caught_ids], tuple(caught_ids)


def _target_prompts(
    specs: dict[str, PromptSpec],
    batch: Sequence[FeedbackItem],
    active: dict[str, ActivePrompt],
    served: dict[str, str],
) -> _Targets:
    """The prompts the batch concerns (all, or those carried feedback is restricted to)."""
    names = list(specs)
    restricted = _only_prompts(batch)
    if restricted is not None:
        names = [name for name in names if name in restricted] or names
    active = {name: state for name, state in active.items() if name in names}
    expected = {name: active[name].latest if name in active else 0 for name in names}
    current = {name: served[name] for name in names}
    return _Targets(names, active, served, current, {}, expected)


def _monitor(
    run: _Run,
    monitor: Monitor,
    batch: Sequence[FeedbackItem],
    targets: _Targets,
    deltas: dict[str, VersionScores],
) -> Job[OptimizationOutcome | None]:
    """Phase 3: roll back regressed prompts (the outcome), or `None` to optimize. A fault in
    monitoring is logged and the optimization goes on without it."""
    try:
        regressions = yield from _regressions(
            run.layout, run.owner, monitor, targets.active, deltas
        )
    except Exception:
        logger.exception("monitoring of %r failed; optimizing without it", run.owner.user_id)
        return None
    if not regressions:
        return None
    return (
        yield from _auto_rollback(
            run.layout, run.owner, run.settings, run.holder, batch, regressions, deltas,
            targets.expected,
        )
    )  # fmt: skip


def _build_on_pending_heads(run: _Run, targets: _Targets) -> Job[_Targets]:
    """Phase 4: start from the newest pending version where one waits (what it learned is
    kept when a newer candidate supersedes it)."""
    heads = yield from run.layout.pending_heads(run.owner, targets.active)
    current = {**targets.current, **{name: text for name, (_, text) in heads.items()}}
    parents = {name: number for name, (number, _) in heads.items()}
    return replace(targets, current=current, parents=parents)


def _build_payload(
    loaded: _Loaded,
    batch: Sequence[FeedbackItem],
    targets: _Targets,
    settings: RunSettings,
    private: bool,
) -> dict[str, Any]:
    """Phase 5: langmem's input: each item's run (recent messages, untrusted text quoted,
    personal data redacted when shared) with its feedback, and the prompts."""
    budget = settings.max_trajectory_chars
    return {
        "trajectories": [
            (
                _recent_messages(
                    _untrusted(loaded.trajectories.get(fb.trajectory_id), private), budget
                ),
                _feedback_for_langmem(fb, budget, private),
            )
            for fb in batch
        ],
        "prompts": [
            _prompt_payload(loaded.specs[name], targets.current[name]) for name in targets.names
        ],
    }


def _attempts(settings: RunSettings) -> int:
    return settings.gate.best_of if settings.gate is not None else 1


def _call_optimizer(
    run: _Run, model: BaseChatModel, payload: dict[str, Any]
) -> Job[tuple[list[tuple[list[dict[str, Any]], dict[str, int]]], str]]:
    """Phase 6: call langmem (`best_of` times with a gate); the results, and the last
    error (`""` if none raised)."""
    results: list[tuple[list[dict[str, Any]], dict[str, int]]] = []
    error = ""
    for _ in range(_attempts(run.settings)):
        try:
            results.append((yield from call(OptimizerCall(model, run.settings, payload))))
        except NoStructuredOutputError as exc:
            error = str(exc)
            logger.warning("optimization of %r failed: %s", run.owner.user_id, error)
        except Exception as exc:
            error = f"optimizer raised {type(exc).__name__}: {exc}"
            logger.warning("optimization of %r failed: %s", run.owner.user_id, error)
    return results, error


def _record_failure(
    run: _Run,
    batch: Sequence[FeedbackItem],
    targets: _Targets,
    base_texts: dict[str, str],
    error: str,
) -> Job[OptimizationOutcome]:
    """Every optimizer call raised: record a `failed` entry on each prompt's history and
    count an attempt on the batch (it stays pending)."""
    ids = tuple(fb.id for fb in batch)
    layout, owner, settings = run.layout, run.owner, run.settings
    if not (yield from layout.renew_lease(owner, run.holder, settings.lease_seconds)):
        return run.outcome("busy", feedback_ids=ids, error=error)
    failed = [NewVersion(name, "", "failed", error) for name in targets.names]
    recorded = yield from layout.commit_optimization(
        owner,
        base_texts=base_texts,
        candidates=failed,
        feedback=(),
        optimizer_kind=settings.kind,
        usage={},
        expected_latest=targets.expected,
    )
    yield from layout.mark_attempted(owner, batch, max_attempts=settings.max_attempts)
    return run.outcome("failed", versions=recorded or {}, feedback_ids=ids, error=error)


def _check_candidates(
    results: Sequence[tuple[list[dict[str, Any]], dict[str, int]]],
    batch: Sequence[FeedbackItem],
    targets: _Targets,
    policy: CandidatePolicy,
    firewall: FeedbackFirewall | None,
    private: bool,
) -> list[list[NewVersion]]:
    """Phase 7: each optimizer result's changed prompts as candidates, checked against the
    policy (rejected with the reason) and screened (flagged with the reason)."""
    texts = [_feedback_text(fb) for fb in batch]
    return [
        _screen_candidates(
            _candidates(result, targets.current, policy, texts), targets.served, firewall, private
        )
        for result, _ in results
    ]


def _total_usage(
    results: Sequence[tuple[list[dict[str, Any]], dict[str, int]]], *, attempts: int
) -> dict[str, int]:
    usage = {
        key: sum(u.get(key, 0) for _, u in results)
        for key in ("calls", "input_tokens", "output_tokens")
    }
    if len(results) < attempts:
        usage["failed_calls"] = attempts - len(results)  # best-of-k: some samples raised
    return usage


@dataclass(frozen=True, slots=True)
class _Gated:
    """The candidates to commit and the gate's example changes."""

    candidates: list[NewVersion]
    new_examples: list[Example]
    drop_examples: list[str]


def _gate(
    run: _Run,
    loaded: _Loaded,
    batch: Sequence[FeedbackItem],
    options: list[list[NewVersion]],
    served: dict[str, str],
    private: bool,
) -> Job[_Gated]:
    """Phase 8: with an evaluation gate, pick the best option on the examples (the stored
    ones plus this batch's well-scored runs, within `max_examples`)."""
    gate = run.settings.gate
    if gate is None:
        return _Gated(options[0], [], [])
    stored = yield from run.layout.examples(run.owner)
    new_examples = _positive_examples(gate, batch, loaded.trajectories, private)
    fresh = {e.id for e in new_examples}
    examples = [*new_examples, *(e for e in stored if e.id not in fresh)]
    kept = {e.id for e in examples[: gate.max_examples]}
    system = loaded.config.system_prompt
    candidates = yield from _gated(
        gate, run.settings, options, served.get(system), system, examples[: gate.max_examples]
    )
    return _Gated(
        candidates,
        [e for e in new_examples if e.id in kept],
        [e.id for e in stored if e.id not in kept and e.id not in fresh],
    )


def _commit(
    run: _Run,
    loaded: _Loaded,
    batch: Sequence[FeedbackItem],
    targets: _Targets,
    base_texts: dict[str, str],
    gated: _Gated,
    usage: dict[str, int],
    deltas: dict[str, VersionScores],
) -> Job[OptimizationOutcome]:
    """Phase 9: append the candidates and consume the batch in one write (if the lease is
    still ours and no prompt moved), then prune runs beyond retention."""
    ids = tuple(fb.id for fb in batch)
    layout, owner, settings = run.layout, run.owner, run.settings
    if not (yield from layout.renew_lease(owner, run.holder, settings.lease_seconds)):
        logger.warning("lost the lease of %r during the optimization; not committing", owner)
        return run.outcome("busy", feedback_ids=ids)
    require_approval = (
        loaded.config.require_approval
        if settings.require_approval is None
        else settings.require_approval
    )
    versions = yield from layout.commit_optimization(
        owner,
        base_texts=base_texts,
        candidates=gated.candidates,
        feedback=batch,
        optimizer_kind=settings.kind,
        usage=usage,
        require_approval=require_approval,
        expected_latest=targets.expected,
        parents=targets.parents,
        feedback_ttl_minutes=(yield from _consumed_feedback_ttl(settings)),
        new_examples=gated.new_examples,
        drop_examples=gated.drop_examples,
        score_deltas=deltas,
    )
    if versions is None:
        return run.outcome("busy", feedback_ids=ids)
    yield from _prune_after(layout, owner, settings, batch)
    status: Literal["optimized", "unchanged"] = "optimized" if versions else "unchanged"
    return run.outcome(status, versions=versions, feedback_ids=ids, usage=usage)


def _consumed_feedback_ttl(settings: RunSettings) -> Job[float | None]:
    """How long consumed feedback is kept, when the store honours TTLs."""
    if (yield from supports_ttl_job()):
        return settings.retention.consumed_feedback_ttl_minutes
    return None


def _prune_after(
    layout: StoreLayout, owner: UserRef, settings: RunSettings, batch: Sequence[FeedbackItem]
) -> Job[None]:
    keep = settings.retention.max_trajectories_per_user
    if keep is not None:
        for label in sorted({fb.user_label for fb in batch if fb.user_label}):
            yield from layout.prune_trajectories(UserRef.from_label(label), owner, keep=keep)


def _regressions(
    layout: StoreLayout,
    owner: UserRef,
    monitor: Monitor,
    active: dict[str, ActivePrompt],
    deltas: dict[str, VersionScores],
) -> Job[list[Regression]]:
    """The prompts whose active version scores worse than its parent (stored scores plus
    this batch's). A fault in the rule itself is logged and that prompt is not judged."""
    heads, stored = yield from layout.read_monitoring(owner, active)
    found: list[Regression] = []
    for name in active:
        head = heads.get(name)
        if head is None:
            continue
        try:
            scores = merged(stored.get(name, {}), deltas.get(name, {}))
            regression = find_regression(monitor, head, scores)
        except Exception:
            logger.exception("monitoring of %r for %r failed; not judged", name, owner.user_id)
            continue
        if regression is not None:
            found.append(regression)
    return found


def _auto_rollback(
    layout: StoreLayout,
    owner: UserRef,
    settings: RunSettings,
    holder: str,
    batch: Sequence[FeedbackItem],
    regressions: Sequence[Regression],
    deltas: dict[str, VersionScores],
    expected: dict[str, int],
) -> Job[OptimizationOutcome]:
    """Roll regressed prompts back to their parent and pause their lineages, consuming the batch
    (without calling the optimizer) in the same write."""
    ids = tuple(fb.id for fb in batch)
    if not (yield from layout.renew_lease(owner, holder, settings.lease_seconds)):
        return OptimizationOutcome(owner.user_id, "busy", feedback_ids=ids)
    versions = yield from layout.commit_auto_rollback(
        owner,
        rollbacks={r.prompt: (r.parent, r.reason, r.details()) for r in regressions},
        feedback=batch,
        score_deltas=deltas,
        expected_latest=expected,
        feedback_ttl_minutes=(yield from _consumed_feedback_ttl(settings)),
    )
    if versions is None:
        return OptimizationOutcome(owner.user_id, "busy", feedback_ids=ids)
    for regression in regressions:
        logger.warning(
            "prompt %r of %r: %s (new version v%s, lineage paused for review)",
            regression.prompt,
            owner.user_id,
            regression.reason,
            versions[regression.prompt].version,
        )
    yield from _prune_after(layout, owner, settings, batch)
    return OptimizationOutcome(owner.user_id, "rolled_back", versions, ids)


def _untrusted(trajectory: TrajectoryRecord | None, private: bool) -> TrajectoryRecord | None:
    """A run as the optimizer may see it: tags neutralized, personal data redacted if shared."""
    if trajectory is None:
        return None
    return replace(trajectory, messages=map_text(trajectory.messages, _cleaner(private)))


def _cleaner(private: bool) -> Callable[[str], str]:
    if private:
        return lambda text: quote_untrusted(redact_pii(text))
    return quote_untrusted


def _screen_inputs(
    firewall: FeedbackFirewall,
    batch: Sequence[FeedbackItem],
    trajectories: dict[str, TrajectoryRecord],
    known: str,
) -> list[tuple[FeedbackItem, str]]:
    """Feedback items the firewall flags (in their text or their run's human/tool messages)."""
    caught: list[tuple[FeedbackItem, str]] = []
    for fb in batch:
        if fb.trusted:
            continue
        findings = firewall.screen_feedback(_feedback_text(fb), known_text=known)
        run = trajectories.get(fb.trajectory_id)
        if not findings and run is not None:
            findings = firewall.screen_trajectory(_untrusted_text(run))
        if findings:
            caught.append((fb, firewall.hold_reason(findings)))
    return caught


def _feedback_text(fb: FeedbackItem) -> str:
    """A feedback item's text as written (a dict's keys and values, one per line; never
    JSON-escaped, so non-Latin text is screened as such)."""
    if isinstance(fb.feedback, str):
        return fb.feedback
    return "\n".join(f"{key}: {value}" for key, value in fb.feedback.items())


def _untrusted_text(run: TrajectoryRecord) -> str:
    """What users and tools wrote in a run (the agent's own messages are not screened)."""
    parts = []
    for message in messages_from_json(run.messages):
        if message.type in ("human", "tool"):
            parts.append(
                message.content if isinstance(message.content, str) else str(message.content)
            )
    return "\n".join(parts)


def _screen_candidates(
    candidates: list[NewVersion],
    served: dict[str, str],
    firewall: FeedbackFirewall | None,
    private: bool,
) -> list[NewVersion]:
    """Flag accepted candidates whose added text the firewall catches or that add personal
    data to a shared (global) prompt. Flagged versions are `pending` whatever the approval
    policy, and never activated without a reviewer."""
    out: list[NewVersion] = []
    for cand in candidates:
        reasons = []
        if cand.outcome == "accepted":
            before = served.get(cand.prompt, "")
            findings = firewall.screen_candidate(cand.text, before) if firewall else []
            if findings and firewall is not None:
                reasons.append(firewall.hold_reason(findings))
            if private:
                known = {m["value"] for m in find_pii(before)}
                leaked = [m for m in find_pii(cand.text) if m["value"] not in known]
                if leaked:
                    kinds = ", ".join(sorted({m["type"] for m in leaked}))
                    reasons.append(
                        f"flagged: the candidate adds personal data ({kinds}) to a prompt "
                        "shared by all users"
                    )
        reason = "; ".join(reasons) or None
        if reason is None:
            out.append(cand)
        else:
            out.append(replace(cand, outcome="pending", reason=reason, flagged=reason))
    return out


def _positive_examples(
    gate: EvaluationGate,
    batch: Sequence[FeedbackItem],
    trajectories: dict[str, TrajectoryRecord],
    private: bool,
) -> list[Example]:
    """Runs whose feedback score reaches `gate.positive_score`, as regression examples."""
    out: dict[str, Example] = {}
    for fb in batch:
        run = trajectories.get(fb.trajectory_id)
        if run is None or fb.score is None or fb.score < gate.positive_score:
            continue
        messages = redact_json(run.messages) if private else run.messages
        if any(m.get("type") == "human" for m in messages):
            out[run.id] = Example.new(
                messages, source="feedback", trajectory_id=run.id, note=f"feedback {fb.id}"
            )
    return list(out.values())


def _gated(
    gate: EvaluationGate,
    settings: RunSettings,
    options: list[list[NewVersion]],
    active_text: str | None,
    system: str,
    examples: list[Example],
) -> Job[list[NewVersion]]:
    """The candidate set to commit: the best-scoring of `options` on the examples, its
    system prompt rejected if it scores below the active one (scores stored on it)."""
    texts = [_system_text(option, system) for option in options]
    if active_text is None or not any(texts):
        return options[0]
    method = gate.describe()
    if len(examples) < gate.min_examples:
        note = f"{len(examples)} example(s), min_examples={gate.min_examples}"
        reason = f"flagged by the evaluation gate: {note}"
        scores = {"examples": len(examples), "method": method}
        return _with_system(options[0], system, "pending", reason, scores, flagged=reason)
    if not examples:
        scores = {"examples": 0, "method": method, "note": "no examples yet"}
        option = options[0]
        return _with_system(option, system, "accepted", None, scores) if texts[0] else option
    agent = (gate.model, gate.tools)
    if gate.model is None and settings.replay_agent is not None:
        seen = settings.replay_agent()
        if seen is not None:
            agent = (seen[0], gate.tools if gate.tools is not None else seen[1])
    unique = tuple(dict.fromkeys(text for text in texts if text))
    try:
        if agent[0] is None:
            msg = "no model to replay with: pass EvaluationGate(model=...) or run the agent first"
            raise ValueError(msg)
        result = yield from call(
            GateCall(gate, agent[0], tuple(agent[1] or ()), active_text, unique, tuple(examples))
        )
    except Exception as exc:
        reason = f"flagged: the evaluation gate failed ({type(exc).__name__}: {exc})"
        logger.warning("evaluation gate failed: %s", reason)
        return _with_system(options[0], system, "pending", reason, None, flagged=reason)
    by_text = dict(zip(unique, result.candidates, strict=True))
    ranked = [by_text[text] if text else None for text in texts]
    # Only samples with a system candidate compete (one the checks refused cannot win).
    best = max(
        (i for i, score in enumerate(ranked) if score is not None),
        key=lambda i: (ranked[i], -i),
    )
    score = by_text[texts[best] or ""]
    verdict: dict[str, Any] = {
        "candidate": score,
        "active": result.active,
        "examples": result.examples,
        "method": method,
    }
    if len(options) > 1:
        verdict["best_of"] = ranked
    if not score + 1e-9 >= result.active:
        reason = (
            f"evaluation gate: candidate scored {score:.2f} < active {result.active:.2f} "
            f"on {result.examples} example(s)"
        )
        return _with_system(options[best], system, "rejected", reason, verdict)
    return _with_system(options[best], system, "accepted", None, verdict)


def _system_text(option: list[NewVersion], system: str) -> str | None:
    for cand in option:
        if cand.prompt == system and cand.outcome == "accepted":
            return cand.text
    return None


def _with_system(
    option: list[NewVersion],
    system: str,
    outcome: str,
    reason: str | None,
    scores: dict[str, Any] | None,
    *,
    flagged: str | None = None,
) -> list[NewVersion]:
    out = []
    for cand in option:
        if cand.prompt == system and cand.outcome == "accepted":
            cand = replace(
                cand, outcome=outcome, reason=reason or cand.reason, scores=scores, flagged=flagged
            )
        out.append(cand)
    return out


def _only_prompts(batch: Sequence[FeedbackItem]) -> set[str] | None:
    """The prompts a batch concerns when every item is restricted (carried feedback)."""
    if not batch or any(fb.only_prompts is None for fb in batch):
        return None
    return {name for fb in batch for name in fb.only_prompts or ()}


def _candidates(
    result: Sequence[dict[str, Any]],
    current: dict[str, str],
    policy: CandidatePolicy,
    feedback: Sequence[str],
) -> list[NewVersion]:
    out: list[NewVersion] = []
    for entry in result:
        name = entry.get("name")
        if name not in current:
            continue
        raw = entry.get("prompt")
        text = undo_langmem_escaping(raw if isinstance(raw, str) else "", current[name])
        if text == current[name]:
            continue
        reason = check_candidate(text, current[name], policy=policy, feedback=feedback)
        if reason is None:
            out.append(NewVersion(name, text, "accepted", "optimized from feedback"))
        else:
            out.append(NewVersion(name, text, "rejected", reason))
    return out
