"""One optimization of one user namespace: lease, load, langmem, checks, commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from langchain_prompt_optimization.optimizer.budget import Budget, charged, reserve_for
from langchain_prompt_optimization.optimizer.canary import (
    Canary,
    CanaryEvidence,
    judge_running_canary,
)
from langchain_prompt_optimization.optimizer.candidates import (
    checked_candidates,
    feedback_text,
    tool_names,
)
from langchain_prompt_optimization.optimizer.checks import CandidatePolicy
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.optimizer.langmem_call import (
    NoStructuredOutputError,
    OptimizerCall,
    OptimizerResult,
)
from langchain_prompt_optimization.optimizer.learned_section import (
    LearnedSection,
    learned_sections,
)
from langchain_prompt_optimization.optimizer.metering import MeteredCall, UsageMeter
from langchain_prompt_optimization.optimizer.monitor import Monitor, score_deltas
from langchain_prompt_optimization.optimizer.payload import (
    feedback_for_langmem,
    prompt_payload,
    untrusted_recent_messages,
)
from langchain_prompt_optimization.optimizer.retention import consumed_feedback_ttl, prune_after
from langchain_prompt_optimization.optimizer.rollback import auto_rollback, find_regressions
from langchain_prompt_optimization.optimizer.screening.base import FeedbackBatch
from langchain_prompt_optimization.optimizer.screening.pipeline import (
    bound_screeners,
    screen_candidate_options,
    screen_feedback_batch,
    screeners_from_json,
    screening_usage,
)
from langchain_prompt_optimization.optimizer.screening.rules import RulesScreener
from langchain_prompt_optimization.optimizer.selection import select_candidates
from langchain_prompt_optimization.stores import NewVersion, Retention, UserRef

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_core.language_models import BaseChatModel

    from langchain_prompt_optimization.optimizer.gate import EvaluationGate
    from langchain_prompt_optimization.optimizer.screening.base import Screener
    from langchain_prompt_optimization.optimizer.selection import Selection
    from langchain_prompt_optimization.stores import (
        ActivePrompt,
        FeedbackItem,
        Job,
        PromptConfig,
        PromptSpec,
        PromptVersion,
        StoreLayout,
        TrajectoryRecord,
        UsageCharge,
    )
    from langchain_prompt_optimization.stores.io import Call
    from langchain_prompt_optimization.stores.scores import PromptScores

__all__ = [
    "KINDS",
    "OptimizationOutcome",
    "OptimizerKind",
    "RunSettings",
    "optimize_user",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

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
        screeners: What screens feedback and candidates, in order (`RulesScreener`,
            `ModelScreener`, custom `Screener`s); `None` follows the screeners the
            middleware recorded (workers), else the defaults (rules, then the model judge).
        gate: Evaluation gate candidates must pass (`None`: none).
        replay_agent: Where the gate finds the agent's model and tools when it was given
            none (the middleware hands over what its model calls saw).
        monitor: Online monitoring and auto-rollback policy; `None` follows the policy the
            middleware recorded in the store (workers), `Monitor()` if none is recorded.
        budget: Caps on the model calls and tokens optimizations spend (`None`: none; usage
            is recorded in the store's ledger either way).
        rollout: Canary rollout of accepted candidates; `None` follows the rollout the
            middleware recorded in the store (none if none is recorded).
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
    screeners: tuple[Screener, ...] | None = None
    gate: EvaluationGate | None = None
    replay_agent: Callable[[], tuple[BaseChatModel, Sequence[Any]] | None] | None = None
    monitor: Monitor | None = None
    budget: Budget | None = None
    rollout: Canary | None = None


@dataclass(frozen=True, slots=True)
class OptimizationOutcome:
    """What an optimization did.

    Attributes:
        user_id: The namespace's user id (`None`: the default namespace).
        status: `optimized` (at least one new version was appended, accepted or not),
            `unchanged` (the optimizer saw the batch and kept every prompt, e.g. an
            explicit "no update" answer; no version is appended), `over_budget` (the
            budget's window has no room: no model was called, the feedback stays pending
            for the next window; `error` says which cap), `rolled_back` (monitoring found
            the active version scoring worse than its parent: `versions` are the appended
            rollbacks, the batch was consumed without calling the optimizer),
            `no_feedback`, `busy` (another optimizer holds the namespace), `failed` (the
            optimizer raised; recorded), or `quarantined` (the feedback firewall quarantined
            every pending item; this status was `held` before the rename), or
            `canary_running` (a canary runs and the test has not decided: the feedback
            waits, its scores are the canary's evidence).
        versions: Appended versions by prompt name.
        feedback_ids: Feedback items this optimization consumed or attempted.
        error: The error text when `failed`.
        usage: The model calls and tokens of this optimization, every source together
            (`calls`, `input_tokens`, `output_tokens`, and `optimizer_calls`,
            `gate_calls`, `judge_calls` by source), on every path: also when it failed or
            changed nothing. Also recorded in the store's usage ledger
            (`PromptRegistry.budget_usage`). The model screener's share is also reported
            as `screening_calls`, `screening_input_tokens`, `screening_output_tokens`.
        quarantined: Feedback ids the firewall quarantined in this optimization, with the
            reason (also when other items of the batch were learned from).
        canary: The evidence of the canary this optimization judged (`CanaryEvidence.
            to_json()`: `decision` `promote`, `reject` or `continue`), else `None`.
    """

    user_id: str | None
    status: Literal[
        "optimized",
        "unchanged",
        "rolled_back",
        "no_feedback",
        "busy",
        "failed",
        "quarantined",
        "over_budget",
        "canary_running",
    ]
    versions: dict[str, PromptVersion] = field(default_factory=dict)
    feedback_ids: tuple[str, ...] = ()
    error: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, str] = field(default_factory=dict)
    canary: dict[str, Any] | None = None


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
    run = _Run(layout, owner, settings, holder)
    try:
        return (yield from charged(run, _optimize_leased(run, model, specs)))
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
    quarantined: dict[str, str] = field(default_factory=dict)
    """Feedback ids the firewall quarantined in this optimization, with the reason (filled by
    the screening phase; every outcome reports them)."""
    meter: UsageMeter = field(default_factory=UsageMeter)
    """Every model call of this optimization, by source (see `model_call`)."""
    reservations: list[UsageCharge] = field(default_factory=list)
    """The budget's reservation for this optimization, once made (at most one)."""

    def outcome(self, status: Any, **fields: Any) -> OptimizationOutcome:
        fields.setdefault("usage", self.meter.usage())
        return OptimizationOutcome(
            self.owner.user_id, status, quarantined=dict(self.quarantined), **fields
        )

    def model_call(self, call: Call[T], source: str) -> Job[T]:
        """Run a model call of this optimization: THE seam every model call goes through.

        The owner's lease is renewed while it runs, and every chat model call made inside
        it is counted on `meter` under `source` (`"optimizer"`, `"gate"`, `"judge"`, ...),
        also when it raises; the count is charged to the budget and recorded in the usage
        ledger when the optimization ends.
        """
        metered = MeteredCall(call, self.meter, source)
        return self.layout.renewing(self.owner, self.holder, self.settings.lease_seconds, metered)


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
    run: _Run, model: BaseChatModel, local_specs: dict[str, PromptSpec]
) -> Job[OptimizationOutcome]:
    layout, owner, settings = run.layout, run.owner, run.settings
    loaded = yield from _load_batch(run, local_specs)
    if loaded is None:
        return run.outcome("no_feedback")
    if not loaded.specs:
        return (yield from _fail_without_prompts(run, loaded.batch))
    active, _ = yield from layout.read_active(owner, list(loaded.specs))
    judged = yield from _judge_canary(run, active)
    if judged is not None:
        if judged.decision == "continue":
            return run.outcome("canary_running", canary=judged.to_json())
        # Decided: learn from the waiting feedback, starting from what is now active.
        after = yield from _optimize_leased(run, model, local_specs)
        return replace(after, canary=judged.to_json())
    served = {
        name: active[name].text if name in active else spec.prompt
        for name, spec in loaded.specs.items()
    }
    config = loaded.config
    firewall = settings.firewall or FeedbackFirewall.from_json(config.firewall)
    configured = settings.screeners
    if configured is None:
        configured = screeners_from_json(config.screeners)
    screeners = bound_screeners(configured, firewall, model)
    batch, quarantined_ids = yield from _screen_batch(run, screeners, loaded, served)
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
    sections = learned_sections(loaded.specs, targets.current, shared=private)
    payload = _build_payload(loaded, batch, targets, settings, private, sections)
    judges = sum(1 for s in screeners if not isinstance(s, RulesScreener))
    over = yield from reserve_for(run, payload, _attempts(settings), judges)
    if over is not None:
        return run.outcome("over_budget", feedback_ids=tuple(fb.id for fb in batch), error=over)
    results, error = yield from _call_optimizer(run, model, payload)
    base_texts = {name: loaded.specs[name].prompt for name in targets.names}
    if not results:
        return (yield from _record_failure(run, batch, targets, base_texts, error))
    policy = settings.policy or CandidatePolicy.from_json(config.policy)
    tools = _tools(settings, loaded)
    options = yield from _check_candidates(
        run, results, batch, targets, policy, screeners, tools, sections
    )
    gated = yield from select_candidates(run, loaded, batch, options, served, private)
    usage = {
        **_total_usage(run, results, attempts=_attempts(settings)),
        **screening_usage(options),
    }
    settled = _settle_feedback(batch, results, gated)
    return (yield from _commit(run, loaded, settled, targets, base_texts, gated, usage))


