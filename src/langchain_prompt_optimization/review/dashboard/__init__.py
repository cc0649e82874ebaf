"""The review dashboard (`promptopt serve`): an ASGI app over `PromptRegistry` (extra `[ui]`)."""

from __future__ import annotations

import logging

from langchain_prompt_optimization.review.dashboard.app import ACTIONS, create_app
from langchain_prompt_optimization.review.dashboard.server import serve

__all__ = ["ACTIONS", "create_app", "serve"]

logger = logging.getLogger(__name__)
