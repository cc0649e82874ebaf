"""LangChain v1 agent middleware that improves an agent's prompts per user from feedback."""

from __future__ import annotations

from langchain_prompt_optimization.errors import (
    InvalidTransitionError,
    NamespaceBusyError,
    PromptOptimizationError,
    TrajectoryNotFoundError,
    UnknownExampleError,
    UnknownFeedbackError,
    UnknownPromptError,
    UnknownUserError,
    UnknownVersionError,
)
from langchain_prompt_optimization.middleware import (
    SYSTEM_PROMPT,
    PromptOptimizationMiddleware,
    PromptOptimizationState,
)
from langchain_prompt_optimization.optimizer import (
    EvaluationGate,
    Monitor,
    OptimizationOutcome,
    PromptWorker,
)
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.review import PromptRegistry
from langchain_prompt_optimization.stores import (
    FeedbackItem,
    PromptVersion,
    Retention,
    aopen_store,
    default_store_uri,
    open_store,
)

__all__ = [
    "SYSTEM_PROMPT",
    "EvaluationGate",
    "FeedbackFirewall",
    "FeedbackItem",
    "InvalidTransitionError",
    "Monitor",
    "NamespaceBusyError",
    "OptimizationOutcome",
    "PromptOptimizationError",
    "PromptOptimizationMiddleware",
    "PromptOptimizationState",
    "PromptRegistry",
    "PromptVersion",
    "PromptWorker",
    "Retention",
    "TrajectoryNotFoundError",
    "UnknownExampleError",
    "UnknownFeedbackError",
    "UnknownPromptError",
    "UnknownUserError",
    "UnknownVersionError",
    "aopen_store",
    "default_store_uri",
    "open_store",
]