def _judge_canary(run: _Run, active: dict[str, ActivePrompt]) -> Job[CanaryEvidence | None]:
    """Phase 1b: while a canary runs, judge it (promote / reject when the test decides);
    `None` if none runs. A fault is logged and the canary keeps running (nothing else is
    committed while it runs)."""
    if not any(pointer.canary for pointer in active.values()):
        return None
    try:
        judged = yield from judge_running_canary(run.layout, run.owner, active)
    except Exception as exc:
        logger.exception("judging the canary of %r failed", run.owner.user_id)
        judged = CanaryEvidence.undecided(f"judging failed: {type(exc).__name__}: {exc}")
    return judged or CanaryEvidence.undecided("unreadable canary")


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
    run: _Run, screeners: Sequence[Screener], loaded: _Loaded, served: dict[str, str]
) -> Job[tuple[list[FeedbackItem], tuple[str, ...]]]:
    """Phase 2: quarantine the items a screener holds; the rest of the batch, and the ids
    quarantined."""
    batch = loaded.batch
    screened = FeedbackBatch(
        batch,
        loaded.trajectories,
        "\n".join(served.values()),
        run.settings.max_trajectory_chars,
        tools=_tools(run.settings, loaded),
    )
    held = yield from screen_feedback_batch(
        screeners, screened, keep_lease=lambda request: run.model_call(request, "judge")
    )
    if not held:
        return batch, ()
    caught = [(fb, held[fb.id]) for fb in batch if fb.id in held]
    yield from run.layout.quarantine_feedback(run.owner, caught)
    run.quarantined.update(held)
    return [fb for fb in batch if fb.id not in held], tuple(held)


