"""The middleware's keyword arguments: old spellings folded in, each value checked once."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict

from langgraph.store.base import BaseStore

from langchain_prompt_optimization._deprecated import MOVED_KEYWORDS, take_moved
from langchain_prompt_optimization.middleware.settings import SystemPromptSettings
from langchain_prompt_optimization.optimizer.checks import CandidatePolicy
from langchain_prompt_optimization.optimizer.engine import MODES
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.optimizer.monitor import Monitor
from langchain_prompt_optimization.optimizer.screening.pipeline import (
    DEFAULT_SCREENERS,
    screeners_to_json,
)
from langchain_prompt_optimization.optimizer.settings import (
    OptimizerSettings,
    SafetySettings,
    check_positive_int,
    check_require_approval,
    settings_or_default,
)
from langchain_prompt_optimization.stores import PromptConfig, Retention, open_store
from langchain_prompt_optimization.stores.settings import StorageSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel

    from langchain_prompt_optimization.optimizer.gate import EvaluationGate
    from langchain_prompt_optimization.optimizer.run import OptimizerKind
    from langchain_prompt_optimization.stores import PromptSpec

__all__ = [
    "DeprecatedMiddlewareArgs",
    "MiddlewareSettings",
    "check_arguments",
    "resolve_settings",
    "resolve_store",
]


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


@dataclass(frozen=True, slots=True)
class MiddlewareSettings:
    """The four configuration objects in effect, defaults filled in."""

    optimizer: OptimizerSettings
    storage: StorageSettings
    system_prompt: SystemPromptSettings
    safety: SafetySettings

    def prompt_config(
        self,
        specs: dict[str, PromptSpec],
        *,
        require_approval: bool,
        scope: str,
        optimize_every: int,
    ) -> PromptConfig:
        """What an app records for workers and the registry: its prompts and policies."""
        monitor = self.safety.monitor if self.safety.monitor is not None else Monitor(enabled=False)
        policy = self.safety.policy or CandidatePolicy()
        firewall = self.safety.feedback_firewall or FeedbackFirewall()
        return PromptConfig(
            specs,
            require_approval,
            scope,
            optimize_every,
            self.system_prompt.name,
            monitor.to_json(),
            policy=policy.to_json(),
            firewall=firewall.to_json(),
            screeners=screeners_to_json(self.safety.screener_objects() or ()),
        )


def _legacy_safety(values: dict[str, Any]) -> SafetySettings:
    policy = values.pop("policy", None)
    return SafetySettings(
        policy=CandidatePolicy(**policy) if policy is not None else CandidatePolicy(), **values
    )


def resolve_settings(
    deprecated: DeprecatedMiddlewareArgs,
    *,
    optimizer: OptimizerSettings | str | BaseChatModel | None,
    storage: StorageSettings | None,
    system_prompt: SystemPromptSettings | None,
    safety: SafetySettings | None,
    stacklevel: int,
) -> MiddlewareSettings:
    """Fold the old keywords (one `DeprecationWarning` each) into the configuration objects
    and fill in the defaults.

    Args:
        deprecated: The keywords beyond the current signature.
        optimizer: `optimizer=` as given (a model is short for `OptimizerSettings(model=)`).
        storage: `storage=` as given.
        system_prompt: `system_prompt=` as given.
        safety: `safety=` as given (a `policy` or `firewall` of `None` means the default).
        stacklevel: Stack level of the user's call, counted from the caller.

    Raises:
        ValueError: If an old keyword and the object holding it are both given, or an old
            keyword has a bad value (the error names it).
        TypeError: On an unknown keyword or an object of the wrong type.
    """
    given = {
        "optimizer": optimizer,
        "storage": storage,
        "system_prompt": system_prompt,
        "safety": safety,
    }
    moved = take_moved(
        "PromptOptimizationMiddleware", deprecated, MOVED_KEYWORDS, given, stacklevel=stacklevel + 1
    )
    if "optimizer" in moved:
        optimizer = moved.build("optimizer", lambda v: OptimizerSettings(**v))
    if "storage" in moved:
        storage = moved.build("storage", StorageSettings.from_keywords)
    if "system_prompt" in moved:
        system_prompt = moved.build("system_prompt", lambda v: SystemPromptSettings(**v))
    if "safety" in moved:
        safety = moved.build("safety", _legacy_safety)
    checked = MiddlewareSettings(
        optimizer=OptimizerSettings.from_setting(optimizer),
        storage=settings_or_default("storage", storage, StorageSettings),
        system_prompt=settings_or_default("system_prompt", system_prompt, SystemPromptSettings),
        safety=settings_or_default("safety", safety, SafetySettings),
    )
    policy, firewall = checked.safety.policy, checked.safety.firewall
    screeners = checked.safety.screeners
    if policy is None or firewall is None or screeners is None:
        safe = replace(
            checked.safety,
            policy=policy or CandidatePolicy(),
            firewall=True if firewall is None else firewall,
            screeners=DEFAULT_SCREENERS if screeners is None else screeners,
        )
        checked = replace(checked, safety=safe)
    return checked


def check_arguments(
    *,
    mode: object,
    optimize_every: object,
    scope: object,
    on_base_change: object,
    require_approval: object,
    get_user_id: object,
    safety: SafetySettings,
) -> None:
    """Check the middleware's plain keywords (those not held by a configuration object).

    Raises:
        ValueError: On an unknown `mode`, `scope` or `on_base_change`, a non-positive
            `optimize_every`, or a gate in `"external"` / `"server"` mode.
        TypeError: On a non-callable `get_user_id` or a non-bool `require_approval`.
    """
    if mode not in MODES:
        msg = f"mode must be one of {', '.join(MODES)}; got {mode!r}"
        raise ValueError(msg)
    check_positive_int("optimize_every", optimize_every)
    if get_user_id is not None and not callable(get_user_id):
        msg = "get_user_id must be callable: runtime -> user id"
        raise TypeError(msg)
    if scope not in ("user", "global"):
        msg = f"scope must be 'user' or 'global'; got {scope!r}"
        raise ValueError(msg)
    if on_base_change not in ("new_lineage", "carry"):
        msg = f"on_base_change must be 'new_lineage' or 'carry'; got {on_base_change!r}"
        raise ValueError(msg)
    check_require_approval(require_approval)
    if safety.gate is not None and mode in ("external", "server"):
        msg = (
            f"a gate has no effect in mode={mode!r}: optimizations run in workers; pass "
            "the gate (with its model and tools) to PromptWorker(safety=SafetySettings("
            "gate=...))"
        )
        raise ValueError(msg)


def resolve_store(store: BaseStore | str | None) -> BaseStore | None:
    """`store=` as a store: a URI is opened now (`None`: decided at the first run).

    Raises:
        TypeError: If `store` is neither a `BaseStore` nor a string.
        ValueError: If the URI cannot be opened.
    """
    if isinstance(store, str):
        return open_store(store)
    if store is not None and not isinstance(store, BaseStore):
        msg = f"store must be a BaseStore or a URI string; got {type(store).__name__}"
        raise TypeError(msg)
    return store
