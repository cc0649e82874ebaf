"""The testing kit: pytest plugin fixtures and trajectory assertions."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.testing import (
    aassert_trajectory_match,
    assert_trajectory_match,
    feedback_in,
    format_trajectory,
)
from tests.email_tools import lookup_contact, send_email, tool_call

RULE = "Always look up the contact before sending an email."


def careful_when_told(request):
    done = [m.name for m in request.messages if isinstance(m, ToolMessage)]
    if RULE in (request.system_prompt or "") and not done:
        return tool_call("lookup_contact", {"name": "Bob"}, 1)
    if "send_email" not in done:
        return tool_call("send_email", {"to": "bob@example.com", "body": "Hi"}, 2)
    return "Email sent."


REFERENCE_AFTER = [
    HumanMessage("Email Bob."),
    tool_call("lookup_contact", {"name": "Bob"}, 1),
    ToolMessage("bob@example.com", tool_call_id="c1"),
    tool_call("send_email", {"to": "bob@example.com", "body": "Hi"}, 2),
    ToolMessage("sent", tool_call_id="c2"),
    AIMessage("Email sent."),
]


@pytest.mark.parametrize("prompt_store", ["memory", "sqlite", "postgres"], indirect=True)
def test_fixtures_build_an_agent_that_learns(optimizing_agent, scripted_model, prompt_store):
    bot = optimizing_agent(
        scripted_model(careful_when_told),
        tools=[lookup_contact, send_email],
        system_prompt="You send emails.",
    )
    before = bot.invoke("Email Bob.", user_id="jane")
    with pytest.raises(AssertionError) as info:
        assert_trajectory_match(before, REFERENCE_AFTER)
    report = str(info.value)
    assert "✗" in report
    assert "lookup_contact" in report
    assert "send_email" in report
    bot.middleware.add_feedback(before["trajectory_id"], RULE)
    after = bot.invoke("Email Bob.", user_id="jane")
    assert_trajectory_match(after, REFERENCE_AFTER)
    assert PromptRegistry(prompt_store).current("jane").text == f"You send emails.\n{RULE}"


async def test_async_assertion_and_modes(optimizing_agent, scripted_model):
    bot = optimizing_agent(scripted_model(careful_when_told), tools=[lookup_contact, send_email])
    result = await bot.ainvoke("Email Bob.", user_id="jane")
    only_send = [
        HumanMessage("Email Bob."),
        tool_call("send_email", {"to": "someone-else", "body": "x"}, 9),
        ToolMessage("sent", tool_call_id="c9"),
        AIMessage("Email sent."),
    ]
    await aassert_trajectory_match(result, only_send, tool_args="ignore")
    with pytest.raises(AssertionError, match="tool args compared"):
        await aassert_trajectory_match(result, only_send)
    assert_trajectory_match(result, REFERENCE_AFTER, mode="subset", tool_args="ignore")


def test_aligned_report_shows_both_sides():
    actual = [HumanMessage("hi"), AIMessage("hello")]
    reference = [HumanMessage("hi"), tool_call("send_email", {"to": "x"}, 1)]
    with pytest.raises(AssertionError) as info:
        assert_trajectory_match(actual, reference)
    lines = str(info.value).splitlines()
    assert lines[2].startswith("   0 human: hi")
    assert lines[3].startswith("✗  1 ai: hello")
    assert lines[3].endswith('ai → send_email({"to": "x"})')
    assert format_trajectory(reference, tool_args=False)[1] == "ai → send_email"


def test_bad_inputs_are_clear():
    with pytest.raises(TypeError, match="list of messages"):
        assert_trajectory_match("nope", [])
    with pytest.raises(TypeError, match="'messages' key"):
        assert_trajectory_match({"foo": 1}, [])
    with pytest.raises(ValueError, match="mode must be"):
        assert_trajectory_match([], [], mode="fuzzy")  # type: ignore[arg-type]


def test_feedback_in_reads_every_kind_of_optimizer_input():
    memory = "<feedback 0>\nSign as John.\n</feedback 0>"
    sessions = "Feedback for session x:\n<FEEDBACK>\nBe brief.\n</FEEDBACK>"
    assert feedback_in(memory + sessions) == ["Sign as John.", "Be brief."]
