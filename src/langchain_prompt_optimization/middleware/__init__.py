"""Agent hooks: pin prompt versions, swap the system prompt, capture runs, schedule learning."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_prompt_optimization.middleware.prompt_optimization import (
        SYSTEM_PROMPT,
        PromptOptimizationMiddleware,
        PromptOptimizationState,
    )
    from langchain_prompt_optimization.middleware.settings import SystemPromptSettings

__all__ = [
    "SYSTEM_PROMPT",
    "PromptOptimizationMiddleware",
    "PromptOptimizationState",
    "SystemPromptSettings",
]

# Public name -> the module defining it, imported on first use (PEP 562): one line per
# name, in step with the TYPE_CHECKING imports above.
_EXPORTS: dict[str, str] = {
    "SYSTEM_PROMPT": "langchain_prompt_optimization.middleware.prompt_optimization",
    "PromptOptimizationMiddleware": "langchain_prompt_optimization.middleware.prompt_optimization",
    "PromptOptimizationState": "langchain_prompt_optimization.middleware.prompt_optimization",
    "SystemPromptSettings": "langchain_prompt_optimization.middleware.settings",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
