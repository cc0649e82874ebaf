"""Arbitrary user ids: each gets its own namespace, and the original id is kept."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptRegistry, UnknownUserError
from langchain_prompt_optimization.stores import UserRef, decode_label, encode_label

from .conftest import BASE_PROMPT, SIGN_RULE, Context, make_harness

ODD_IDS = [
    "jane.doe@example.com",
    "jane%2Edoe@example.com",  # must not collide with the one above
    "jane%doe@example.com",
    "Zoë Ångström 李小龙 🙂",
    "x" * 350,
    "a.b.c" + "." * 40,
    "tab\tand\nnewline",
    "%%default",
    "%%users",
    "langgraph",
]


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_labels_are_valid_and_reversible(user_id):
    label = encode_label(user_id)
    assert "." not in label
    assert "\x00" not in label
    assert label
    assert decode_label(label) == user_id


def test_distinct_ids_never_share_a_namespace():
    labels = {UserRef.of(u).label for u in ODD_IDS}
    assert len(labels) == len(ODD_IDS)
    assert UserRef.of(None).label not in {encode_label(u) for u in ODD_IDS}


def test_odd_ids_learn_separately_and_are_listed_by_original_id(store):
    h = make_harness(store)
    learner = "jane.doe@example.com"
    for user_id in ODD_IDS:
        result = h.ask(user_id)
        if user_id == learner:
            h.middleware.add_feedback(result["trajectory_id"], "Sign as John Doe.")
    for user_id in ODD_IDS:
        h.ask(user_id)
        expected = f"{BASE_PROMPT}\n{SIGN_RULE}" if user_id == learner else BASE_PROMPT
        assert h.model.requests[-1].system_prompt == expected, user_id
    assert sorted(PromptRegistry(store).users()) == sorted(ODD_IDS)


def test_users_listing_is_not_cut_at_ten():
    store = InMemoryStore()
    h = make_harness(store)
    ids = [f"user-{i}" for i in range(25)]
    for user_id in ids:
        h.ask(user_id)
    assert sorted(PromptRegistry(store).users()) == sorted(ids)


def test_registry_rejects_bad_user_ids_clearly():
    registry = PromptRegistry(InMemoryStore())
    with pytest.raises(ValueError, match="must not be empty"):
        registry.history("")
    with pytest.raises(TypeError, match="must be a str"):
        registry.history(42)  # type: ignore[arg-type]
    with pytest.raises(UnknownUserError, match="no prompts or runs"):
        registry.history("nobody")
    with pytest.raises(KeyError):
        registry.current("nobody")


def test_many_pending_feedback_items_are_all_seen():
    store = InMemoryStore()
    h = make_harness(store, optimize_every=30, max_feedback_per_optimization=50)
    ids = [h.ask("u")["trajectory_id"] for _ in range(30)]
    for i, tid in enumerate(ids):
        h.middleware.add_feedback(tid, f"note {i} John Doe")
    current = PromptRegistry(store).current("u")
    assert len(current.feedback_ids) == 30


def test_user_id_from_configurable_when_the_context_has_none():
    """LangGraph server clients often send the user id in `config["configurable"]`."""
    h = make_harness(InMemoryStore())
    first = h.agent.invoke(
        {"messages": [("user", "Write to Bob.")]},
        config={"configurable": {"user_id": "jane"}},
    )
    h.middleware.add_feedback(first["trajectory_id"], "Always sign emails as John Doe.")
    again = h.agent.invoke(
        {"messages": [("user", "Write to Bob.")]},
        config={"configurable": {"user_id": "jane"}},
    )
    assert again["prompt_versions"] == {"system": 2}
    assert h.ask("jane")["prompt_versions"] == {"system": 2}  # same user through context
    assert h.ask(None)["prompt_versions"] == {"system": 1}
    # The context wins over configurable.
    both = h.agent.invoke(
        {"messages": [("user", "Write to Bob.")]},
        context=Context(user_id="bob"),
        config={"configurable": {"user_id": "jane"}},
    )
    assert both["prompt_versions"] == {"system": 1}
    assert {"bob", "jane"} <= set(PromptRegistry(h.store).users())
