"""Review and governance: history, diff, approval, rejection, rollback, scope, base drift."""

from __future__ import annotations

import hashlib

import pytest

from langchain_prompt_optimization import (
    InvalidTransitionError,
    NamespaceBusyError,
    PromptRegistry,
    UnknownUserError,
    UnknownVersionError,
)
from langchain_prompt_optimization.optimizer.learned_section import compose
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive

from .conftest import BASE_PROMPT, SIGN_RULE, make_harness

LEARNED = f"{BASE_PROMPT}\n{SIGN_RULE}"
LEARNED_GLOBAL = compose(BASE_PROMPT, SIGN_RULE, shared=True)
"""What a new global lineage learns: the base, then the learned section (the default there)."""
BRIEF = "Keep emails under 50 words."


def brief_or_sign(current: str, text: str) -> str:
    if "brief" in text and BRIEF not in current:
        return f"{current}\n{BRIEF}"
    if "John Doe" in text and SIGN_RULE not in current:
        return f"{current}\n{SIGN_RULE}"
    return current


def _learn(h, user="jane", feedback="Sign as John Doe.", **kwargs):
    result = h.ask(user)
    h.middleware.add_feedback(result["trajectory_id"], feedback, **kwargs)
    return result


def test_registry_reads_history_versions_diff_and_feedback(store):
    h = make_harness(store, rewrite=brief_or_sign)
    _learn(h, score=0.0)
    _learn(h, feedback="Be brief.")
    registry = PromptRegistry(store)
    assert registry.users() == ["jane"]
    history = registry.history("jane")
    assert [(v.version, v.status) for v in history] == [
        (3, "active"),
        (2, "inactive"),
        (1, "inactive"),
    ]
    assert registry.version("jane", 2).text == LEARNED
    assert registry.diff("jane", 1, 3) == (
        f"--- system v1\n+++ system v3\n@@ -1 +1,3 @@\n {BASE_PROMPT}\n+{SIGN_RULE}\n+{BRIEF}\n"
    )
    assert registry.diff("jane", 2, 2) == ""
    with pytest.raises(UnknownVersionError):
        registry.diff("jane", 1, 9)
    with pytest.raises(UnknownVersionError):
        registry.version("jane", 0)
    assert registry.feedback("jane") == []
    items = registry.feedback("jane", pending_only=False)
    assert [fb.status for fb in items] == ["consumed", "consumed"]
    assert items[0].score == 0.0
    assert items[0].consumed_by == {"system": 2}
    assert items[1].trajectory_id
    with pytest.raises(UnknownUserError):
        registry.feedback("nobody")


def test_provenance_on_every_version(store):
    h = make_harness(store)
    _learn(h)
    v2, v1 = PromptRegistry(store).history("jane")
    assert v2.optimizer_kind == "prompt_memory"
    assert v2.parent == 1
    assert len(v2.feedback_ids) == 1
    assert v2.reason == "optimized from feedback"
    assert v2.content_hash == hashlib.sha256(LEARNED.encode()).hexdigest()
    assert v2.base_hash == v1.content_hash == hashlib.sha256(BASE_PROMPT.encode()).hexdigest()
    assert v2.usage["optimizer_calls"] == 1
    assert v2.usage["input_tokens"] > 0
    assert v2.usage["output_tokens"] > 0


def test_pending_versions_are_inert_until_approved(store):
    h = make_harness(store, require_approval=True)
    _learn(h)
    registry = PromptRegistry(store)
    assert [(v.version, v.status) for v in registry.history("jane")] == [
        (2, "pending"),
        (1, "active"),
    ]
    h.ask("jane")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    approved = registry.approve("jane", 2, note="looks right")
    assert approved.status == "active"
    assert approved.review["action"] == "approve"
    assert approved.review["note"] == "looks right"
    result = h.ask("jane")
    assert h.model.requests[-1].system_prompt == LEARNED
    assert result["prompt_versions"] == {"system": 2}
    with pytest.raises(InvalidTransitionError, match="only pending"):
        registry.approve("jane", 2)


