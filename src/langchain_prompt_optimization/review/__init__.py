"""Review: read, approve and roll back what the agent learned."""

from __future__ import annotations

from langchain_prompt_optimization.review.registry import PromptRegistry

__all__ = ["PromptRegistry"]
