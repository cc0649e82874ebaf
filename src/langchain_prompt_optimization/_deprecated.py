"""Deprecated names: keywords that moved into configuration objects, and renamed members."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["MOVED_KEYWORDS", "Moved", "MovedArgs", "moved_subset", "take_moved", "warn_renamed"]

T = TypeVar("T")

_CLASSES = {
    "optimizer": "OptimizerSettings",
    "storage": "StorageSettings",
    "safety": "SafetySettings",
    "system_prompt": "SystemPromptSettings",
    "policy": "CandidatePolicy",
}


@dataclass(frozen=True, slots=True)
class Moved:
    """Where an old keyword now lives: `target=Class(path[0]=Class(path[1]=...))`."""

    target: str
    path: tuple[str, ...]

    def replacement(self) -> str:
        """How to write it now, e.g. `safety=SafetySettings(policy=CandidatePolicy(...))`."""
        inner = f"{self.path[-1]}=..."
        for name in reversed(self.path[:-1]):
            inner = f"{name}={_CLASSES[name]}({inner})"
        return f"{self.target}={_CLASSES[self.target]}({inner})"


MOVED_KEYWORDS: dict[str, Moved] = {
    "optimizer_model": Moved("optimizer", ("model",)),
    "kind": Moved("optimizer", ("kind",)),
    "optimizer_config": Moved("optimizer", ("config",)),
    "max_feedback_per_optimization": Moved("optimizer", ("max_feedback",)),
    "max_trajectory_chars": Moved("optimizer", ("max_trajectory_chars",)),
    "namespace_prefix": Moved("storage", ("namespace_prefix",)),
    "store_timeout": Moved("storage", ("timeout",)),
    "max_buffered_writes": Moved("storage", ("max_buffered_writes",)),
    "retention": Moved("storage", ("retention",)),
    "update_instructions": Moved("system_prompt", ("update_instructions",)),
    "when_to_update": Moved("system_prompt", ("when_to_update",)),
    "system_prompt_name": Moved("system_prompt", ("name",)),
    "max_prompt_chars": Moved("safety", ("policy", "max_prompt_chars")),
    "max_growth_chars": Moved("safety", ("policy", "max_growth_chars")),
    "firewall": Moved("safety", ("firewall",)),
    "gate": Moved("safety", ("gate",)),
    "monitor": Moved("safety", ("monitor",)),
}
"""Every 0.1 keyword (of the middleware, and of `PromptWorker` for a subset) and where it
lives now."""


def moved_subset(names: tuple[str, ...]) -> dict[str, Moved]:
    """The entries of `MOVED_KEYWORDS` a class took in 0.1."""
    return {name: MOVED_KEYWORDS[name] for name in names}


class MovedArgs:
    """Old keywords sorted into the objects that now hold them."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, list[str]] = {}

    def __contains__(self, target: str) -> bool:
        return target in self.values

    def build(self, target: str, factory: Callable[[dict[str, Any]], T]) -> T:
        """`factory(values)` for `target`; a validation error names the old keywords."""
        try:
            return factory(self.values[target])
        except (TypeError, ValueError) as exc:
            names = ", ".join(f"{name}=" for name in self.sources[target])
            msg = f"{exc} (from the deprecated {names})"
            raise type(exc)(msg) from None


def take_moved(
    owner: str,
    kwargs: Mapping[str, Any],
    moved: Mapping[str, Moved],
    given: Mapping[str, object],
    *,
    stacklevel: int,
) -> MovedArgs:
    """Sort old keywords into the objects that now hold them, warning for each.

    Args:
        owner: The class whose `__init__` received them (for the `TypeError`).
        kwargs: The keywords beyond the current signature.
        moved: Old keyword -> where it moved.
        given: The new objects as given (`None`: not given), by keyword.
        stacklevel: `warnings.warn` stack level of the user's call, counted from here.

    Returns:
        `values`: `{target: {field: value}}`, a nested path giving a nested dict
        (`{"safety": {"policy": {"max_prompt_chars": 4000}}}`); `sources`: the old
        keywords behind each target.

    Raises:
        TypeError: On a keyword that never existed (as Python would).
        ValueError: When an old keyword and the new object holding it are both given.
    """
    taken = MovedArgs()
    for name, value in kwargs.items():
        where = moved.get(name)
        if where is None:
            msg = f"{owner}.__init__() got an unexpected keyword argument {name!r}"
            raise TypeError(msg)
        if given.get(where.target) is not None:
            msg = (
                f"{name}= and {where.target}= were both given; {name}= is deprecated and "
                f"{where.target}= holds it: use {where.replacement()}"
            )
            raise ValueError(msg)
        warnings.warn(
            f"{name}= is deprecated; use {where.replacement()}",
            DeprecationWarning,
            stacklevel=stacklevel + 1,
        )
        node = taken.values.setdefault(where.target, {})
        taken.sources.setdefault(where.target, []).append(name)
        for step in where.path[:-1]:
            node = node.setdefault(step, {})
        node[where.path[-1]] = value
    return taken


def warn_renamed(old: str, new: str) -> None:
    """Warn (`DeprecationWarning`, at the caller's caller) that `old` is now `new`; the old
    name keeps working one release."""
    msg = f"{old} is deprecated (renamed); use {new}. The old name goes in the next release."
    warnings.warn(msg, DeprecationWarning, stacklevel=3)
