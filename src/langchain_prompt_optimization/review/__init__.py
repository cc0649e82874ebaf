"""Review: read, approve and roll back what the agent learned."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_prompt_optimization._lazy import lazy_exports

if TYPE_CHECKING:
    from langchain_prompt_optimization.review.registry import (
        PromptRegistry,
    )

__all__ = [
    "PromptRegistry",
]

# Public name -> the module defining it, imported on first use (PEP 562): one line per
# name, in step with the TYPE_CHECKING imports above.
_EXPORTS: dict[str, str] = {
    "PromptRegistry": "langchain_prompt_optimization.review.registry",
}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)
