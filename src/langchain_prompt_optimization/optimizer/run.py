"""One optimization of one user namespace: lease, load, langmem, checks, commit."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
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
from langchain_prompt_optimization.optimizer.monitor import (
    Monitor,
    Regression,
    VersionScores,
    find_regression,
    merged,
    score_deltas,
)
from langchain_prompt_optimization.stores import (
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
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel
    from langchain_core.outputs import LLMResult
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.stores import ActivePrompt, Job

__all__ = [
    "KINDS",
    "OptimizationOutcome",
    "OptimizerCall",
    "OptimizerSettings",
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
        policy: Budgets candidates must respect (size, growth, retention of lines).
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
    policy: CandidatePolicy = field(default_factory=CandidatePolicy)
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
            `no_feedback`, `busy` (another optimizer holds the namespace), or `failed`
            (the optimizer raised; recorded).
        versions: Appended versions by prompt name.
        feedback_ids: Feedback items this optimization consumed or attempted.
        error: The error text when `failed`.
    """

    user_id: str | None
    status: Literal["optimized", "unchanged", "rolled_back", "no_feedback", "busy", "failed"]
    versions: dict[str, PromptVersion] = field(default_factory=dict)
    feedback_ids: tuple[str, ...] = ()
    error: str | None = None


class _UsageCounter(BaseCallbackHandler):
    """Counts the optimizer's model calls and the tokens they report."""

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

    def _config(self, counter: _UsageCounter) -> Any:
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
        counter = _UsageCounter()
        optimizer = self._optimizer()
        with set_config_context(self._config(counter)) as ctx:
            result = ctx.run(optimizer.invoke, self.payload)
        return list(result), counter.as_dict()

    async def arun(self, store: BaseStore) -> tuple[list[dict[str, Any]], dict[str, int]]:
        counter = _UsageCounter()
        optimizer = self._optimizer()
        with set_config_context(self._config(counter)) as ctx:
            result = await asyncio.create_task(optimizer.ainvoke(self.payload), context=ctx)
        return list(result), counter.as_dict()


def _feedback_for_langmem(item: FeedbackItem, budget: int) -> str | dict[str, Any]:
    feedback: str | dict[str, Any] = (
        _clip(item.feedback, budget)
        if isinstance(item.feedback, str)
        else {k: _clip(v, budget) if isinstance(v, str) else v for k, v in item.feedback.items()}
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
    ids = tuple(fb.id for fb in batch)
    trajectories = yield from layout.load_trajectories(batch)
    config = yield from layout.read_config()
    specs = {**config.specs, **local_specs}
    require_approval = (
        config.require_approval if settings.require_approval is None else settings.require_approval
    )
    if not specs:
        msg = "no prompt is known for this namespace yet: run the agent once first"
        if (yield from layout.renew_lease(owner, holder, settings.lease_seconds)):
            yield from layout.mark_attempted(owner, batch, max_attempts=settings.max_attempts)
        return OptimizationOutcome(owner.user_id, "failed", feedback_ids=ids, error=msg)
    names = list(specs)
    restricted = _only_prompts(batch)
    if restricted is not None:
        names = [name for name in names if name in restricted] or names
    active, _ = yield from layout.read_active(owner, names)
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
    current = {name: active[name].text if name in active else specs[name].prompt for name in names}
    current.update({name: text for name, (_, text) in heads.items()})
    parents = {name: number for name, (number, _) in heads.items()}
    base_texts = {name: specs[name].prompt for name in names}
    payload = {
        "trajectories": [
            (
                _recent_messages(trajectories.get(fb.trajectory_id), settings.max_trajectory_chars),
                _feedback_for_langmem(fb, settings.max_trajectory_chars),
            )
            for fb in batch
        ],
        "prompts": [_prompt_payload(specs[name], current[name]) for name in names],
    }
    try:
        result, usage = yield OptimizerCall(model, settings, payload)
    except Exception as exc:
        error = f"optimizer raised {type(exc).__name__}: {exc}"
        logger.warning("optimization of %r failed: %s", owner.user_id, error)
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
    texts = [fb.feedback if isinstance(fb.feedback, str) else str(fb.feedback) for fb in batch]
    candidates = _candidates(result, current, settings.policy, texts)
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
        score_deltas=deltas,
    )
    if versions is None:
        return OptimizationOutcome(owner.user_id, "busy", feedback_ids=ids)
    yield from _prune_after(layout, owner, settings, batch)
    status: Literal["optimized", "unchanged"] = "optimized" if versions else "unchanged"
    return OptimizationOutcome(owner.user_id, status, versions, ids)


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
    names = list(active)
    heads = yield from layout.read_version_records(
        owner, [(name, active[name].version) for name in names]
    )
    stored = yield from layout.read_scores(owner, names)
    found: list[Regression] = []
    for name in names:
        head = heads.get((name, active[name].version))
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