def test_newer_pending_supersedes_older_and_reject_keeps_active(store):
    h = make_harness(store, rewrite=brief_or_sign, require_approval=True)
    _learn(h)
    _learn(h, feedback="Be brief.")
    registry = PromptRegistry(store)
    statuses = [(v.version, v.status) for v in registry.history("jane")]
    assert statuses == [(3, "pending"), (2, "superseded"), (1, "active")]
    with pytest.raises(InvalidTransitionError, match="superseded"):
        registry.approve("jane", 2)
    rejected = registry.reject("jane", 3, note="too terse")
    assert rejected.status == "rejected"
    h.ask("jane")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    assert registry.current("jane").version == 1
    with pytest.raises(InvalidTransitionError):
        registry.reject("jane", 3)


def test_rollback_appends_a_new_version_and_is_served(store):
    h = make_harness(store)
    _learn(h)
    registry = PromptRegistry(store)
    new = registry.rollback("jane", 1, note="bad sign-off")
    assert (new.version, new.status, new.parent, new.text) == (3, "active", 2, BASE_PROMPT)
    assert new.reason == "rollback to v1: bad sign-off"
    assert [v.version for v in registry.history("jane")] == [3, 2, 1]
    assert registry.version("jane", 2).text == LEARNED  # nothing rewritten
    result = h.ask("jane")
    assert h.model.requests[-1].system_prompt == BASE_PROMPT
    assert result["prompt_versions"] == {"system": 3}
    with pytest.raises(InvalidTransitionError, match="already active"):
        registry.rollback("jane", 3)
    with pytest.raises(UnknownVersionError):
        registry.rollback("jane", 7)
    with pytest.raises(UnknownUserError):
        registry.rollback("nobody", 1)
    again = registry.rollback("jane", 2)
    assert again.text == LEARNED


def test_rollback_refuses_versions_that_were_never_served(store):
    h = make_harness(store, require_approval=True)
    _learn(h)
    registry = PromptRegistry(store)
    registry.reject("jane", 2)
    with pytest.raises(InvalidTransitionError, match="never served"):
        registry.rollback("jane", 2)


def test_global_scope_shares_one_lineage_and_requires_approval(store):
    h = make_harness(store, scope="global")
    assert h.middleware.require_approval is True
    _learn(h, user="alice")
    h.ask("bob")
    registry = PromptRegistry(store, scope="global")
    assert registry.current("bob").version == 1
    assert registry.history("alice")[0].status == "pending"
    registry.approve("carol-never-seen", 2)  # the one global lineage, whoever asks
    h.ask("bob")
    assert h.model.requests[-1].system_prompt == LEARNED_GLOBAL
    assert [fb.user_id for fb in registry.feedback("alice", pending_only=False)] == ["alice"]
    assert registry.feedback("bob", pending_only=False) == []
    assert sorted(registry.users()) == ["alice", "bob"]


def test_global_scope_without_approval_learns_for_everyone(store):
    h = make_harness(store, scope="global", require_approval=False)
    _learn(h, user="alice")
    h.ask("bob")
    assert h.model.requests[-1].system_prompt == LEARNED_GLOBAL


def test_base_change_in_code_starts_a_new_lineage(store):
    h = make_harness(store)
    _learn(h)
    changed = make_harness(store, system_prompt="You write short emails.")
    first = changed.ask("jane")
    # The new base is served at once; it becomes a version on the next run.
    assert changed.model.requests[-1].system_prompt == "You write short emails."
    assert first["prompt_versions"] == {"system": 0}
    second = changed.ask("jane")
    assert changed.model.requests[-1].system_prompt == "You write short emails."
    assert second["prompt_versions"] == {"system": 3}
    history = PromptRegistry(store).history("jane")
    assert [(v.version, v.status) for v in history] == [
        (3, "active"),
        (2, "inactive"),
        (1, "inactive"),
    ]
    assert history[0].reason.startswith("base prompt changed in code")
    assert history[0].base_hash != history[1].base_hash
    assert history[1].text == LEARNED  # the old lineage stays readable


