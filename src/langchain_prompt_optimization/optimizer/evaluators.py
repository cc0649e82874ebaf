"""Evaluators as feedback sources: agentevals-style evaluators score sampled runs as feedback."""

from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import inspect
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.messages import HumanMessage
from langchain_core.messages.utils import convert_to_openai_messages
from langchain_core.runnables.config import set_config_context

from langchain_prompt_optimization import limits
from langchain_prompt_optimization.optimizer.budget import (
    EVALUATION_STATUS,
    charge_usage,
    estimate_evaluation,
    reserve_budget,
)
from langchain_prompt_optimization.optimizer.gate import _run_coroutine
from langchain_prompt_optimization.optimizer.metering import MeteredCall, UsageMeter
from langchain_prompt_optimization.stores import FeedbackItem, messages_from_json
from langchain_prompt_optimization.stores.io import Call, call
from langchain_prompt_optimization.stores.records import EVALUATOR_SOURCE

if TYPE_CHECKING:
    from langchain_prompt_optimization.optimizer.budget import Budget
    from langchain_prompt_optimization.stores import (
        Example,
        Job,
        StoreLayout,
        TrajectoryRecord,
        UsageCharge,
        UserRef,
    )

__all__ = [
    "EvaluationReport",
    "Evaluator",
    "EvaluatorCall",
    "EvaluatorSettings",
    "Verdict",
    "evaluate_run",
    "evaluator_feedback_id",
    "reference_for",
    "verdicts",
]

logger = logging.getLogger(__name__)

Evaluator = Callable[..., Any]
"""`evaluator(*, outputs, reference_outputs=...) -> bool | number | {"key", "score",
"comment"} | list of them` (sync or async), as agentevals' evaluators are."""

_MAX_COMMENT = limits.MAX_FEEDBACK_SIZE // 2
"""Longest evaluator comment stored (a longer one keeps its head, marked as cut)."""


