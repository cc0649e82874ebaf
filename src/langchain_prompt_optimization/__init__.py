"""LangChain v1 agent middleware that improves an agent's prompts per user from feedback.

Names are imported on first use (PEP 562), so `import langchain_prompt_optimization` and the
`promptopt` review commands do not pay for LangChain's agent stack, langmem or agentevals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_prompt_optimization._lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_prompt_optimization.errors import (
        FeedbackOutcomeUnknownError,
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
    from langchain_prompt_optimization.middleware.prompt_optimization import (
        SYSTEM_PROMPT,
        PromptOptimizationMiddleware,
        PromptOptimizationState,
    )
    from langchain_prompt_optimization.middleware.settings import SystemPromptSettings
    from langchain_prompt_optimization.optimizer.budget import Budget
    from langchain_prompt_optimization.optimizer.checks import CandidatePolicy
    from langchain_prompt_optimization.optimizer.evaluation import EvaluationStats
    from langchain_prompt_optimization.optimizer.evaluators import EvaluatorSettings
    from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
    from langchain_prompt_optimization.optimizer.gate import EvaluationGate
    from langchain_prompt_optimization.optimizer.monitor import Monitor
    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome
    from langchain_prompt_optimization.optimizer.screening import (
        CandidateDelta,
        FeedbackBatch,
        ModelScreener,
        RulesScreener,
        Screener,
        Verdict,
    )
    from langchain_prompt_optimization.optimizer.settings import OptimizerSettings, SafetySettings
    from langchain_prompt_optimization.optimizer.worker import PromptWorker
    from langchain_prompt_optimization.review.registry import PromptRegistry
    from langchain_prompt_optimization.stores.open import (
        aopen_store,
        default_store_uri,
        open_store,
    )
    from langchain_prompt_optimization.stores.records import (
        FeedbackItem,
        PromptVersion,
        Retention,
    )
    from langchain_prompt_optimization.stores.settings import StorageSettings

__all__ = [
    "SYSTEM_PROMPT",
    "Budget",
    "CandidateDelta",
    "CandidatePolicy",
    "EvaluationGate",
    "EvaluationStats",
    "EvaluatorSettings",
    "FeedbackBatch",
    "FeedbackFirewall",
    "FeedbackItem",
    "FeedbackOutcomeUnknownError",
    "InvalidTransitionError",
    "ModelScreener",
    "Monitor",
    "NamespaceBusyError",
    "OptimizationOutcome",
    "OptimizerSettings",
    "PromptOptimizationError",
    "PromptOptimizationMiddleware",
    "PromptOptimizationState",
    "PromptRegistry",
    "PromptVersion",
    "PromptWorker",
    "Retention",
    "RulesScreener",
    "SafetySettings",
    "Screener",
    "StorageSettings",
    "SystemPromptSettings",
    "TrajectoryNotFoundError",
    "UnknownExampleError",
    "UnknownFeedbackError",
    "UnknownPromptError",
    "UnknownUserError",
    "UnknownVersionError",
    "Verdict",
    "aopen_store",
    "default_store_uri",
    "open_store",
]

_ERRORS = "langchain_prompt_optimization.errors"
_MIDDLEWARE = "langchain_prompt_optimization.middleware.prompt_optimization"
_STORES_OPEN = "langchain_prompt_optimization.stores.open"
_RECORDS = "langchain_prompt_optimization.stores.records"
_SCREENING = "langchain_prompt_optimization.optimizer.screening"

# Public name -> the module defining it; one line per name (keep in step with TYPE_CHECKING).
_EXPORTS: dict[str, str] = {
    "Budget": "langchain_prompt_optimization.optimizer.budget",
    "CandidatePolicy": "langchain_prompt_optimization.optimizer.checks",
    "CandidateDelta": _SCREENING,
    "FeedbackBatch": _SCREENING,
    "ModelScreener": _SCREENING,
    "RulesScreener": _SCREENING,
    "Screener": _SCREENING,
    "Verdict": _SCREENING,
    "OptimizerSettings": "langchain_prompt_optimization.optimizer.settings",
    "SafetySettings": "langchain_prompt_optimization.optimizer.settings",
    "StorageSettings": "langchain_prompt_optimization.stores.settings",
    "SystemPromptSettings": "langchain_prompt_optimization.middleware.settings",
    "SYSTEM_PROMPT": _MIDDLEWARE,
    "EvaluationGate": "langchain_prompt_optimization.optimizer.gate",
    "EvaluationStats": "langchain_prompt_optimization.optimizer.evaluation",
    "EvaluatorSettings": "langchain_prompt_optimization.optimizer.evaluators",
    "FeedbackFirewall": "langchain_prompt_optimization.optimizer.firewall",
    "FeedbackItem": _RECORDS,
    "FeedbackOutcomeUnknownError": _ERRORS,
    "InvalidTransitionError": _ERRORS,
    "Monitor": "langchain_prompt_optimization.optimizer.monitor",
    "NamespaceBusyError": _ERRORS,
    "OptimizationOutcome": "langchain_prompt_optimization.optimizer.run",
    "PromptOptimizationError": _ERRORS,
    "PromptOptimizationMiddleware": _MIDDLEWARE,
    "PromptOptimizationState": _MIDDLEWARE,
    "PromptRegistry": "langchain_prompt_optimization.review.registry",
    "PromptVersion": _RECORDS,
    "PromptWorker": "langchain_prompt_optimization.optimizer.worker",
    "Retention": _RECORDS,
    "TrajectoryNotFoundError": _ERRORS,
    "UnknownExampleError": _ERRORS,
    "UnknownFeedbackError": _ERRORS,
    "UnknownPromptError": _ERRORS,
    "UnknownUserError": _ERRORS,
    "UnknownVersionError": _ERRORS,
    "aopen_store": _STORES_OPEN,
    "default_store_uri": _STORES_OPEN,
    "open_store": _STORES_OPEN,
}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