def test_base_change_with_carry_reoptimizes_the_new_base(store):
    h = make_harness(store)
    _learn(h)
    changed = make_harness(store, system_prompt="You write short emails.", on_base_change="carry")
    changed.ask("jane")
    changed.ask("jane")  # rebase, then the learned feedback is re-applied to the new base
    changed.ask("jane")
    assert changed.model.requests[-1].system_prompt == f"You write short emails.\n{SIGN_RULE}"
    history = PromptRegistry(store).history("jane")
    assert [(v.version, v.status) for v in history][:2] == [(4, "active"), (3, "inactive")]
    assert "carried over" in history[1].reason


def test_named_prompt_base_change_is_detected_on_the_first_run(store):
    def rewrite(current, text):
        return current + " Use bullet points." if current.startswith("Be") else current

    h = make_harness(store, rewrite=rewrite, prompts=[{"name": "tone", "prompt": "Be brief."}])
    h.optimizer.classify = lambda choices, text: ["tone"]
    _learn(h, feedback="Use bullets.")
    assert h.middleware.get_prompt("tone", user_id="jane") == "Be brief. Use bullet points."
    changed = make_harness(store, prompts=[{"name": "tone", "prompt": "Be concise."}])
    result = changed.ask("jane")
    assert result["prompt_versions"]["tone"] == 3
    assert changed.middleware.prompt_for_run(result, "tone") == "Be concise."


def test_changes_wait_for_a_busy_namespace_then_fail_clearly(store):
    h = make_harness(store, require_approval=True)
    _learn(h)
    layout = StoreLayout()
    assert drive(layout.acquire_lease(UserRef.of("jane"), "someone-else", 60), store)
    registry = PromptRegistry(store, lease_wait=0.2)
    with pytest.raises(NamespaceBusyError, match="retry"):
        registry.approve("jane", 2)
    drive(layout.release_lease(UserRef.of("jane"), "someone-else"), store)
    assert registry.approve("jane", 2).status == "active"


async def test_async_registry_twins(store):
    h = make_harness(store, require_approval=True)
    result = await h.aask("jane")
    await h.middleware.aadd_feedback(result["trajectory_id"], "Sign as John Doe.")
    registry = PromptRegistry(store)
    assert await registry.ausers() == ["jane"]
    assert (await registry.ahistory("jane"))[0].status == "pending"
    assert (await registry.aversion("jane", 2)).text == LEARNED
    assert "+Always sign" in await registry.adiff("jane", 1, 2)
    assert [fb.status for fb in await registry.afeedback("jane", pending_only=False)] == [
        "consumed"
    ]
    assert (await registry.aapprove("jane", 2)).status == "active"
    assert (await registry.acurrent("jane")).version == 2
    assert (await registry.arollback("jane", 1)).version == 3
    _learn(h)
    assert (await registry.areject("jane", 4)).status == "rejected"


def test_a_newer_pending_version_builds_on_the_one_it_supersedes(store):
    h = make_harness(store, rewrite=brief_or_sign, require_approval=True)
    _learn(h)
    _learn(h, feedback="Be brief.")
    registry = PromptRegistry(store)
    v3 = registry.version("jane", 3)
    assert v3.text == f"{LEARNED}\n{BRIEF}"  # v2's sign rule is kept
    assert v3.parent == 2
    registry.approve("jane", 3)
    h.ask("jane")
    assert h.model.requests[-1].system_prompt == f"{LEARNED}\n{BRIEF}"


