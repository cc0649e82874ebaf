"""An optimizer model that cannot give langmem structured output is recorded in plain words."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.testing import ScriptedChatModel

from .conftest import BASE_PROMPT, make_harness


def _plain_text_harness(kind: str = "prompt_memory"):
    # No optimizer model: the agent's own model (plain text only) is the optimizer.
    model = ScriptedChatModel(responses=["Sure, here it is."], repeat_last=True)
    return make_harness(InMemoryStore(), model=model, optimizer_model=None, kind=kind)


def _assert_plain_reason(reason: str) -> None:
    assert "the optimizer model (ScriptedChatModel) did not return langmem's structured" in reason
    assert "use a model that supports tool calling" in reason
    assert "optimizer=OptimizerSettings(model=...)" in reason
    assert "optimizer raised" not in reason


@pytest.mark.parametrize("kind", ["prompt_memory", "metaprompt", "gradient"])
def test_a_plain_text_optimizer_model_is_named_with_the_fix(kind):
    h = _plain_text_harness(kind)
    run = h.ask("jane")
    h.middleware.add_feedback(run["trajectory_id"], "Always sign emails as John Doe.")

    registry = PromptRegistry(h.store)
    failed, base = registry.history("jane")
    assert (failed.status, base.status) == ("failed", "active")
    _assert_plain_reason(failed.reason)
    assert registry.current("jane").text == BASE_PROMPT  # nothing activated
    assert [fb.status for fb in registry.feedback("jane")] == ["pending"]  # retried later


async def test_the_async_path_records_the_same_reason():
    h = _plain_text_harness()
    run = await h.aask("jane")
    await h.middleware.aadd_feedback(run["trajectory_id"], "Always sign emails as John Doe.")

    failed, _ = await PromptRegistry(h.store).ahistory("jane")
    assert failed.status == "failed"
    _assert_plain_reason(failed.reason)


def test_other_optimizer_errors_keep_their_own_text():
    h = make_harness(InMemoryStore(), rewrite=_raise_timeout)
    run = h.ask("jane")
    h.middleware.add_feedback(run["trajectory_id"], "Always sign emails as John Doe.")

    failed, _ = PromptRegistry(h.store).history("jane")
    assert failed.reason == "optimizer raised TimeoutError: the model timed out"


def _raise_timeout(current: str, feedback: str) -> str:
    raise TimeoutError("the model timed out")