def _tools(settings: RunSettings, loaded: _Loaded) -> frozenset[str]:
    """The agent's tool names, for the firewall: what its model calls saw (in process) and
    what its recorded runs called (workers)."""
    seen = settings.replay_agent() if settings.replay_agent is not None else None
    return tool_names(loaded.trajectories.values(), seen[1] if seen is not None else ())


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
    deltas: dict[str, PromptScores],
) -> Job[OptimizationOutcome | None]:
    """Phase 3: roll back regressed prompts (the outcome), or `None` to optimize. A fault in
    monitoring is logged and the optimization goes on without it."""
    try:
        regressions = yield from find_regressions(
            run.layout, run.owner, monitor, targets.active, deltas
        )
    except Exception:
        logger.exception("monitoring of %r failed; optimizing without it", run.owner.user_id)
        return None
    if not regressions:
        return None
    return (yield from auto_rollback(run, batch, regressions, deltas, targets.expected))


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
    sections: dict[str, LearnedSection],
) -> dict[str, Any]:
    """Phase 5: langmem's input: each item's run (recent messages, untrusted text quoted,
    personal data redacted when shared) with its feedback, and the prompts (of a prompt in
    learned-section mode, only its section, with the base as read-only context)."""
    budget = settings.max_trajectory_chars
    return {
        "trajectories": [
            (
                untrusted_recent_messages(
                    loaded.trajectories.get(fb.trajectory_id), budget, private
                ),
                feedback_for_langmem(fb, budget, private),
            )
            for fb in batch
        ],
        "prompts": [
            sections[name].payload(loaded.specs[name], targets.current[name])
            if name in sections
            else prompt_payload(loaded.specs[name], targets.current[name])
            for name in targets.names
        ],
    }


def _attempts(settings: RunSettings) -> int:
    return settings.gate.best_of if settings.gate is not None else 1


def _call_optimizer(
    run: _Run, model: BaseChatModel, payload: dict[str, Any]
) -> Job[tuple[list[OptimizerResult], str]]:
    """Phase 6: call langmem (`best_of` times with a gate); the results, and the last
    error (`""` if none raised)."""
    results: list[OptimizerResult] = []
    error = ""
    for _ in range(_attempts(run.settings)):
        try:
            optimizer = OptimizerCall(model, run.settings, payload)
            results.append((yield from run.model_call(optimizer, "optimizer")))
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
    """Every optimizer call raised: record a `failed` entry on each prompt's history (with
    the usage of the calls made before the error) and count an attempt on the batch (it
    stays pending)."""
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
        usage=run.meter.usage(),
        expected_latest=targets.expected,
    )
    yield from layout.mark_attempted(owner, batch, max_attempts=settings.max_attempts)
    return run.outcome("failed", versions=recorded or {}, feedback_ids=ids, error=error)


