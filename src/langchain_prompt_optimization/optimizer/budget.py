"""Budgets: caps on the model calls and tokens optimizations spend per user, lineage or all.

The spend is read from the usage ledger in the store (`stores.usage`), so every process
sharing the store enforces one budget. Before an optimization's first model call its
estimate is reserved (a `reserved` record); the window's usage, re-read after the write,
must still fit, otherwise the reservation is withdrawn and the optimization is deferred
(`over_budget`: its feedback stays pending for the next window). When it ends, the
reservation is replaced by what was counted.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from langchain_prompt_optimization.optimizer.metering import USAGE_KEYS, usage_tokens
from langchain_prompt_optimization.stores import UsageCharge, UsageWindow, UserRef, parse_window
from langchain_prompt_optimization.stores.io import sleep

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome, _Run
    from langchain_prompt_optimization.stores import Job, StoreLayout

__all__ = [
    "DEFAULT_USAGE_WINDOW",
    "EVALUATION_STATUS",
    "PER",
    "Budget",
    "BudgetPer",
    "UsageReport",
    "charge_usage",
    "charged",
    "check_budget",
    "estimate_evaluation",
    "estimate_usage",
    "reserve_budget",
    "reserve_for",
    "sum_usage",
    "usage_report",
]

logger = logging.getLogger(__name__)

BudgetPer = Literal["user", "lineage", "global"]
PER: tuple[str, ...] = ("user", "lineage", "global")
DEFAULT_USAGE_WINDOW = "1d"
"""The window `PromptRegistry.budget_usage` and `promptopt usage` read by default."""

_CALLS_PER_PROMPT = {"prompt_memory": 1, "metaprompt": 5, "gradient": 3}
_CHARS_PER_TOKEN = 4
_JUDGE_TOKENS = 100
"""A judge's instructions and its short answer, in tokens (estimate)."""
EVALUATION_STATUS = "evaluation"
"""The status of an evaluation's ledger records (not counted as optimizations)."""
_RESERVE_TRIES = 4
_BACKOFF = (0.01, 0.1)
"""Seconds (times the try number) a reservation withdrawn in a race waits, at random."""


