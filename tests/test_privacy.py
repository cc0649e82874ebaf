"""Personal data and the shared (global) lineage, through `create_agent`."""

from __future__ import annotations

import asyncio
import re

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.optimizer import detect_phone, find_pii, redact_pii
from tests.conftest import make_harness

EMAIL, PHONE, CARD = "ann.private@example.org", "+1 (415) 555-0134", "4111 1111 1111 1111"
CANARIES = (EMAIL, PHONE, CARD, "4111111111111111", "415) 555-0134", "10.20.30.40")


def copy_everything(current: str, text: str) -> str:
    """A maximally compliant optimizer: pastes everything it was sent into the prompt."""
    return f"{current}\n{text}"


def _served_to(h, user: str) -> str:
    h.ask(user)
    return h.model.requests[-1].system_prompt or ""


@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_canary_user_a_pii_never_reaches_user_b(store_kind, tmp_path):
    from langchain_prompt_optimization import open_store

    store = InMemoryStore() if store_kind == "memory" else open_store(f"sqlite:///{tmp_path}/g.db")
    h = make_harness(
        store, rewrite=copy_everything, scope="global", require_approval=False, firewall=False
    )
    run = h.ask("ann", f"I am Ann, mail {EMAIL}, call {PHONE}, card {CARD}, host 10.20.30.40.")
    h.middleware.add_feedback(
        run["trajectory_id"],
        f"Remember my card {CARD} and phone {PHONE}; write to {EMAIL} from 10.20.30.40.",
    )
    served = _served_to(h, "bob")
    assert "[REDACTED_EMAIL]" in served
    assert "[REDACTED_CREDIT_CARD]" in served
    assert "[REDACTED_PHONE]" in served
    assert "[REDACTED_IP]" in served
    for canary in CANARIES:
        assert canary not in served
    for version in PromptRegistry(store).history("bob"):
        assert not any(canary in version.text for canary in CANARIES)


def test_without_redaction_the_canary_would_leak():
    """Control: the same copying optimizer in user scope keeps Ann's data in Ann's own
    prompt, so the canary test above fails without the redaction."""
    h = make_harness(InMemoryStore(), rewrite=copy_everything, firewall=False)
    run = h.ask("ann", f"mail {EMAIL}")
    h.middleware.add_feedback(run["trajectory_id"], f"write to {EMAIL}")
    assert EMAIL in _served_to(h, "ann")


def test_global_redaction_async_path():
    async def scenario() -> str:
        h = make_harness(InMemoryStore(), rewrite=copy_everything, scope="global",
                         require_approval=False, firewall=False)  # fmt: skip
        run = await h.aask("ann", f"mail {EMAIL}")
        await h.middleware.aadd_feedback(run["trajectory_id"], f"phone {PHONE}")
        await h.aask("bob")
        return h.model.requests[-1].system_prompt or ""

    served = asyncio.run(scenario())
    assert EMAIL not in served
    assert "555-0134" not in served
    assert "[REDACTED_PHONE]" in served


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("reach me at jo@x.io", ["email"]),
        ("card 4111-1111-1111-1111", ["credit_card"]),
        ("card 4111 1111 1111 1112", ["phone"]),  # not a card (Luhn); still a long number
        ("from 192.168.0.1", ["ip"]),
        ("call +44 20 7946 0958 or (415) 555-0134", ["phone", "phone"]),
        ("order 1234567, on 2026-11-22, v3.2.1, id call_0123456789", []),
    ],
)
def test_detectors(text, kinds):
    assert [m["type"] for m in find_pii(text)] == kinds
    redacted = redact_pii(text)
    for match in find_pii(text):
        assert match["value"] not in redacted
    assert re.findall(r"\[REDACTED_(\w+)\]", redacted) == [k.upper() for k in kinds]


def test_phone_detector_skips_dates_and_short_ids():
    assert detect_phone("22.11.2026 and 2026-11-22") == []
    assert [m["value"] for m in detect_phone("tel 555-0134")] == ["555-0134"]