def test_rollback_supersedes_pending_versions_built_on_what_was_rolled_back(store):
    h = make_harness(store, rewrite=brief_or_sign)
    _learn(h)
    approval = make_harness(store, rewrite=brief_or_sign, require_approval=True)
    _learn(approval, feedback="Be brief.")
    registry = PromptRegistry(store)
    assert registry.version("jane", 3).status == "pending"
    registry.rollback("jane", 1)
    assert registry.version("jane", 3).status == "superseded"
    with pytest.raises(InvalidTransitionError):
        registry.approve("jane", 3)


def test_replicas_on_different_bases_never_rebase_back_and_forth(store):
    old = make_harness(store)
    _learn(old)
    new = make_harness(store, system_prompt="You write short emails.")
    for i in range(6):
        (old if i % 2 else new).ask("jane")
    history = PromptRegistry(store).history("jane")
    assert sum("base prompt changed" in v.reason for v in history) == 1
    old.ask("jane")
    assert old.model.requests[-1].system_prompt == BASE_PROMPT  # the old replica's own base
    new.ask("jane")
    assert new.model.requests[-1].system_prompt == "You write short emails."


def test_carry_does_not_bring_back_what_was_rolled_back(store):
    h = make_harness(store, rewrite=brief_or_sign)
    _learn(h)
    _learn(h, feedback="Be brief.")
    PromptRegistry(store).rollback("jane", 2)  # keep the sign rule, drop the brevity rule
    changed = make_harness(
        store, rewrite=brief_or_sign, system_prompt="Short emails.", on_base_change="carry"
    )
    for _ in range(3):
        changed.ask("jane")
    assert changed.model.requests[-1].system_prompt == f"Short emails.\n{SIGN_RULE}"


def test_carry_only_reoptimizes_the_prompt_whose_base_changed(store):
    def rewrite(current, text):
        if current.startswith("Be"):
            return current if "bullet" in current else f"{current} Use bullet points."
        return current if "Sign" in current else f"{current}\nSign as John Doe."

    h = make_harness(store, rewrite=rewrite, prompts=[{"name": "tone", "prompt": "Be brief."}])
    _learn(h, feedback="Use bullets and sign.")
    registry = PromptRegistry(store)
    system_versions = len(registry.history("jane"))
    changed = make_harness(
        store,
        rewrite=rewrite,
        prompts=[{"name": "tone", "prompt": "Be concise."}],
        on_base_change="carry",
        optimizer_model=None,  # the agent's own model: known only after the first model call
    )
    changed.model.responses = _agent_or_optimizer(rewrite)
    changed.ask("jane")
    changed.ask("jane")
    assert changed.middleware.get_prompt("tone", user_id="jane") == (
        "Be concise. Use bullet points."
    )
    assert len(registry.history("jane")) == system_versions  # the system prompt was not touched


def _agent_or_optimizer(rewrite):
    from langchain_prompt_optimization.testing import ScriptedOptimizerModel

    optimizer = ScriptedOptimizerModel(rewrite=rewrite)

    def reply(request):
        if request.tools and request.tools != []:
            return optimizer.reply(request)
        return "Hello"

    return reply


def test_registry_follows_the_scope_recorded_by_the_middleware(store):
    h = make_harness(store, scope="global", require_approval=False)
    _learn(h, user="alice")
    registry = PromptRegistry(store)  # no scope given
    assert registry.current("alice").version == 2
    assert registry.current("bob-never-seen").text == LEARNED_GLOBAL


def test_errors_for_a_prompt_never_changed(store):
    h = make_harness(store, prompts=[{"name": "tone", "prompt": "Be brief."}])
    h.ask("jane")
    registry = PromptRegistry(store)
    with pytest.raises(InvalidTransitionError, match="already active"):
        registry.rollback("jane", 1, prompt="tone")
    with pytest.raises(UnknownVersionError, match="no version 7"):
        registry.approve("jane", 7, prompt="tone")
    from langchain_prompt_optimization import UnknownPromptError

    with pytest.raises(UnknownPromptError):
        registry.approve("jane", 2, prompt="nope")
