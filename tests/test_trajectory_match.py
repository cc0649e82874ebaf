"""agentevals trajectory match: the agent's behaviour changes after feedback is learned."""

from __future__ import annotations

from agentevals.trajectory.match import create_trajectory_match_evaluator
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedRequest
from tests.email_tools import lookup_contact, send_email, tool_call

from .conftest import make_harness

RULE = "Always look up the contact before sending an email."


def follows_prompt(request: ScriptedRequest) -> AIMessage | str:
    """Calls lookup_contact first only when its system prompt says so."""
    done = [m.name for m in request.messages if isinstance(m, ToolMessage)]
    careful = RULE in (request.system_prompt or "")
    if careful and not done:
        return tool_call("lookup_contact", {"name": "Bob"}, 1)
    if "send_email" not in done:
        return tool_call("send_email", {"to": "bob@example.com", "body": "Hi Bob"}, 2)
    return "Email sent."


def learn_rule(current: str, text: str) -> str:
    return current if RULE in current else f"{current}\n{RULE}"


def _reference(careful: bool) -> list:
    steps: list = [HumanMessage("Email Bob.")]
    if careful:
        steps += [
            tool_call("lookup_contact", {"name": "Bob"}, 1),
            ToolMessage("bob@example.com", tool_call_id="c1"),
        ]
    steps += [
        tool_call("send_email", {"to": "bob@example.com", "body": "Hi Bob"}, 2),
        ToolMessage("sent", tool_call_id="c2"),
        AIMessage("Email sent."),
    ]
    return steps


def test_trajectory_changes_after_feedback(store):
    h = make_harness(
        store,
        rewrite=learn_rule,
        tools=[lookup_contact, send_email],
        model=ScriptedChatModel(responses=follows_prompt),
    )
    evaluator = create_trajectory_match_evaluator(trajectory_match_mode="strict")

    before = h.ask("jane", "Email Bob.")
    assert evaluator(outputs=before["messages"], reference_outputs=_reference(False))["score"]
    assert not evaluator(outputs=before["messages"], reference_outputs=_reference(True))["score"]

    h.middleware.add_feedback(before["trajectory_id"], "You must look up the contact first.")

    after = h.ask("jane", "Email Bob.")
    assert evaluator(outputs=after["messages"], reference_outputs=_reference(True))["score"]
    assert not evaluator(outputs=after["messages"], reference_outputs=_reference(False))["score"]

    other = h.ask("someone-else", "Email Bob.")
    assert evaluator(outputs=other["messages"], reference_outputs=_reference(False))["score"]
