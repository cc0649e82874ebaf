"""Test helpers: scripted models, trajectory assertions, an instrumented store.

The pytest fixtures (`prompt_store`, `scripted_model`, `scripted_optimizer`,
`optimizing_agent`) are in `testing.pytest_plugin`, registered automatically through the
`pytest11` entry point when the package is installed.
"""

from __future__ import annotations

from langchain_prompt_optimization.testing.models import (
    Rewrite,
    ScriptedChatModel,
    ScriptedOptimizerModel,
    ScriptedRequest,
    append_feedback,
    feedback_in,
)
from langchain_prompt_optimization.testing.openai_server import LoopbackOpenAIServer
from langchain_prompt_optimization.testing.stores import (
    BatchRecord,
    InstrumentedStore,
    StoreUnavailableError,
)
from langchain_prompt_optimization.testing.trajectory import (
    aassert_trajectory_match,
    assert_trajectory_match,
    format_trajectory,
)

__all__ = [
    "BatchRecord",
    "InstrumentedStore",
    "LoopbackOpenAIServer",
    "Rewrite",
    "ScriptedChatModel",
    "ScriptedOptimizerModel",
    "ScriptedRequest",
    "StoreUnavailableError",
    "aassert_trajectory_match",
    "append_feedback",
    "assert_trajectory_match",
    "feedback_in",
    "format_trajectory",
]
