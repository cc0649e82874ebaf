"""Learning: triggers, running langmem's multi-prompt optimizer, candidate checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_prompt_optimization._lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_prompt_optimization.optimizer.checks import (
        NO_RECOMMENDATIONS,
        CandidatePolicy,
        check_candidate,
        locked_sections,
        template_variables,
        undo_langmem_escaping,
    )
    from langchain_prompt_optimization.optimizer.engine import (
        MODES,
        Mode,
        OptimizationEngine,
    )
    from langchain_prompt_optimization.optimizer.evaluation import (
        EvaluationStats,
    )
    from langchain_prompt_optimization.optimizer.evaluators import (
        EvaluatorSettings,
    )
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
    from langchain_prompt_optimization.optimizer.langmem_call import (
        UsageCounter,
    )
    from langchain_prompt_optimization.optimizer.monitor import (
        Monitor,
    )
    from langchain_prompt_optimization.optimizer.privacy import (
        PII_TYPES,
        added_personal_data,
        detect_phone,
        find_pii,
        redact_pii,
    )
    from langchain_prompt_optimization.optimizer.run import (
        KINDS,
        OptimizationOutcome,
        OptimizerKind,
        optimize_user,
    )
    from langchain_prompt_optimization.optimizer.screening import (
        JUDGE_CATEGORIES,
        REVIEW_CATEGORIES,
        CandidateDelta,
        FeedbackBatch,
        JudgeVerdict,
        ModelScreener,
        RulesScreener,
        Screener,
        Verdict,
        needs_review,
    )
    from langchain_prompt_optimization.optimizer.settings import (
        OptimizerSettings,
        SafetySettings,
    )
    from langchain_prompt_optimization.optimizer.worker import (
        PromptWorker,
    )

__all__ = [
    "CATEGORIES",
    "JUDGE_CATEGORIES",
    "KINDS",
    "MATCH_MODES",
    "MODES",
    "NO_RECOMMENDATIONS",
    "PII_TYPES",
    "REVIEW_CATEGORIES",
    "CandidateDelta",
    "CandidatePolicy",
    "EvaluationGate",
    "EvaluationStats",
    "EvaluatorSettings",
    "FeedbackBatch",
    "FeedbackFirewall",
    "Finding",
    "GateResult",
    "JudgeVerdict",
    "Mode",
    "ModelScreener",
    "Monitor",
    "OptimizationEngine",
    "OptimizationOutcome",
    "OptimizerKind",
    "OptimizerSettings",
    "PromptWorker",
    "RulesScreener",
    "SafetySettings",
    "Screener",
    "UsageCounter",
    "Verdict",
    "added_personal_data",
    "check_candidate",
    "detect_phone",
    "find_pii",
    "locked_sections",
    "needs_review",
    "optimize_user",
    "quote_untrusted",
    "redact_pii",
    "reference_example",
    "template_variables",
    "undo_langmem_escaping",
]

# Public name -> the module defining it, imported on first use (PEP 562): one line per
# name, in step with the TYPE_CHECKING imports above.
_SCREENING = "langchain_prompt_optimization.optimizer.screening"
_EXPORTS: dict[str, str] = {
    "CandidateDelta": _SCREENING,
    "FeedbackBatch": _SCREENING,
    "JUDGE_CATEGORIES": _SCREENING,
    "JudgeVerdict": _SCREENING,
    "ModelScreener": _SCREENING,
    "REVIEW_CATEGORIES": _SCREENING,
    "RulesScreener": _SCREENING,
    "Screener": _SCREENING,
    "Verdict": _SCREENING,
    "needs_review": _SCREENING,
    "CATEGORIES": "langchain_prompt_optimization.optimizer.firewall",
    "KINDS": "langchain_prompt_optimization.optimizer.run",
    "MATCH_MODES": "langchain_prompt_optimization.optimizer.gate",
    "MODES": "langchain_prompt_optimization.optimizer.engine",
    "NO_RECOMMENDATIONS": "langchain_prompt_optimization.optimizer.checks",
    "PII_TYPES": "langchain_prompt_optimization.optimizer.privacy",
    "CandidatePolicy": "langchain_prompt_optimization.optimizer.checks",
    "EvaluationGate": "langchain_prompt_optimization.optimizer.gate",
    "EvaluationStats": "langchain_prompt_optimization.optimizer.evaluation",
    "EvaluatorSettings": "langchain_prompt_optimization.optimizer.evaluators",
    "FeedbackFirewall": "langchain_prompt_optimization.optimizer.firewall",
    "Finding": "langchain_prompt_optimization.optimizer.firewall",
    "GateResult": "langchain_prompt_optimization.optimizer.gate",
    "Mode": "langchain_prompt_optimization.optimizer.engine",
    "Monitor": "langchain_prompt_optimization.optimizer.monitor",
    "OptimizationEngine": "langchain_prompt_optimization.optimizer.engine",
    "OptimizationOutcome": "langchain_prompt_optimization.optimizer.run",
    "OptimizerKind": "langchain_prompt_optimization.optimizer.run",
    "OptimizerSettings": "langchain_prompt_optimization.optimizer.settings",
    "PromptWorker": "langchain_prompt_optimization.optimizer.worker",
    "SafetySettings": "langchain_prompt_optimization.optimizer.settings",
    "UsageCounter": "langchain_prompt_optimization.optimizer.metering",
    "added_personal_data": "langchain_prompt_optimization.optimizer.privacy",
    "check_candidate": "langchain_prompt_optimization.optimizer.checks",
    "detect_phone": "langchain_prompt_optimization.optimizer.privacy",
    "find_pii": "langchain_prompt_optimization.optimizer.privacy",
    "locked_sections": "langchain_prompt_optimization.optimizer.checks",
    "optimize_user": "langchain_prompt_optimization.optimizer.run",
    "quote_untrusted": "langchain_prompt_optimization.optimizer.firewall",
    "redact_pii": "langchain_prompt_optimization.optimizer.privacy",
    "reference_example": "langchain_prompt_optimization.optimizer.gate",
    "template_variables": "langchain_prompt_optimization.optimizer.checks",
    "undo_langmem_escaping": "langchain_prompt_optimization.optimizer.checks",
}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
