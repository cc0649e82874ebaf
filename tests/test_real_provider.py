"""The real provider path: ChatOpenAI over real HTTP for the agent AND the optimizer,
against a loopback OpenAI-compatible server answering from scripted models."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from langchain_prompt_optimization import PromptOptimizationMiddleware, PromptRegistry
from langchain_prompt_optimization.testing import (
    ScriptedChatModel,
    ScriptedOptimizerModel,
    assert_trajectory_match,
)
from langchain_prompt_optimization.testing.openai_server import LoopbackOpenAIServer

RULE = "Always sign emails as John Doe."


@tool
def send_email(to: str, body: str) -> str:
    """Send an email to an address."""
    return "sent"


def agent_reply(request):
    if not any(isinstance(m, ToolMessage) for m in request.messages):
        call = {"name": "send_email", "args": {"to": "bob@example.com", "body": "Hi"}, "id": "c1"}
        return AIMessage("", tool_calls=[call])
    return "Sent. -- John Doe" if RULE in (request.system_prompt or "") else "Sent."


@pytest.fixture
def server():
    agent_model = ScriptedChatModel(responses=agent_reply)
    optimizer = ScriptedOptimizerModel()
    with LoopbackOpenAIServer({"agent-model": agent_model, "optimizer-model": optimizer}) as srv:
        yield srv


def _client(server, model: str, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(
        model=model, base_url=server.base_url, api_key="not-a-real-key", max_retries=0, **kwargs
    )


@pytest.mark.parametrize("kind", ["prompt_memory", "metaprompt", "gradient"])
@pytest.mark.parametrize("streaming", [False, True])
def test_agent_and_optimizer_through_chatopenai(server, store, kind, streaming):
    from langchain.agents import create_agent

    mw = PromptOptimizationMiddleware(optimizer_model=_client(server, "optimizer-model"), kind=kind)
    agent = create_agent(
        _client(server, "agent-model", streaming=streaming),
        tools=[send_email],
        system_prompt="You write emails.",
        middleware=[mw],
        store=store,
    )
    first = agent.invoke({"messages": [("user", "Email Bob.")]}, context={"user_id": "jane"})
    assert first["messages"][-1].content == "Sent."
    tool_schema = server.requests[0]["tools"][0]["function"]
    assert tool_schema["name"] == "send_email"
    assert set(tool_schema["parameters"]["properties"]) == {"to", "body"}
    assert server.requests[0]["messages"][0] == {"role": "system", "content": "You write emails."}

    mw.add_feedback(first["trajectory_id"], RULE)
    second = agent.invoke({"messages": [("user", "Email Bob.")]}, context={"user_id": "jane"})
    assert second["messages"][-1].content == "Sent. -- John Doe"
    system = server.requests[-1]["messages"][0]
    assert system == {"role": "system", "content": f"You write emails.\n{RULE}"}
    current = PromptRegistry(store).current("jane")
    assert current.usage["calls"] >= 1
    assert current.usage["input_tokens"] > 0  # usage_metadata parsed by the real client
    assert_trajectory_match(
        second,
        [
            {"role": "user", "content": "Email Bob."},
            AIMessage(
                "",
                tool_calls=[
                    {"name": "send_email", "args": {"to": "bob@example.com", "body": "Hi"},
                     "id": "x"}
                ],
            ),
            ToolMessage("sent", tool_call_id="x"),
            AIMessage("Sent. -- John Doe"),
        ],
    )  # fmt: skip
    if kind == "prompt_memory":
        assert any(
            (body.get("response_format") or {}).get("type") == "json_schema"
            for body in server.requests
        )


async def test_async_path_through_chatopenai(server, store):
    from langchain.agents import create_agent

    mw = PromptOptimizationMiddleware(optimizer_model=_client(server, "optimizer-model"))
    agent = create_agent(
        _client(server, "agent-model"),
        tools=[send_email],
        system_prompt="You write emails.",
        middleware=[mw],
        store=store,
    )
    first = await agent.ainvoke({"messages": [("user", "Email Bob.")]}, context={"user_id": "j"})
    await mw.aadd_feedback(first["trajectory_id"], RULE)
    second = await agent.ainvoke({"messages": [("user", "Email Bob.")]}, context={"user_id": "j"})
    assert second["messages"][-1].content == "Sent. -- John Doe"


def test_multi_prompt_credit_assignment_through_chatopenai(server, store):
    from langchain.agents import create_agent

    server.models["optimizer-model"].classify = lambda choices, text: ["triage"]  # type: ignore[attr-defined]
    mw = PromptOptimizationMiddleware(
        optimizer_model=_client(server, "optimizer-model"),
        prompts=[{"name": "triage", "prompt": "Ignore newsletters.",
                  "when_to_update": "feedback about which emails to ignore"}],
    )  # fmt: skip
    agent = create_agent(
        _client(server, "agent-model"),
        tools=[send_email],
        system_prompt="You write emails.",
        middleware=[mw],
        store=store,
    )
    first = agent.invoke({"messages": [("user", "Email Bob.")]}, context={"user_id": "jane"})
    mw.add_feedback(first["trajectory_id"], "Never ignore the Acme newsletter.")
    classify = [
        b
        for b in server.requests
        if b.get("tool_choice", {}) and "Classify" in json.dumps(b.get("tool_choice"))
    ]
    assert classify, "the credit-assignment call went through the real client"
    assert mw.get_prompt("triage", user_id="jane").endswith("Never ignore the Acme newsletter.")
    assert mw.get_prompt(user_id="jane") == "You write emails."


def test_optimizer_provider_errors_are_recorded_not_raised(server, store):
    from langchain.agents import create_agent

    mw = PromptOptimizationMiddleware(optimizer_model=_client(server, "no-such-model"))
    agent = create_agent(
        _client(server, "agent-model"), tools=[send_email], middleware=[mw], store=store
    )
    first = agent.invoke({"messages": [("user", "Email Bob.")]}, context={"user_id": "jane"})
    mw.add_feedback(first["trajectory_id"], RULE)
    latest = PromptRegistry(store).history("jane")[0]
    assert latest.status == "failed"
    assert "no-such-model" in latest.reason
