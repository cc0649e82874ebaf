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
from langchain_prompt_optimization.stores.io import SupportsTTL

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_core.language_models import BaseChatModel
    from langchain_core.outputs import LLMResult
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores import ActivePrompt, Job

__all__ = [
    "KINDS",
    "OptimizationOutcome",
    "OptimizerCall",
    "OptimizerSettings",
    "UsageCounter",
    "optimize_user",
]

logger = logging.getLogger(__name__)

OptimizerKind = Literal["gradient", "metaprompt", "prompt_memory"]
KINDS: tuple[str, ...] = ("gradient", "metaprompt", "prompt_memory")


@dataclass(frozen=True, slots=True)
class OptimizerSettings:
    """How optimizations run.

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
            optimizer raised; recorded), or `held` (the feedback firewall held every
            pending item for review).
        versions: Appended versions by prompt name.
        feedback_ids: Feedback items this optimization consumed or attempted.
        error: The error text when `failed`.
        usage: The optimizer's model calls and tokens in this optimization (also when no
            prompt changed, so nothing was stored).
    """

    user_id: str | None
    status: Literal[
        "optimized", "unchanged", "rolled_back", "no_feedback", "busy", "failed", "held"
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


@dataclass(frozen=True, slots=True)
class OptimizerCall:
    """A request to run langmem's multi-prompt optimizer (sync `invoke` / async `ainvoke`).

    The call runs in its own config context: tagged internal, with only our usage counter
    as callback, so it never streams into the user's run.
    """

    model: BaseChatModel
    settings: OptimizerSettings
    payload: dict[str, Any]

    def _config(self, counter: UsageCounter) -> Any:
        return {
            "callbacks": [counter],
            "metadata": {"lc_source": "prompt_optimization", **internal_call_metadata()},
            "tags": ["prompt_optimization"],
        }

    def _optimizer(self) -> Any:
        return create_multi_prompt_optimizer(
            self.model, kind=self.settings.kind, config=self.settings.config
        )

    def run(self, store: BaseStore) -> tuple[list[dict[str, Any]], dict[str, int]]:
        counter = UsageCounter()
        optimizer = self._optimizer()
        with set_config_context(self._config(counter)) as ctx:
            result = ctx.run(optimizer.invoke, self.payload)
        return list(result), counter.as_dict()

    async def arun(self, store: BaseStore) -> tuple[list[dict[str, Any]], dict[str, int]]:
        counter = UsageCounter()
        optimizer = self._optimizer()
        with set_config_context(self._config(counter)) as ctx:
            result = await asyncio.create_task(optimizer.ainvoke(self.payload), context=ctx)
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
    settings: OptimizerSettings,
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


def _optimize_leased(
    layout: StoreLayout,
    owner: UserRef,
    model: BaseChatModel,
    local_specs: dict[str, PromptSpec],
    settings: OptimizerSettings,
    holder: str,
) -> Job[OptimizationOutcome]:
    pending = yield from layout.pending_feedback(owner)
    if not pending:
        return OptimizationOutcome(owner.user_id, "no_feedback")
    batch = pending[: settings.max_feedback]
    trajectories = yield from layout.load_trajectories(batch)
    config = yield from layout.read_config()
    specs = {**config.specs, **local_specs}
    require_approval = (
        config.require_approval if settings.require_approval is None else settings.require_approval
    )
    if not specs:
        ids = tuple(fb.id for fb in batch)
        msg = "no prompt is known for this namespace yet: run the agent once first"
        if (yield from layout.renew_lease(owner, holder, settings.lease_seconds)):
            yield from layout.mark_attempted(owner, batch, max_attempts=settings.max_attempts)
        return OptimizationOutcome(owner.user_id, "failed", feedback_ids=ids, error=msg)
    active, _ = yield from layout.read_active(owner, list(specs))
    served = {name: active[name].text if name in active else specs[name].prompt for name in specs}
    policy = settings.policy or CandidatePolicy.from_json(config.policy)
    configured = settings.firewall or FeedbackFirewall.from_json(config.firewall)
    firewall = configured if configured.enabled else None
    if firewall is not None:
        held = _screen_inputs(firewall, batch, trajectories, "\n".join(served.values()))
        if held:
            yield from layout.hold_feedback(owner, held)
            held_ids = {fb.id for fb, _ in held}
            batch = [fb for fb in batch if fb.id not in held_ids]
            if not batch:
                return OptimizationOutcome(owner.user_id, "held", feedback_ids=tuple(held_ids))
    ids = tuple(fb.id for fb in batch)
    names = list(specs)
    restricted = _only_prompts(batch)
    if restricted is not None:
        names = [name for name in names if name in restricted] or names
    active = {name: state for name, state in active.items() if name in names}
    expected = {name: active[name].latest if name in active else 0 for name in names}
    deltas = score_deltas(batch)
    monitor = settings.monitor or Monitor.from_json(config.monitor)
    if monitor.enabled and active:
        try:
            regressions = yield from _regressions(layout, owner, monitor, active, deltas)
        except Exception:
            logger.exception("monitoring of %r failed; optimizing without it", owner.user_id)
            regressions = []
        if regressions:
            return (
                yield from _auto_rollback(
                    layout, owner, settings, holder, batch, regressions, deltas, expected
                )
            )
    heads = yield from layout.pending_heads(owner, active)
    current = {name: served[name] for name in names}
    current.update({name: text for name, (_, text) in heads.items()})
    parents = {name: number for name, (number, _) in heads.items()}
    base_texts = {name: specs[name].prompt for name in names}
    private = owner == UserRef.global_lineage()
    payload = {
        "trajectories": [
            (
                _recent_messages(
                    _untrusted(trajectories.get(fb.trajectory_id), private),
                    settings.max_trajectory_chars,
                ),
                _feedback_for_langmem(fb, settings.max_trajectory_chars, private),
            )
            for fb in batch
        ],
        "prompts": [_prompt_payload(specs[name], current[name]) for name in names],
    }
    gate = settings.gate
    results: list[tuple[list[dict[str, Any]], dict[str, int]]] = []
    error = ""
    attempts = gate.best_of if gate is not None else 1
    for _ in range(attempts):
        try:
            results.append((yield OptimizerCall(model, settings, payload)))
        except Exception as exc:
            error = f"optimizer raised {type(exc).__name__}: {exc}"
            logger.warning("optimization of %r failed: %s", owner.user_id, error)
    if not results:
        if not (yield from layout.renew_lease(owner, holder, settings.lease_seconds)):
            return OptimizationOutcome(owner.user_id, "busy", feedback_ids=ids, error=error)
        failed = [NewVersion(name, "", "failed", error) for name in names]
        recorded = yield from layout.commit_optimization(
            owner,
            base_texts=base_texts,
            candidates=failed,
            feedback=(),
            optimizer_kind=settings.kind,
            usage={},
            expected_latest=expected,
        )
        yield from layout.mark_attempted(owner, batch, max_attempts=settings.max_attempts)
        return OptimizationOutcome(owner.user_id, "failed", recorded or {}, ids, error)
    texts = [_feedback_text(fb) for fb in batch]
    options = [
        _screen_candidates(_candidates(result, current, policy, texts), served, firewall, private)
        for result, _ in results
    ]
    usage = {
        key: sum(u.get(key, 0) for _, u in results)
        for key in ("calls", "input_tokens", "output_tokens")
    }
    if len(results) < attempts:
        usage["failed_calls"] = attempts - len(results)  # best-of-k: some samples raised
    new_examples: list[Example] = []
    drop_examples: list[str] = []
    candidates = options[0]
    if gate is not None:
        stored = yield from layout.examples(owner)
        new_examples = _positive_examples(gate, batch, trajectories, private)
        fresh = {e.id for e in new_examples}
        examples = [*new_examples, *(e for e in stored if e.id not in fresh)]
        kept = {e.id for e in examples[: gate.max_examples]}
        new_examples = [e for e in new_examples if e.id in kept]
        drop_examples = [e.id for e in stored if e.id not in kept and e.id not in fresh]
        candidates = yield from _gated(
            gate,
            settings,
            options,
            served.get(config.system_prompt),
            config.system_prompt,
            examples[: gate.max_examples],
        )
    if not (yield from layout.renew_lease(owner, holder, settings.lease_seconds)):
        logger.warning("lost the lease of %r during the optimization; not committing", owner)
        return OptimizationOutcome(owner.user_id, "busy", feedback_ids=ids)
    versions = yield from layout.commit_optimization(
        owner,
        base_texts=base_texts,
        candidates=candidates,
        feedback=batch,
        optimizer_kind=settings.kind,
        usage=usage,
        require_approval=require_approval,
        expected_latest=expected,
        parents=parents,
        feedback_ttl_minutes=(
            settings.retention.consumed_feedback_ttl_minutes if (yield SupportsTTL()) else None
        ),
        new_examples=new_examples,
        drop_examples=drop_examples,
        score_deltas=deltas,
    )
    if versions is None:
        return OptimizationOutcome(owner.user_id, "busy", feedback_ids=ids)
    yield from _prune_after(layout, owner, settings, batch)
    status: Literal["optimized", "unchanged"] = "optimized" if versions else "unchanged"
    return OptimizationOutcome(owner.user_id, status, versions, ids, usage=usage)


def _prune_after(
    layout: StoreLayout, owner: UserRef, settings: OptimizerSettings, batch: Sequence[FeedbackItem]
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
    settings: OptimizerSettings,
    holder: str,
    batch: Sequence[FeedbackItem],
    regressions: Sequence[Regression],
    deltas: dict[str, VersionScores],
    expected: dict[str, int],
) -> Job[OptimizationOutcome]:
    """Roll regressed prompts back to their parent and hold them, consuming the batch
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
        feedback_ttl_minutes=(
            settings.retention.consumed_feedback_ttl_minutes if (yield SupportsTTL()) else None
        ),
    )
    if versions is None:
        return OptimizationOutcome(owner.user_id, "busy", feedback_ids=ids)
    for regression in regressions:
        logger.warning(
            "prompt %r of %r: %s (new version v%s, lineage held for review)",
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
    held: list[tuple[FeedbackItem, str]] = []
    for fb in batch:
        if fb.trusted:
            continue
        findings = firewall.screen_feedback(_feedback_text(fb), known_text=known)
        run = trajectories.get(fb.trajectory_id)
        if not findings and run is not None:
            findings = firewall.screen_trajectory(_untrusted_text(run))
        if findings:
            held.append((fb, firewall.hold_reason(findings)))
    return held


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
    """Hold accepted candidates whose added text the firewall flags or that add personal
    data to a shared (global) prompt. Held versions are `pending` whatever the approval
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
                        f"held: the candidate adds personal data ({kinds}) to a prompt shared by "
                        "all users"
                    )
        reason = "; ".join(reasons) or None
        if reason is None:
            out.append(cand)
        else:
            out.append(replace(cand, outcome="pending", reason=reason, hold=reason))
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
    settings: OptimizerSettings,
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
        reason = f"held by the evaluation gate: {note}"
        scores = {"examples": len(examples), "method": method}
        return _with_system(options[0], system, "pending", reason, scores, hold=reason)
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
        result = yield GateCall(
            gate, agent[0], tuple(agent[1] or ()), active_text, unique, tuple(examples)
        )
    except Exception as exc:
        reason = f"held: the evaluation gate failed ({type(exc).__name__}: {exc})"
        logger.warning("evaluation gate failed: %s", reason)
        return _with_system(options[0], system, "pending", reason, None, hold=reason)
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
    hold: str | None = None,
) -> list[NewVersion]:
    out = []
    for cand in option:
        if cand.prompt == system and cand.outcome == "accepted":
            cand = replace(
                cand, outcome=outcome, reason=reason or cand.reason, scores=scores, hold=hold
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