@dataclass(frozen=True, slots=True)
class Budget:
    """Caps on what optimizations spend on models, per window.

    Counts every model call an optimization makes (langmem's optimizer, the evaluation
    gate's replays, a screener's judge) together. Over budget, an optimization is deferred:
    its outcome is `over_budget`, no model is called, the feedback stays pending and the
    next window picks it up. Enforced across processes through the store.

    Attributes:
        max_optimizer_tokens: Most input plus output tokens per window (`None`: no cap).
        max_optimizer_calls: Most model calls per window (`None`: no cap).
        per: Whose spend is capped: `"user"` or `"lineage"` (each lineage owner's own:
            a user in `scope="user"`, the shared lineage in `scope="global"`, where only
            `"lineage"` and `"global"` are accepted), or `"global"` (all lineages together).
        window: Fixed windows of whole hours or days (`"1h"`, `"12h"`, `"1d"`, `"7d"`),
            aligned to the Unix epoch in UTC (a `"1d"` window starts at 00:00 UTC).
        clock: Unix time now (tests move it to the next window instead of sleeping).

    Raises:
        ValueError: Without any cap, on a cap that is not a positive int, an unknown `per`
            or a window spec that is not whole hours or days.
        TypeError: If `clock` is not callable.

    Example:
        ```python
        PromptOptimizationMiddleware(
            budget=Budget(max_optimizer_tokens=200_000, max_optimizer_calls=50, per="user")
        )
        ```
    """

    max_optimizer_tokens: int | None = None
    max_optimizer_calls: int | None = None
    per: BudgetPer = "user"
    window: str = DEFAULT_USAGE_WINDOW
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_optimizer_tokens is None and self.max_optimizer_calls is None:
            msg = "Budget needs max_optimizer_tokens, max_optimizer_calls or both"
            raise ValueError(msg)
        for name in ("max_optimizer_tokens", "max_optimizer_calls"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                msg = f"Budget.{name} must be a positive int or None; got {value!r}"
                raise ValueError(msg)
        if self.per not in PER:
            msg = f"Budget.per must be one of {', '.join(PER)}; got {self.per!r}"
            raise ValueError(msg)
        parse_window(self.window, name="Budget.window")
        if not callable(self.clock):
            msg = f"Budget.clock must be callable; got {type(self.clock).__name__}"
            raise TypeError(msg)

    def current_window(self) -> UsageWindow:
        """The window the clock is in now."""
        return UsageWindow.at(self.window, self.clock())

    def charged_owner(self, owner: UserRef) -> UserRef | None:
        """Whose ledger records count against this budget for `owner`'s optimizations
        (`None`: every owner's)."""
        return None if self.per == "global" else owner

    def caps(self) -> dict[str, int]:
        """The caps set, as `{"calls": n, "tokens": n}`."""
        caps = {}
        if self.max_optimizer_calls is not None:
            caps["calls"] = self.max_optimizer_calls
        if self.max_optimizer_tokens is not None:
            caps["tokens"] = self.max_optimizer_tokens
        return caps

    def exceeded(self, used: dict[str, int]) -> str | None:
        """Why `used` (window usage, reservations included) is over a cap, or `None`."""
        spent = {"calls": int(used.get("calls", 0)), "tokens": usage_tokens(used)}
        for key, cap in self.caps().items():
            if spent[key] > cap:
                name = "max_optimizer_calls" if key == "calls" else "max_optimizer_tokens"
                return (
                    f"over budget: {spent[key]} {key} in the {self.window} window from "
                    f"{self.current_window().start.isoformat()} with this optimization "
                    f"(per={self.per!r}, {name}={cap})"
                )
        return None

    def clamped(self, estimate: dict[str, int]) -> dict[str, int]:
        """`estimate` capped at the budget: an optimization estimated above the whole
        budget may still run alone in an empty window."""
        out = dict(estimate)
        if self.max_optimizer_calls is not None:
            out["calls"] = min(out.get("calls", 0), self.max_optimizer_calls)
        if self.max_optimizer_tokens is not None:
            tokens = usage_tokens(out)
            if tokens > self.max_optimizer_tokens:
                share = self.max_optimizer_tokens / tokens
                out["input_tokens"] = int(out.get("input_tokens", 0) * share)
                out["output_tokens"] = self.max_optimizer_tokens - out["input_tokens"]
        return out


def check_budget(budget: object, *, scope: str | None = None) -> Budget | None:
    """`budget` as given to the middleware, `PromptWorker` or the optimizer graph.

    Args:
        budget: A `Budget` or `None`.
        scope: The middleware's scope, when known.

    Raises:
        TypeError: If `budget` is neither.
        ValueError: On `per="user"` with `scope="global"` (one lineage serves every user:
            use `per="lineage"` or `"global"`).
    """
    if budget is None:
        return None
    if not isinstance(budget, Budget):
        msg = f"budget must be a Budget or None; got {type(budget).__name__}"
        raise TypeError(msg)
    if scope == "global" and budget.per == "user":
        msg = (
            "Budget(per='user') needs scope='user': with scope='global' one lineage serves "
            "every user; use per='lineage' or per='global'"
        )
        raise ValueError(msg)
    return budget


def sum_usage(charges: Sequence[UsageCharge]) -> dict[str, int]:
    """The usage of `charges` added up (reservations count their estimate), with
    `optimizations` (how many, evaluations' records apart) and `reserved` (how many still
    reserved)."""
    total: dict[str, int] = dict.fromkeys(USAGE_KEYS, 0)
    for charge in charges:
        for key, value in charge.usage.items():
            total[key] = total.get(key, 0) + value
    total.pop("failed_calls", None)  # best-of samples that raised: already in `calls`
    total["optimizations"] = sum(1 for c in charges if c.status != EVALUATION_STATUS)
    total["reserved"] = sum(1 for c in charges if c.state == "reserved")
    return total


def estimate_usage(
    kind: str,
    config: dict[str, Any] | None,
    payload: dict[str, Any],
    attempts: int,
    judges: int = 0,
) -> dict[str, int]:
    """What one optimization's optimizer calls are expected to spend: langmem's calls per
    changed prompt for `kind` (plus credit assignment with several prompts), each reading
    the payload and writing a prompt, `attempts` times (best-of-k); and one call of each of
    `judges` model screeners per candidate, reading it (old and new text) and answering
    briefly."""
    prompts = payload.get("prompts") or []
    per_prompt = _CALLS_PER_PROMPT.get(kind, 1)
    if kind == "metaprompt" and config and isinstance(config.get("max_reflection_steps"), int):
        per_prompt = max(1, config["max_reflection_steps"])
    calls = per_prompt * max(1, len(prompts)) + (1 if len(prompts) > 1 else 0)
    read = len(json.dumps(payload, default=str)) // _CHARS_PER_TOKEN + 1
    written = sum(len(str(p.get("prompt", ""))) for p in prompts) // _CHARS_PER_TOKEN + 1
    judged = judges * max(1, len(prompts)) * attempts
    return {
        "calls": calls * attempts + judged,
        "input_tokens": read * calls * attempts + judged * (2 * written + _JUDGE_TOKENS),
        "output_tokens": written * attempts + judged * _JUDGE_TOKENS,
    }


def estimate_evaluation(outputs: object, evaluators: int) -> dict[str, int]:
    """What evaluating one run is expected to spend: one judge call per evaluator, each
    reading the run (`outputs`, its messages) and its instructions and answering briefly."""
    read = len(json.dumps(outputs, default=str)) // _CHARS_PER_TOKEN + 1
    return {
        "calls": evaluators,
        "input_tokens": evaluators * (read + _JUDGE_TOKENS),
        "output_tokens": evaluators * _JUDGE_TOKENS,
    }


def reserve_budget(
    layout: StoreLayout,
    budget: Budget,
    owner: UserRef,
    estimate: dict[str, int],
    status: str | None = None,
) -> Job[tuple[UsageCharge | None, str | None]]:
    """Reserve `estimate` in the budget's current window before an optimization's first
    model call: `(reservation, None)`, or `(None, reason)` when it does not fit.

    The window's usage is read, the reservation written if it fits, and the usage read
    again: if concurrent reservations (other lineages under a `per="global"` budget) now
    exceed a cap, ours is withdrawn. So reservations never overshoot a cap; only what
    optimizations spend beyond their estimate can (see `docs/configuration.md`). Withdrawn
    because of a race (it fitted before the others wrote), it tries again after a random
    pause, up to `_RESERVE_TRIES` times, so racing optimizations do not all give up.
    `status`: the reservation's (`EVALUATION_STATUS` for an evaluation's).
    """
    now = budget.clock()
    window = UsageWindow.at(budget.window, now)
    scope = budget.charged_owner(owner)
    reserve = budget.clamped(estimate)
    reason: str | None = None
    for attempt in range(_RESERVE_TRIES):
        if attempt:
            yield from sleep(random.uniform(_BACKOFF[0], _BACKOFF[1]) * attempt)
        charges = yield from layout.usage_charges(window, scope)
        reason = budget.exceeded(_plus(sum_usage(charges), reserve))
        if reason is not None:
            return None, reason
        started = datetime.fromtimestamp(now, UTC)
        reservation = UsageCharge(
            owner.label, owner.user_id, "reserved", reserve, status, started_at=started
        )
        yield from layout.put_usage_charge(reservation)
        charges = yield from layout.usage_charges(window, scope)
        reason = budget.exceeded(sum_usage(charges))
        if reason is None:
            return reservation, None
        yield from layout.delete_usage_charge(reservation)
    return None, f"{reason} (concurrent optimizations reserved the rest)"


def charge_usage(
    layout: StoreLayout,
    owner: UserRef,
    reservation: UsageCharge | None,
    usage: dict[str, int],
    status: str,
) -> Job[None]:
    """Record what an optimization spent: its reservation rewritten as `charged`, or a new
    `charged` record (no budget). Nothing is written when no model was called and nothing
    was reserved."""
    if reservation is None and not usage.get("calls"):
        return
    if reservation is None:
        charge = UsageCharge(owner.label, owner.user_id, "charged", dict(usage), status)
    else:
        charge = UsageCharge(
            owner.label,
            owner.user_id,
            "charged",
            dict(usage),
            status,
            started_at=reservation.started_at,
            id=reservation.id,
        )
    yield from layout.put_usage_charge(charge)


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Model usage of optimizations in one window, as recorded in the store's ledger.

    Attributes:
        per: `"user"` (one lineage owner's optimizations) or `"global"` (all).
        window: The window spec (`"1d"`, ...).
        start: When the window starts (UTC).
        end: When the next one starts.
        usage: Totals: `calls`, `input_tokens`, `output_tokens`, `<source>_calls`,
            `optimizations` (how many called a model) and `reserved` (how many are still
            running, counted at their estimate).
        by_user: The same per lineage owner's user id (`None`: the default namespace or
            the global lineage).
    """

    per: str
    window: str
    start: datetime
    end: datetime
    usage: dict[str, int]
    by_user: dict[str | None, dict[str, int]]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (`by_user` as a list: user ids may be `None`)."""
        return {
            "per": self.per,
            "window": self.window,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "usage": dict(self.usage),
            "by_user": [
                {"user_id": user_id, "usage": dict(usage)}
                for user_id, usage in self.by_user.items()
            ],
        }


def usage_report(
    layout: StoreLayout, owner: UserRef | None, window: str, at: datetime | None
) -> Job[UsageReport]:
    """The ledger's usage in the `window` holding `at` (now if `None`), of one lineage
    owner or of all (`None`).

    Raises:
        ValueError: If `window` is not a window spec.
    """
    now = (at or datetime.now(UTC)).timestamp()
    span = UsageWindow.at(window, now)
    charges = yield from layout.usage_charges(span, owner)
    owners: dict[str, list[UsageCharge]] = {}
    for charge in sorted(charges, key=lambda c: c.started_at):
        owners.setdefault(charge.owner, []).append(charge)
    return UsageReport(
        per="global" if owner is None else "user",
        window=window,
        start=span.start,
        end=span.end,
        usage=sum_usage(charges),
        by_user={UserRef.from_label(label).user_id: sum_usage(c) for label, c in owners.items()},
    )


def reserve_for(
    run: _Run, payload: dict[str, Any], attempts: int, judges: int = 0
) -> Job[str | None]:
    """Before an optimization's first optimizer call: reserve its estimate in the budget's
    window (kept on `run`); `None`, or why it is over budget (then nothing is called).
    `judges`: the model screeners that will judge each candidate."""
    budget = run.settings.budget
    if budget is None:
        return None
    settings = run.settings
    estimate = estimate_usage(settings.kind, settings.config, payload, attempts, judges)
    reservation, reason = yield from reserve_budget(run.layout, budget, run.owner, estimate)
    if reservation is not None:
        run.reservations.append(reservation)
    return reason


def charged(run: _Run, job: Job[OptimizationOutcome]) -> Job[OptimizationOutcome]:
    """Run the optimization `job`, then record what its model calls spent in the usage
    ledger (replacing the budget's reservation), whatever path it took, failure included."""
    try:
        outcome = yield from job
    except Exception:
        yield from _charge(run, "failed")
        raise
    yield from _charge(run, outcome.status)
    return outcome


def _charge(run: _Run, status: str) -> Job[None]:
    """Record what was spent (a store fault here is logged: the optimization's result
    stands)."""
    reservation = run.reservations[0] if run.reservations else None
    try:
        yield from charge_usage(run.layout, run.owner, reservation, run.meter.usage(), status)
    except Exception:
        logger.warning("could not record the model usage of %r", run.owner.user_id, exc_info=True)


def _plus(used: dict[str, int], extra: dict[str, int]) -> dict[str, int]:
    return {key: used.get(key, 0) + extra.get(key, 0) for key in USAGE_KEYS}
