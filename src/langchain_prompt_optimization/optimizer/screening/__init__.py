"""Pluggable screening of feedback, runs and candidate prompts: rules, a model judge, yours."""

from __future__ import annotations

from langchain_prompt_optimization.optimizer.screening.base import (
    REVIEW_CATEGORIES,
    VERDICTS,
    CandidateDelta,
    FeedbackBatch,
    Screener,
    Verdict,
    candidate_delta,
    needs_review,
)
from langchain_prompt_optimization.optimizer.screening.model import (
    JUDGE_CATEGORIES,
    JudgeVerdict,
    ModelScreener,
)
from langchain_prompt_optimization.optimizer.screening.pipeline import (
    DEFAULT_SCREENERS,
    SCREENER_NAMES,
)
from langchain_prompt_optimization.optimizer.screening.rules import RulesScreener

__all__ = [
    "DEFAULT_SCREENERS",
    "JUDGE_CATEGORIES",
    "REVIEW_CATEGORIES",
    "SCREENER_NAMES",
    "VERDICTS",
    "CandidateDelta",
    "FeedbackBatch",
    "JudgeVerdict",
    "ModelScreener",
    "RulesScreener",
    "Screener",
    "Verdict",
    "candidate_delta",
    "needs_review",
]