@dataclass(frozen=True, slots=True)
class EvaluatorSettings:
    """Evaluators that score a sampled share of runs; each verdict is stored as feedback.

    Give it as `PromptOptimizationMiddleware(evaluators=...)` (the app evaluates in the
    background, after the run is recorded) or `PromptWorker(evaluators=...)` (workers
    evaluate the runs apps queued with `queue_for_workers=True`). A plain list of
    evaluators is short for `EvaluatorSettings(evaluators=[...])`.

    Each evaluator is called as agentevals' trajectory evaluators are:
    `evaluator(outputs=<the run's messages as OpenAI-format dicts>)`, plus
    `reference_outputs=<the example's messages>` when the lineage has an example (see
    `add_example`) whose first human message is the run's. It returns a bool, a number, or
    agentevals' `{"key", "score", "comment"}` (or a list of them); async evaluators are
    awaited. Each verdict becomes a feedback item on the run with
    `source="evaluator:<key>"` (the result's `key`, else the evaluator's name), its score
    (a bool is 1.0 / 0.0) and its comment as the text. An evaluator that raises is logged
    and counted; the run it scores has already been answered.

    Attributes:
        evaluators: The evaluators: a list (named after each function; agentevals' keys name
            their verdicts), or a `{name: evaluator}` dict.
        evaluation_rate: Share of runs evaluated, in [0, 1]. The sample is decided by the
            run's trajectory id (a hash), so a retried run is sampled the same way, and an
            evaluation already stored is never repeated.
        queue_for_workers: Middleware only: do not evaluate in the app; queue the sampled runs
            in the run's own store write for `PromptWorker(evaluators=...)` (give the
            evaluators to the workers, not here).

    Raises:
        TypeError: If an evaluator is not callable, or a field has the wrong type.
        ValueError: If `evaluation_rate` is not within [0, 1], a name is empty, or there
            are no evaluators (unless `queue_for_workers`), or evaluators are given
            with `queue_for_workers`.

    Example:
        ```python
        from agentevals.trajectory.llm import create_trajectory_llm_as_judge

        judge = create_trajectory_llm_as_judge(model="openai:o3-mini", continuous=True)
        PromptOptimizationMiddleware(
            evaluators=EvaluatorSettings(evaluators=[judge], evaluation_rate=0.2)
        )
        ```
    """

    evaluators: Sequence[Evaluator] | Mapping[str, Evaluator] = ()
    evaluation_rate: float = 1.0
    queue_for_workers: bool = False
    named: tuple[tuple[str, Evaluator], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        named = _named_evaluators(self.evaluators)
        object.__setattr__(self, "named", named)
        if not isinstance(self.evaluators, Mapping):
            object.__setattr__(self, "evaluators", tuple(fn for _, fn in named))
        object.__setattr__(self, "evaluation_rate", _check_rate(self.evaluation_rate))
        if not isinstance(self.queue_for_workers, bool):
            given = self.queue_for_workers
            msg = f"EvaluatorSettings.queue_for_workers must be a bool; got {given!r}"
            raise TypeError(msg)
        if self.queue_for_workers and self.named:
            msg = (
                "EvaluatorSettings(queue_for_workers=True) queues runs for the workers' "
                "evaluators: give the evaluators to PromptWorker(evaluators=...), not here"
            )
            raise ValueError(msg)
        if not self.queue_for_workers and not self.named:
            msg = "EvaluatorSettings needs at least one evaluator (or queue_for_workers=True)"
            raise ValueError(msg)

    @property
    def names(self) -> tuple[str, ...]:
        """The evaluators' names, in order."""
        return tuple(name for name, _ in self.named)

    def sampled(self, trajectory_id: str) -> bool:
        """Whether the run is in the evaluated sample (decided by its id alone)."""
        if self.evaluation_rate >= 1.0:
            return True
        if self.evaluation_rate <= 0.0:
            return False
        digest = hashlib.sha256(trajectory_id.encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.evaluation_rate

    @classmethod
    def from_setting(
        cls, value: EvaluatorSettings | Sequence[Evaluator] | Mapping[str, Evaluator] | None
    ) -> EvaluatorSettings | None:
        """The settings an `evaluators=` argument asks for (`None` or an empty list: none).

        Raises:
            TypeError: If `value` is not settings, a list or a dict of evaluators.
            ValueError: As `EvaluatorSettings` does.
        """
        if value is None or isinstance(value, EvaluatorSettings):
            return value
        if callable(value) or isinstance(value, str | bytes):
            msg = (
                "evaluators must be a list of evaluators (or EvaluatorSettings); got one "
                f"{type(value).__name__}: wrap it in a list"
            )
            raise TypeError(msg)
        if not isinstance(value, Sequence | Mapping):
            msg = f"evaluators must be a list of evaluators; got {type(value).__name__}"
            raise TypeError(msg)
        return cls(evaluators=value) if value else None


def _check_rate(rate: object) -> float:
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        msg = f"EvaluatorSettings.evaluation_rate must be a number in [0, 1]; got {rate!r}"
        raise TypeError(msg)
    number = float(rate)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        msg = f"EvaluatorSettings.evaluation_rate must be within [0, 1]; got {rate!r}"
        raise ValueError(msg)
    return number


def _named_evaluators(
    evaluators: Sequence[Evaluator] | Mapping[str, Evaluator],
) -> tuple[tuple[str, Evaluator], ...]:
    if isinstance(evaluators, Mapping):
        pairs = list(evaluators.items())
        for name, _ in pairs:
            if not isinstance(name, str) or not name.strip():
                msg = f"an evaluator's name must be a non-empty str; got {name!r}"
                raise ValueError(msg)
    elif isinstance(evaluators, Sequence) and not isinstance(evaluators, str | bytes):
        pairs = [(_evaluator_name(fn, index), fn) for index, fn in enumerate(evaluators)]
    else:
        msg = f"evaluators must be a list or a dict of evaluators; got {type(evaluators).__name__}"
        raise TypeError(msg)
    seen: set[str] = set()
    named = []
    for index, (name, fn) in enumerate(pairs):
        if not callable(fn):
            msg = f"evaluator {name!r} must be callable; got {type(fn).__name__}"
            raise TypeError(msg)
        if name in seen:  # two functions of one name in a list (dict keys are unique)
            name = f"{name}_{index + 1}"
        seen.add(name)
        named.append((name, fn))
    return tuple(named)


def _evaluator_name(fn: object, index: int) -> str:
    """A function's own name; `evaluator_<n>` for a lambda or a private helper (agentevals'
    evaluators are `_wrapped_evaluator`: their verdicts are named by their `key`)."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    name = getattr(target, "__name__", None) or type(target).__name__
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        return f"evaluator_{index + 1}"
    return name


# -- verdicts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """One score an evaluator gave a run."""

    key: str
    score: float
    comment: str | None

    @property
    def source(self) -> str:
        """The feedback source it is stored under: `"evaluator:<key>"`."""
        return f"{EVALUATOR_SOURCE}{self.key}"

    def feedback_text(self) -> str:
        """The feedback text: the comment (cut to `_MAX_COMMENT`), else the bare score."""
        if self.comment is None:
            return f"{self.key}: score {self.score:g} (the evaluator gave no comment)"
        if len(self.comment) > _MAX_COMMENT:
            cut = len(self.comment) - _MAX_COMMENT
            return f"{self.comment[:_MAX_COMMENT]}\n[... {cut} characters cut ...]"
        return self.comment


def _score(value: object, key: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int) and not limits.fits_float(value):
        msg = f"evaluator {key!r}: score does not fit a float"
        raise ValueError(msg)
    if isinstance(value, int | float):
        number = float(value)
        if math.isfinite(number):
            return number
        msg = f"evaluator {key!r}: score must be finite; got {value!r}"
        raise ValueError(msg)
    msg = f"evaluator {key!r}: score must be a bool or a number; got {type(value).__name__}"
    raise TypeError(msg)


def verdicts(result: object, name: str) -> list[Verdict]:
    """An evaluator's result as verdicts: a bool, a number, a `{"key", "score", "comment"}`
    dict, or a list of these (`name` names those without a key).

    Raises:
        TypeError: On any other shape, or a score that is not a bool or a number.
        ValueError: On an empty list or a non-finite score.
    """
    results = list(result) if isinstance(result, list | tuple) else [result]
    if not results:
        msg = f"evaluator {name!r} returned no result"
        raise ValueError(msg)
    found = []
    for entry in results:
        if isinstance(entry, Mapping):
            raw_key = entry.get("key")
            key = raw_key if isinstance(raw_key, str) and raw_key.strip() else name
            if "score" not in entry:
                msg = f"evaluator {name!r} returned a dict without 'score': {sorted(entry)}"
                raise TypeError(msg)
            comment = entry.get("comment")
            text = comment if isinstance(comment, str) and comment.strip() else None
            found.append(Verdict(key, _score(entry["score"], key), text))
        else:
            found.append(Verdict(name, _score(entry, name), None))
    return found


def evaluator_feedback_id(trajectory_id: str, evaluator: str, index: int) -> str:
    """The feedback id of an evaluator's `index`-th verdict on a run (32 hex digits, like
    other feedback ids): derived from both, so an evaluation stored twice is one record."""
    raw = f"evaluator\x00{trajectory_id}\x00{evaluator}\x00{index}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:32]


# -- the evaluation of one run -------------------------------------------------------------------


def openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored messages as OpenAI-format dicts (what agentevals' evaluators read)."""
    return list(convert_to_openai_messages(messages_from_json(messages)))


def _first_human(messages: list[dict[str, Any]]) -> str | None:
    for message in messages_from_json(messages):
        if isinstance(message, HumanMessage):
            return message.text.strip()
    return None


def reference_for(record: TrajectoryRecord, examples: Sequence[Example]) -> Example | None:
    """The lineage's example for this run: the newest whose first human message is the run's
    (an example taken from this very run is not its own reference)."""
    asked = _first_human(record.messages)
    if asked is None:
        return None
    for example in examples:
        if example.trajectory_id != record.id and _first_human(example.messages) == asked:
            return example
    return None


def _internal_config() -> Any:
    return {"callbacks": [], "tags": ["prompt_optimization", "evaluator"]}


def _is_async(fn: Evaluator) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an instance's async __call__
    )


