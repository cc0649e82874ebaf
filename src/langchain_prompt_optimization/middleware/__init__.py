"""Agent hooks: pin prompt versions, swap the system prompt, capture runs, schedule learning."""

from __future__ import annotations

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
