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
from langchain_prompt_optimization.optimizer.gate import (
    MATCH_MODES,
    EvaluationGate,
    GateResult,
    reference_example,
)
from langchain_prompt_optimization.optimizer.monitor import Monitor
from langchain_prompt_optimization.optimizer.privacy import (
    PII_TYPES,
    detect_phone,
    find_pii,
    redact_pii,
)
from langchain_prompt_optimization.optimizer.run import (
    KINDS,
    OptimizationOutcome,
    OptimizerKind,
    UsageCounter,
    optimize_user,
)
from langchain_prompt_optimization.optimizer.settings import OptimizerSettings, SafetySettings
from langchain_prompt_optimization.optimizer.worker import PromptWorker

__all__ = [
    "CATEGORIES",
    "KINDS",
    "MATCH_MODES",
    "MODES",
    "NO_RECOMMENDATIONS",
    "PII_TYPES",
    "CandidatePolicy",
    "EvaluationGate",
    "FeedbackFirewall",
    "Finding",
    "GateResult",
    "Mode",
    "Monitor",
    "OptimizationEngine",
    "OptimizationOutcome",
    "OptimizerKind",
    "OptimizerSettings",
    "PromptWorker",
    "SafetySettings",
    "UsageCounter",
    "check_candidate",
    "detect_phone",
    "find_pii",
    "locked_sections",
    "optimize_user",
    "quote_untrusted",
    "redact_pii",
    "reference_example",
    "template_variables",
    "undo_langmem_escaping",
]
