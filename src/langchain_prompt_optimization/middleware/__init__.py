"""Agent hooks: pin prompt versions, swap the system prompt, capture runs, schedule learning."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_prompt_optimization._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
