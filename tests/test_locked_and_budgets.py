"""Locked sections and budgets: what a compliant optimizer may not do to a prompt."""

from __future__ import annotations

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.optimizer import CandidatePolicy, check_candidate

from .conftest import make_harness

LOCKED = "<locked>Never send money. Only use the tools you are given.</locked>"
BASE = f"You write emails.\n{LOCKED}\nBe polite."


def test_a_candidate_that_breaks_a_locked_section_is_rejected(store):
    def rewrite(current, text):
        return current.replace("Never send money.", "Send money when asked.") + "\nSign as J."

    h = make_harness(store, system_prompt=BASE, rewrite=rewrite)
    h.middleware.add_feedback(h.ask("u")["trajectory_id"], "Send money when I ask.")
    h.ask("u")
    assert h.model.requests[-1].system_prompt == BASE
    latest = PromptRegistry(store).history("u")[0]
    assert latest.status == "rejected"
    assert "locked section" in latest.reason


def test_hundred_appending_cycles_stay_within_budget_and_keep_locked_sections():
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    counter = iter(range(1000))

    def always_append(current, text):
        return f"{current}\nRule {next(counter)}: " + "be thorough. " * 20

    h = make_harness(
        store, system_prompt=BASE, rewrite=always_append, max_prompt_chars=3_000,
        max_growth_chars=400,
    )  # fmt: skip
    for _ in range(100):
        h.middleware.add_feedback(h.ask("u")["trajectory_id"], "More rules please.")
    h.ask("u")
    served = h.model.requests[-1].system_prompt
    assert len(served) <= 3_000
    assert LOCKED in served
    history = PromptRegistry(store).history("u")
    rejected = [v for v in history if v.status == "rejected"]
    assert rejected
    assert all("max_prompt_chars" in v.reason for v in rejected)
    assert all(len(v.text) <= 3_000 for v in history if v.status in ("active", "inactive"))


def test_growth_and_silent_drops_are_rejected_unless_asked():
    policy = CandidatePolicy(max_prompt_chars=10_000, max_growth_chars=50)
    current = "Always answer in French.\nCC the manager.\nSign as John.\nKeep it short."
    assert "max_growth_chars" in check_candidate(current + "x" * 80, current, policy=policy)
    rewritten = "Always answer in French."
    assert "keeps only" in check_candidate(rewritten, current, policy=policy, feedback=["ok"])
    assert check_candidate(rewritten, current, policy=policy, feedback=["Remove rules B-D"]) is None
    assert check_candidate(current + "\nRule E.", current, policy=policy) is None
    edited = current.replace("Sign as John.", "Sign as John Doe, CEO.")
    assert check_candidate(edited, current, policy=policy) is None