@dataclass(frozen=True, slots=True)
class EvaluatorCall(Call[Any]):
    """One evaluator's call on one run. `run` calls it (an async evaluator's coroutine is
    run to completion); `arun` awaits an async evaluator and runs a sync one in a thread, so
    the event loop never blocks on a judge's model call."""

    evaluator: Evaluator
    kwargs: dict[str, Any]

    def _arguments(self) -> dict[str, Any]:
        return copy.deepcopy(self.kwargs)  # agentevals normalizes the dicts it is given in place

    def run(self) -> Any:
        """Call the evaluator with blocking calls."""
        with set_config_context(_internal_config()) as ctx:
            result = ctx.run(lambda: self.evaluator(**self._arguments()))
        return _run_coroutine(result)

    async def arun(self) -> Any:
        """Await the evaluator (a sync one runs in a worker thread)."""
        with set_config_context(_internal_config()) as ctx:
            if _is_async(self.evaluator):
                task = asyncio.create_task(self.evaluator(**self._arguments()), context=ctx)
                return await task
            bound = functools.partial(self.evaluator, **self._arguments())
            result = await asyncio.to_thread(ctx.run, bound)
        if inspect.isawaitable(result):
            return await result
        return result


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """What evaluating one run did.

    Attributes:
        trajectory_id: The run.
        stored: Feedback items stored now.
        errors: `"<evaluator>: <error>"` for each evaluator that failed.
        skipped: Evaluators not called: their verdict on this run is already stored.
        over_budget: Evaluators not called: the budget's window is spent (`budget=`).
        usage: What the evaluators' model calls spent (`calls`, tokens, `evaluator_calls`).
    """

    trajectory_id: str
    stored: tuple[FeedbackItem, ...] = ()
    errors: tuple[str, ...] = ()
    skipped: int = 0
    over_budget: int = 0
    usage: dict[str, int] = field(default_factory=dict)


