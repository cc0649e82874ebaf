"""Test helpers: scripted chat models for offline agent and optimizer tests."""

from __future__ import annotations

from langchain_prompt_optimization.testing.models import (
    Rewrite,
    ScriptedChatModel,
    ScriptedOptimizerModel,
    ScriptedRequest,
)
from langchain_prompt_optimization.testing.stores import (
    BatchRecord,
    InstrumentedStore,
    StoreUnavailableError,
)

__all__ = [
    "BatchRecord",
    "InstrumentedStore",
    "Rewrite",
    "ScriptedChatModel",
    "ScriptedOptimizerModel",
    "ScriptedRequest",
    "StoreUnavailableError",
]
