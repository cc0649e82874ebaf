"""Learning: triggers, running langmem's multi-prompt optimizer, candidate checks."""

from __future__ import annotations

from langchain_prompt_optimization.optimizer.checks import (
    NO_RECOMMENDATIONS,
    CandidatePolicy,
    check_candidate,
    locked_sections,
    template_variables,
    undo_langmem_escaping,
)
from langchain_prompt_optimization.optimizer.engine import MODES, Mode, OptimizationEngine
from langchain_prompt_optimization.optimizer.firewall import (
    CATEGORIES,
    FeedbackFirewall,
    Finding,
    quote_untrusted,
)
from langchain_prompt_optimization.optimizer.run import (
    KINDS,
    OptimizationOutcome,
    OptimizerKind,
    OptimizerSettings,
    optimize_user,
)
from langchain_prompt_optimization.optimizer.worker import PromptWorker

__all__ = [
    "CATEGORIES",
    "KINDS",
    "MODES",
    "NO_RECOMMENDATIONS",
    "CandidatePolicy",
    "FeedbackFirewall",
    "Finding",
    "Mode",
    "OptimizationEngine",
    "OptimizationOutcome",
    "OptimizerKind",
    "OptimizerSettings",
    "PromptWorker",
    "check_candidate",
    "locked_sections",
    "optimize_user",
    "quote_untrusted",
    "template_variables",
    "undo_langmem_escaping",
]
