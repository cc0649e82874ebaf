"""Test helpers: scripted chat models for offline agent and optimizer tests."""

from __future__ import annotations

from langchain_prompt_optimization.testing.models import (
    Rewrite,
    ScriptedChatModel,
    ScriptedOptimizerModel,
    ScriptedRequest,
)

__all__ = ["Rewrite", "ScriptedChatModel", "ScriptedOptimizerModel", "ScriptedRequest"]