def _check_candidates(
    run: _Run,
    results: Sequence[OptimizerResult],
    batch: Sequence[FeedbackItem],
    targets: _Targets,
    policy: CandidatePolicy,
    screeners: Sequence[Screener],
    tools: frozenset[str],
    sections: dict[str, LearnedSection],
) -> Job[list[list[NewVersion]]]:
    """Phase 7: each optimizer result's changed prompts as candidates, checked against the
    policy (rejected with the reason) and screened (flagged with the reason; every verdict
    recorded). Model screeners run while the lease is renewed. A prompt in learned-section
    mode gets the answer spliced in as its section, and is checked and screened against its
    text with the section's frame, so only the content it adds counts."""
    texts = [feedback_text(fb) for fb in batch]

    def framed(texts_by_name: dict[str, str]) -> dict[str, str]:
        return {
            name: sections[name].baseline(text) if name in sections else text
            for name, text in texts_by_name.items()
        }

    current = framed(targets.current)
    options = [
        checked_candidates(r.prompts, current, policy, texts, sections=sections) for r in results
    ]

    def keep_lease(request: Call[Any]) -> Job[Any]:
        return run.model_call(request, "judge")

    return (
        yield from screen_candidate_options(
            screeners,
            options,
            framed(targets.served),
            texts,
            shared=run.owner == UserRef.global_lineage(),
            keep_lease=keep_lease,
            tools=tools,
        )
    )


def _total_usage(run: _Run, results: Sequence[OptimizerResult], *, attempts: int) -> dict[str, int]:
    """Every model call of the optimization so far (all sources), and how many best-of-k
    samples raised."""
    usage = run.meter.usage()
    if len(results) < attempts:
        usage["failed_calls"] = attempts - len(results)  # best-of-k: some samples raised
    return usage


@dataclass(frozen=True, slots=True)
class _Settled:
    """The batch after an optimization: items consumed, and items kept pending."""

    batch: list[FeedbackItem]
    consumed: list[FeedbackItem]
    retried: list[FeedbackItem]


def _settle_feedback(
    batch: list[FeedbackItem], results: Sequence[OptimizerResult], gated: Selection
) -> _Settled:
    """What becomes of each item. The optimizer saw the batch (a candidate, or a rewrite
    call that answered, "no update" included): every item is consumed. Credit assignment
    picked no prompt to change (no rewrite call ran) and nothing changed: items whose
    earlier attempts had failed were never seen by a working rewrite, so they stay pending
    (one more attempt counted); the others are consumed."""
    if gated.candidates or not results or not all(r.assigned_none for r in results):
        return _Settled(batch, list(batch), [])
    retried = [fb for fb in batch if fb.attempts > 0]
    return _Settled(batch, [fb for fb in batch if fb.attempts == 0], retried)


def _commit(
    run: _Run,
    loaded: _Loaded,
    settled: _Settled,
    targets: _Targets,
    base_texts: dict[str, str],
    gated: Selection,
    usage: dict[str, int],
) -> Job[OptimizationOutcome]:
    """Phase 9: append the candidates and consume the batch in one write (if the lease is
    still ours and no prompt moved), then prune runs beyond retention."""
    ids = tuple(fb.id for fb in settled.batch)
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
        feedback=settled.consumed,
        optimizer_kind=settings.kind,
        usage=usage,
        require_approval=require_approval,
        expected_latest=targets.expected,
        parents=targets.parents,
        feedback_ttl_minutes=(yield from consumed_feedback_ttl(settings)),
        new_examples=gated.new_examples,
        drop_examples=gated.drop_examples,
        score_deltas=score_deltas(settled.consumed),
        rollout=_rollout(settings, loaded.config),
    )
    if versions is None:
        return run.outcome("busy", feedback_ids=ids)
    if settled.retried:
        yield from layout.mark_attempted(owner, settled.retried, max_attempts=settings.max_attempts)
    yield from prune_after(layout, owner, settings, settled.batch)
    status: Literal["optimized", "unchanged"] = "optimized" if versions else "unchanged"
    return run.outcome(status, versions=versions, feedback_ids=ids, usage=usage)


def _rollout(settings: RunSettings, config: PromptConfig) -> dict[str, Any] | None:
    """The canary policy accepted candidates start under (`None`: they go live at once)."""
    rollout = settings.rollout or Canary.from_json(config.canary)
    return rollout.to_json() if rollout is not None else None


def _only_prompts(batch: Sequence[FeedbackItem]) -> set[str] | None:
    """The prompts a batch concerns when every item is restricted (carried feedback)."""
    if not batch or any(fb.only_prompts is None for fb in batch):
        return None
    return {name for fb in batch for name in fb.only_prompts or ()}
