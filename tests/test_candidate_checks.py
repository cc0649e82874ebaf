"""Refused candidates: the active prompt stays byte-identical and the refusal is on the history."""

from __future__ import annotations

import pytest
from langmem.utils import get_var_healer

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.optimizer import (
    check_candidate,
    template_variables,
    undo_langmem_escaping,
)

from .conftest import BASE_PROMPT, make_harness

KINDS = ["prompt_memory", "metaprompt", "gradient"]
TEMPLATE = 'You help {user_name}. Reply as JSON like {"to": "a@b.c", "meta": {"cc": []}}.'


def _refusal(store, kind, rewrite, system_prompt=BASE_PROMPT):
    h = make_harness(store, kind=kind, rewrite=rewrite, system_prompt=system_prompt)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Do better.")
    h.ask("u")
    served = h.model.requests[-1].system_prompt
    return PromptRegistry(store).history("u"), served


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        ("", "empty candidate"),
        ("   \n\t ", "empty candidate"),
        ("No recommendations.", "No recommendations"),
    ],
)
def test_empty_and_sentinel_candidates_are_refused(store, kind, candidate, reason):
    history, served = _refusal(store, kind, lambda cur, text: candidate)
    assert served == BASE_PROMPT
    if kind == "metaprompt" and candidate in ("", "No recommendations."):
        # langmem's metaprompt optimizer maps these to "keep the prompt" itself.
        assert [(v.version, v.status) for v in history] == [(1, "active")]
        return
    assert history[0].status == "rejected"
    assert reason in history[0].reason
    assert history[0].text == candidate
    assert history[1].status == "active"
    assert history[1].text == BASE_PROMPT


@pytest.mark.parametrize("kind", KINDS)
def test_candidate_dropping_a_variable_is_refused(store, kind):
    def drop(current, text):
        return current.replace("{user_name}", "the user") + " Be brief."

    history, served = _refusal(store, kind, drop, system_prompt=TEMPLATE)
    assert served == TEMPLATE  # byte-identical
    if kind == "prompt_memory":
        assert history[0].status == "rejected"
        assert "{user_name}" in history[0].reason
    else:
        # langmem itself refuses (its schema requires the variables): recorded as a failure.
        assert history[0].status in ("rejected", "failed")
    assert history[0].status != "active"


@pytest.mark.parametrize("kind", KINDS)
def test_optimizer_error_is_recorded_and_feedback_kept(store, kind):
    h = make_harness(store, kind=kind)
    h.optimizer.fail_with = RuntimeError("provider exploded")
    result = h.ask("u")
    h.middleware.add_feedback(result["trajectory_id"], "Sign as John Doe.")
    answer = h.ask("u")
    assert answer["messages"][-1].content
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    history = PromptRegistry(store).history("u")
    assert history[0].status == "failed"
    assert "provider exploded" in history[0].reason
    assert history[1].text == BASE_PROMPT
    assert history[1].status == "active"
    # The feedback was not lost: once the optimizer works, it is learned.
    h.optimizer.fail_with = None
    assert h.middleware.optimize_now("u").status == "optimized"
    assert PromptRegistry(store).current("u").text.endswith("John Doe.")


@pytest.mark.parametrize("kind", KINDS)
def test_literal_braces_and_variables_reach_the_model_exactly(store, kind):
    added = 'Add {"sig": "John Doe"} to every reply.'
    history, served = _refusal(
        store, kind, lambda cur, text: f"{cur}\n{added}", system_prompt=TEMPLATE
    )
    assert served == f"{TEMPLATE}\n{added}"
    assert history[0].text == served


def test_undo_escaping_restores_carried_text_byte_for_byte():
    current = 'Hi {name}.\nSchema:\n{"a": {"b": [1, 2]}}\nEnd.'
    model_output = current + '\nAlso {"c": 3}.'
    healed = get_var_healer(current)(model_output)
    assert healed != model_output  # langmem did change it
    assert undo_langmem_escaping(healed, current) == model_output
    assert undo_langmem_escaping(current, current) == current
    assert undo_langmem_escaping("no braces", current) == "no braces"


def test_template_variables_ignore_literal_and_doubled_braces():
    assert template_variables('Hi {name}, {{literal}} {"json": 1} {a_1}') == {"name", "a_1"}


def test_check_candidate_accepts_a_sound_rewrite():
    assert check_candidate("Hello {name}. Be brief.", "Hello {name}.") is None
    assert check_candidate("No recommendations", "x") is not None
