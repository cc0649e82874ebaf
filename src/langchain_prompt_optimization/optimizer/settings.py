"""Configuration objects the middleware and `PromptWorker` share: the optimizer and safety."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from langchain_core.language_models import BaseChatModel

from langchain_prompt_optimization.optimizer.checks import CandidatePolicy
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.optimizer.gate import EvaluationGate
from langchain_prompt_optimization.optimizer.monitor import Monitor
from langchain_prompt_optimization.optimizer.run import KINDS, OptimizerKind, RunSettings
from langchain_prompt_optimization.optimizer.screening import (
    DEFAULT_SCREENERS,
    SCREENER_NAMES,
    ModelScreener,
    RulesScreener,
    Screener,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_prompt_optimization.optimizer.budget import Budget
    from langchain_prompt_optimization.stores.settings import StorageSettings

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "OptimizerSettings",
    "SafetySettings",
    "check_model_name",
    "check_positive_int",
    "check_positive_number",
    "check_require_approval",
    "run_settings",
    "settings_or_default",
]

S = TypeVar("S")

DEFAULT_LEASE_SECONDS = 300.0
"""`OptimizerSettings.lease_seconds` when not given."""


@dataclass(frozen=True, slots=True)
class OptimizerSettings:
    """Which model rewrites prompts, with which langmem optimizer, reading how much.

    Shared by `PromptOptimizationMiddleware(optimizer=...)` and `PromptWorker(optimizer=...)`.

    Attributes:
        model: Model that rewrites prompts: a `BaseChatModel`, or a `"provider:model"`
            string for `init_chat_model` (created at first use). `None` (middleware only):
            the agent's own model, taken from its first model request. A worker needs one.
        kind: langmem optimizer kind. Default `"prompt_memory"`: one model call per changed
            prompt (plus one credit-assignment call when several prompts are managed),
            where `"metaprompt"` makes `max_reflection_steps` calls (default 5) and
            `"gradient"` at least three. Choose `"gradient"` when feedback is subtle and
            cost matters less.
        config: langmem config for the kind (`max_reflection_steps`, ...); copied.
        max_feedback: Most feedback items one optimization reads (oldest first; the rest
            wait for the next one).
        max_trajectory_chars: Each trajectory is cut to its latest messages within this many
            characters before it reaches the optimizer.
        lease_seconds: Time-to-live of the lease that makes one optimizer per lineage at a
            time (middleware in `inline`/`background` mode and `PromptWorker` alike). It is
            renewed every third of this while the optimizer's model (and a gate's replays)
            run, so a long optimization keeps it; an app or worker that crashes mid-job
            blocks that lineage's learning at most this long.

    Raises:
        ValueError: On an unknown `kind`, a non-positive budget or `lease_seconds`, or a
            model string whose provider cannot be told.
        TypeError: On a `model` or `config` of the wrong type.

    Example:
        ```python
        PromptOptimizationMiddleware(
            optimizer=OptimizerSettings(model="openai:gpt-4o-mini", kind="gradient")
        )
        ```
    """

    model: str | BaseChatModel | None = None
    kind: OptimizerKind = "prompt_memory"
    config: dict[str, Any] | None = None
    max_feedback: int = 20
    max_trajectory_chars: int = 8_000
    lease_seconds: float = DEFAULT_LEASE_SECONDS

    def __post_init__(self) -> None:
        if self.model is not None and not isinstance(self.model, str | BaseChatModel):
            msg = (
                "OptimizerSettings.model must be a 'provider:model' string or a "
                f"BaseChatModel; got {type(self.model).__name__}"
            )
            raise TypeError(msg)
        if isinstance(self.model, str):
            check_model_name(self.model)
        if self.kind not in KINDS:
            msg = f"OptimizerSettings.kind must be one of {', '.join(KINDS)}; got {self.kind!r}"
            raise ValueError(msg)
        if self.config is not None:
            if not isinstance(self.config, Mapping):
                msg = f"OptimizerSettings.config must be a dict; got {type(self.config).__name__}"
                raise TypeError(msg)
            object.__setattr__(self, "config", dict(self.config))
        for name in ("max_feedback", "max_trajectory_chars"):
            check_positive_int(f"OptimizerSettings.{name}", getattr(self, name))
        lease = check_positive_number("OptimizerSettings.lease_seconds", self.lease_seconds)
        object.__setattr__(self, "lease_seconds", lease)

    @classmethod
    def from_setting(
        cls, value: OptimizerSettings | str | BaseChatModel | None
    ) -> OptimizerSettings:
        """The settings an `optimizer=` argument asks for: the object itself, or a model (a
        `"provider:model"` string or a `BaseChatModel`) with the defaults; `None`: defaults.

        Raises:
            TypeError: If `value` is none of these.
        """
        if value is None:
            return cls()
        if isinstance(value, OptimizerSettings):
            return value
        if isinstance(value, str | BaseChatModel):
            return cls(model=value)
        msg = (
            "optimizer must be an OptimizerSettings, a 'provider:model' string or a "
            f"BaseChatModel; got {type(value).__name__}"
        )
        raise TypeError(msg)


@dataclass(frozen=True, slots=True)
class SafetySettings:
    """What guards the prompts served: candidate budgets, the feedback firewall, the
    screeners, an evaluation gate and online monitoring.

    Attributes:
        policy: Budgets every candidate must respect (size, growth, share of text dropped).
            Candidates must also keep every `{variable}` and `<locked>...</locked>` section.
            `None`: the defaults in the middleware; in a `PromptWorker`, the budgets the apps
            recorded in the store.
        firewall: The feedback firewall (`True`: `FeedbackFirewall()`; pass one with
            `trusted_domains=` to let feedback name your own addresses; `False` turns it
            off). Feedback and run content reach the optimizer delimited as data; flagged
            feedback is set aside for review, flagged candidates are stored `pending`. `None`:
            the default firewall in the middleware; in a `PromptWorker`, the one the apps
            recorded.
        screeners: What screens each feedback batch and each candidate, in order: `"rules"`
            (`RulesScreener`: the `firewall` and the personal-data check), `"model"`
            (`ModelScreener`: a structured-output judge of each candidate's added and
            removed text against its feedback, one model call per candidate, with the
            optimizer's model unless `guard_model` is set), `RulesScreener`/`ModelScreener`
            instances, or your own `Screener`s. A hold quarantines feedback or flags a
            candidate (`pending`, never activated without a reviewer); a screener error
            holds. Default `("rules", "model")`. `None`: the defaults in the middleware; in
            a `PromptWorker`, the screeners the apps recorded.
        guard_model: The model screener's model: a `BaseChatModel` or a `"provider:model"`
            string (created at first use). `None`: the optimizer's model.
        gate: An `EvaluationGate`: candidates are replayed on recorded runs and activated
            only if they score at least as well as the active version. A worker's gate
            needs its own `model` (workers never see the agent's model).
        monitor: Online monitoring and auto-rollback: when an optimized version's mean
            score over at least `min_runs` scored runs falls below its parent's by more than
            `margin`, the lineage is rolled back and paused for review. `None` disables the
            rollback (scores are still counted). Recorded in the store; workers always
            follow the recorded policy and ignore this field.

    Raises:
        TypeError: On a field of the wrong type, or a screener that is not a `Screener`.
        ValueError: On an unknown screener name, a built-in screener named twice, or a
            `guard_model` with no model screener to use it.

    Example:
        ```python
        PromptOptimizationMiddleware(
            safety=SafetySettings(
                policy=CandidatePolicy(max_prompt_chars=4_000),
                firewall=FeedbackFirewall(trusted_domains=("example.com",)),
                guard_model="openai:gpt-4o-mini",
            )
        )
        ```
    """

    policy: CandidatePolicy | None = field(default_factory=CandidatePolicy)
    firewall: FeedbackFirewall | bool | None = True
    gate: EvaluationGate | None = None
    monitor: Monitor | None = field(default_factory=Monitor)
    screeners: Sequence[Screener | str] | None = DEFAULT_SCREENERS
    guard_model: str | BaseChatModel | None = None

    def __post_init__(self) -> None:
        if self.policy is not None and not isinstance(self.policy, CandidatePolicy):
            msg = (
                "SafetySettings.policy must be a CandidatePolicy or None; "
                f"got {type(self.policy).__name__}"
            )
            raise TypeError(msg)
        if self.firewall is not None:
            FeedbackFirewall.from_setting(self.firewall)
        if self.gate is not None and not isinstance(self.gate, EvaluationGate):
            msg = f"gate must be an EvaluationGate; got {type(self.gate).__name__}"
            raise TypeError(msg)
        if self.monitor is not None and not isinstance(self.monitor, Monitor):
            msg = f"monitor must be a Monitor or None; got {type(self.monitor).__name__}"
            raise TypeError(msg)
        if self.screeners is not None:
            object.__setattr__(self, "screeners", _checked_screeners(self.screeners))
        if self.guard_model is not None:
            ModelScreener(self.guard_model)  # type and name checks
            if self.screeners is not None and not any(
                s == "model" or isinstance(s, ModelScreener) for s in self.screeners
            ):
                msg = (
                    "SafetySettings.guard_model is set but screeners has no model screener; "
                    'add "model" to screeners'
                )
                raise ValueError(msg)

    def screener_objects(self) -> tuple[Screener, ...] | None:
        """`screeners` as objects (`"rules"` and `"model"` built, `guard_model` given to
        the model screeners that have no model of their own); `None`: not set."""
        if self.screeners is None:
            return None
        out: list[Screener] = []
        for entry in self.screeners:
            if entry == "rules":
                out.append(RulesScreener())
            elif entry == "model":
                out.append(ModelScreener(self.guard_model))
            elif isinstance(entry, ModelScreener) and entry.model is None and self.guard_model:
                out.append(ModelScreener(self.guard_model, timeout=entry.timeout, name=entry.name))
            else:
                out.append(cast("Screener", entry))
        return tuple(out)

    @property
    def feedback_firewall(self) -> FeedbackFirewall | None:
        """`firewall` as a `FeedbackFirewall` (`None`: follow what the apps recorded)."""
        return None if self.firewall is None else FeedbackFirewall.from_setting(self.firewall)


def _checked_screeners(screeners: object) -> tuple[Screener | str, ...]:
    """`screeners` as a tuple, each a built-in name or a `Screener`.

    Raises:
        TypeError: If it is not a sequence, or holds something that is not a `Screener`.
        ValueError: On an unknown name or a built-in named twice.
    """
    if isinstance(screeners, str) or not isinstance(screeners, list | tuple):
        msg = (
            "SafetySettings.screeners must be a list of screeners (e.g. "
            f'["rules", "model"]); got {type(screeners).__name__}'
        )
        raise TypeError(msg)
    for entry in screeners:
        if isinstance(entry, str):
            if entry not in SCREENER_NAMES:
                msg = (
                    f"unknown screener {entry!r}: use {' or '.join(map(repr, SCREENER_NAMES))}, "
                    "or a Screener object"
                )
                raise ValueError(msg)
        elif not isinstance(entry, Screener) or not callable(
            getattr(entry, "screen_candidate", None)
        ):
            msg = (
                "each screener must be 'rules', 'model' or a Screener (with name, "
                f"screen_feedback and screen_candidate); got {type(entry).__name__}"
            )
            raise TypeError(msg)
    names = [e for e in screeners if isinstance(e, str)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        msg = f"screener {twice[0]!r} is listed twice"
        raise ValueError(msg)
    return tuple(screeners)


def check_model_name(name: str) -> None:
    """Fail fast on a model string `init_chat_model` could never resolve.

    Raises:
        ValueError: If `name` is blank or names no provider `init_chat_model` knows.
    """
    if not name.strip():
        msg = "the optimizer model (optimizer_model / OptimizerSettings.model) must not be empty"
        raise ValueError(msg)
    try:
        from langchain.chat_models.base import _parse_model
    except ImportError:  # pragma: no cover - private helper moved; checked at first use
        return
    try:
        _parse_model(name, None)
    except ValueError:
        msg = (
            f"optimizer model {name!r}: cannot tell its provider; use 'provider:model', "
            "e.g. 'openai:gpt-4o-mini', or pass a BaseChatModel"
        )
        raise ValueError(msg) from None


def check_positive_int(name: str, value: object) -> int:
    """`value` if it is an int of at least 1 (a bool is refused).

    Raises:
        ValueError: Otherwise, naming `name` and the value given.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{name} must be a positive int; got {value!r}"
        raise ValueError(msg)
    return value


def check_positive_number(name: str, value: object) -> float:
    """`value` as a float if it is a finite int or float above 0 (a bool is refused).

    Raises:
        ValueError: Otherwise, naming `name` and the value given.
    """
    msg = f"{name} must be a positive finite number; got {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(msg)
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range (10**400)
        raise ValueError(msg) from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(msg)
    return number


def check_require_approval(value: object) -> bool | None:
    """`require_approval` as given to the middleware or `PromptWorker`: a bool, or `None`
    (the middleware: its scope's default; a worker: the approval policy the apps recorded).

    Raises:
        TypeError: On anything else (`"yes"`, `1`, ...).
    """
    if value is not None and not isinstance(value, bool):
        msg = f"require_approval must be a bool or None; got {value!r}"
        raise TypeError(msg)
    return value


def settings_or_default(keyword: str, value: S | None, cls: type[S]) -> S:
    """`value`, or `cls()` when it is `None`.

    Raises:
        TypeError: If `value` is not a `cls`.
    """
    if value is None:
        return cls()
    if not isinstance(value, cls):
        msg = f"{keyword} must be a {cls.__name__}; got {type(value).__name__}"
        raise TypeError(msg)
    return value


def run_settings(
    optimizer: OptimizerSettings,
    storage: StorageSettings,
    safety: SafetySettings | None,
    *,
    require_approval: bool | None,
    lease_seconds: float | None = None,
    replay_agent: Callable[[], tuple[BaseChatModel, Sequence[Any]] | None] | None = None,
    follow_recorded: bool = False,
    budget: Budget | None = None,
) -> RunSettings:
    """The engine's settings from the configuration objects (middleware and worker alike).

    Args:
        optimizer: Model, kind and budgets.
        storage: Retention (the other storage fields concern the run path only).
        safety: Budgets, firewall, screeners, gate and monitor; `None` follows what the apps
            recorded.
        require_approval: Approval policy (`None`: follow the recorded one).
        lease_seconds: Namespace lease time-to-live (`None`: `optimizer.lease_seconds`).
        replay_agent: Where the gate finds the agent's model and tools.
        follow_recorded: A worker: the monitor always follows the recorded policy.
        budget: Caps on the optimizations' model usage (`None`: none).

    Returns:
        The settings `OptimizationEngine` runs with.
    """
    monitor: Monitor | None = None
    if safety is not None and not follow_recorded:
        monitor = safety.monitor if safety.monitor is not None else Monitor(enabled=False)
    return RunSettings(
        kind=optimizer.kind,
        config=dict(optimizer.config) if optimizer.config else None,
        max_feedback=optimizer.max_feedback,
        max_trajectory_chars=optimizer.max_trajectory_chars,
        lease_seconds=optimizer.lease_seconds if lease_seconds is None else lease_seconds,
        require_approval=require_approval,
        retention=storage.retention,
        policy=safety.policy if safety is not None else None,
        firewall=safety.feedback_firewall if safety is not None else None,
        gate=safety.gate if safety is not None else None,
        screeners=safety.screener_objects() if safety is not None else None,
        replay_agent=replay_agent,
        monitor=monitor,
        budget=budget,
    )
