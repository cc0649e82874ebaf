"""Depth and size limits on what callers hand in (feedback, examples), checked iteratively."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = [
    "MAX_EXAMPLE_SIZE",
    "MAX_FEEDBACK_SIZE",
    "MAX_NESTING",
    "check_json",
    "check_nesting",
    "fits_float",
]

MAX_NESTING = 64
"""Deepest nesting of dicts and lists accepted in feedback and examples."""

MAX_FEEDBACK_SIZE = 100_000
"""Largest feedback accepted: characters of its text (keys included) plus one per value."""

MAX_EXAMPLE_SIZE = 1_000_000
"""Largest evaluation-gate example accepted, measured as `MAX_FEEDBACK_SIZE` is."""


def fits_float(value: int) -> bool:
    """Whether an int converts to a float (`10**400` does not)."""
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _children(value: object, *, models: bool) -> list[object] | None:
    """The values inside a container (keys included), or `None` for a leaf."""
    if isinstance(value, Mapping):
        return [part for pair in value.items() for part in pair]
    if isinstance(value, list | tuple):
        return list(value)
    if models and isinstance(value, BaseModel):
        return list(vars(value).values())
    return None


def _walk(value: object, where: str, *, max_depth: int, max_size: int, json_only: bool) -> None:
    """Visit every value once (an explicit stack: no recursion, linear time)."""
    size = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        size += 1 + (len(item) if isinstance(item, str) else 0)
        if size > max_size:
            msg = f"{where} is too large: over {max_size:,} (characters of text plus values)"
            raise ValueError(msg)
        if json_only:
            _check_json_leaf(item, where)
        children = _children(item, models=not json_only)
        if children is None:
            continue
        if depth > max_depth:
            msg = f"{where} is nested too deep: more than {max_depth} levels of dicts and lists"
            raise ValueError(msg)
        stack.extend((child, depth + 1) for child in children)


def _check_json_leaf(value: object, where: str) -> None:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            msg = f"{where} is not valid Unicode text (lone surrogate)"
            raise TypeError(msg) from None
    elif isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                msg = f"{where} must be JSON with string keys; got key {key!r}"
                raise TypeError(msg)
    elif isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{where} must be JSON: {value!r} is not a finite number"
            raise TypeError(msg)
    elif isinstance(value, int) and not isinstance(value, bool):
        if not fits_float(value):
            msg = f"{where} must be JSON: an int of {value.bit_length()} bits does not fit a float"
            raise TypeError(msg)
    elif value is not None and not isinstance(value, bool | list | tuple):
        msg = f"{where} must be JSON-serializable; got {type(value).__name__}"
        raise TypeError(msg)


def check_json(
    value: object,
    where: str,
    *,
    max_depth: int = MAX_NESTING,
    max_size: int = MAX_FEEDBACK_SIZE,
) -> None:
    """Raise unless `value` stores identically on every backend and is within the limits.

    JSON means string keys, valid Unicode text, finite numbers and ints that fit a float.
    The check uses no recursion, so any nesting gets this error rather than `RecursionError`.

    Raises:
        TypeError: If `value` is not such JSON.
        ValueError: If it is nested deeper than `max_depth` or larger than `max_size`.
    """
    _walk(value, where, max_depth=max_depth, max_size=max_size, json_only=True)


def check_nesting(
    value: Any, where: str, *, max_depth: int = MAX_NESTING, max_size: int = MAX_EXAMPLE_SIZE
) -> None:
    """Raise `ValueError` if `value` (JSON, messages or other pydantic models) is nested
    deeper than `max_depth` or larger than `max_size`; types are not checked.

    Raises:
        ValueError: If a limit is exceeded.
    """
    _walk(value, where, max_depth=max_depth, max_size=max_size, json_only=False)