def evaluate_run(
    layout: StoreLayout,
    settings: EvaluatorSettings,
    user: UserRef,
    owner: UserRef,
    record: TrajectoryRecord,
    *,
    mark_pending: bool,
    keep_run: bool = False,
    budget: Budget | None = None,
) -> Job[EvaluationReport]:
    """Call each evaluator on a run and store its verdicts as feedback (idempotent).

    Evaluators whose first verdict on this run is stored already are not called again. A
    failing evaluator is logged and reported in `errors`; the others still run. Every
    model call the evaluators make (an LLM-as-judge's) is metered and charged to the usage
    ledger of `owner` (source `evaluator`), like an optimization's; with a `budget`, its
    estimate is reserved first and, when the window is spent, no evaluator is called
    (`over_budget`).

    Args:
        layout: The store layout.
        settings: The evaluators.
        user: Who ran it.
        owner: The lineage owner the feedback feeds.
        record: The run.
        mark_pending: Mark the owner in the pending-work index (workers optimize it).
        keep_run: Trajectories expire (a TTL): write the run again, without one, with its
            first stored verdict, so it cannot expire while its feedback waits.
        budget: Caps the evaluators' model calls share with the owner's optimizations.
    """
    first = {name: evaluator_feedback_id(record.id, name, 0) for name in settings.names}
    done = yield from layout.stored_feedback_ids(owner, list(first.values()))
    todo = [(name, fn) for name, fn in settings.named if first[name] not in done]
    if not todo:
        return EvaluationReport(record.id, skipped=len(first))
    examples = yield from layout.examples(owner)
    reference = reference_for(record, examples)
    kwargs: dict[str, Any] = {"outputs": openai_messages(record.messages)}
    if reference is not None:
        kwargs["reference_outputs"] = openai_messages(reference.messages)
    reservation: UsageCharge | None = None
    if budget is not None:
        estimate = estimate_evaluation(kwargs["outputs"], len(todo))
        reservation, reason = yield from reserve_budget(
            layout, budget, owner, estimate, EVALUATION_STATUS
        )
        if reason is not None:
            logger.info("evaluation of run %s skipped: %s", record.id, reason)
            return EvaluationReport(
                record.id, skipped=len(first) - len(todo), over_budget=len(todo)
            )
    meter = UsageMeter()
    try:
        stored, errors = yield from _judge(
            layout, todo, kwargs, meter, user, owner, record, mark_pending, keep_run
        )
    except Exception:
        yield from _charge_evaluation(layout, owner, reservation, meter)
        raise
    yield from _charge_evaluation(layout, owner, reservation, meter)
    return EvaluationReport(
        record.id,
        stored=tuple(stored),
        errors=tuple(errors),
        skipped=len(first) - len(todo),
        usage=meter.usage(),
    )


def _judge(
    layout: StoreLayout,
    todo: list[tuple[str, Evaluator]],
    kwargs: dict[str, Any],
    meter: UsageMeter,
    user: UserRef,
    owner: UserRef,
    record: TrajectoryRecord,
    mark_pending: bool,
    keep_run: bool,
) -> Job[tuple[list[FeedbackItem], list[str]]]:
    """Call the evaluators (metered) and store their verdicts."""
    stored: list[FeedbackItem] = []
    errors: list[str] = []
    for name, evaluator in todo:
        try:
            result = yield from call(
                MeteredCall(EvaluatorCall(evaluator, kwargs), meter, "evaluator")
            )
            found = verdicts(result, name)
        except Exception as exc:
            logger.warning(
                "evaluator %r failed on run %s (%s: %s); the run is not affected",
                name,
                record.id,
                type(exc).__name__,
                exc,
            )
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        for index, verdict in enumerate(found):
            item = FeedbackItem.new(
                record.id,
                verdict.feedback_text(),
                verdict.score,
                source=verdict.source,
                user_id=user.user_id,
                user_label=user.label,
                prompt_versions=record.prompt_versions,
                feedback_id=evaluator_feedback_id(record.id, name, index),
            )
            kept = record if keep_run and not stored else None
            if (
                yield from layout.put_feedback_once(
                    owner, item, mark_pending=mark_pending, keep_run=kept
                )
            ):
                stored.append(item)
    return stored, errors


def _charge_evaluation(
    layout: StoreLayout, owner: UserRef, reservation: UsageCharge | None, meter: UsageMeter
) -> Job[None]:
    """Record what the evaluators' model calls spent (replacing the reservation; one that
    called no model is withdrawn). A store fault here is logged: the verdicts stand."""
    usage = meter.usage()
    try:
        if reservation is not None and not usage["calls"]:
            yield from layout.delete_usage_charge(reservation)
        else:
            yield from charge_usage(layout, owner, reservation, usage, EVALUATION_STATUS)
    except Exception:
        logger.warning("could not record the evaluators' usage of %r", owner.label, exc_info=True)
