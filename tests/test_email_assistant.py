"""The email-assistant example: multi-prompt credit assignment and behaviour that changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from examples.email_assistant.__main__ import NEWSLETTER, QUESTION, USER
from examples.email_assistant.assistant import MAIN_AGENT, TRIAGE, build_assistant, scripted_models
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.testing import LoopbackOpenAIServer, assert_trajectory_match

ROOT = Path(__file__).parent.parent
TRIAGE_FEEDBACK = "You should respond to: Acme newsletter"
WRITING_FEEDBACK = "Always check the calendar before replying to meeting requests."


def _reference(with_calendar: bool) -> list:
    steps: list = [HumanMessage("Respond to this email")]
    if with_calendar:
        steps += [
            AIMessage(
                "", tool_calls=[{"name": "check_calendar_availability", "args": {}, "id": "a"}]
            ),
            ToolMessage("free", tool_call_id="a"),
        ]  # fmt: skip
    steps += [
        AIMessage("", tool_calls=[{"name": "write_email", "args": {}, "id": "b"}]),
        ToolMessage("sent", tool_call_id="b"),
        AIMessage("I replied to the email."),
    ]
    return steps


def _check_learning(assistant, store) -> None:
    registry = PromptRegistry(store)
    assert assistant.triage(NEWSLETTER, user_id=USER) == "ignore"
    run = assistant.reply(NEWSLETTER, user_id=USER)
    assistant.middleware.add_feedback(run["trajectory_id"], TRIAGE_FEEDBACK)
    # Credit assignment: only the respond list learned it.
    assert (
        registry.current(USER, "triage_respond").text
        == f"{TRIAGE['triage_respond']}\nAcme newsletter"
    )
    for name in ("main_agent", "triage_ignore", "triage_notify"):
        assert registry.current(USER, name).version == 1, name
    assert assistant.triage(NEWSLETTER, user_id=USER) == "respond"
    assert assistant.triage(NEWSLETTER, user_id="someone-else") == "ignore"

    decision, before = assistant.handle(QUESTION, user_id=USER)
    assert decision == "respond"
    assert_trajectory_match(before, _reference(False), tool_args="ignore")
    assistant.middleware.add_feedback(before["trajectory_id"], WRITING_FEEDBACK)
    assert registry.current(USER, "main_agent").text == f"{MAIN_AGENT}\n{WRITING_FEEDBACK}"
    assert registry.current(USER, "triage_respond").version == 2  # untouched by writing feedback
    _, after = assistant.handle(QUESTION, user_id=USER)
    assert_trajectory_match(after, _reference(True), tool_args="ignore")
    with pytest.raises(AssertionError):
        assert_trajectory_match(after, _reference(False), tool_args="ignore")


def test_offline_assistant_learns_per_prompt(store):
    model, triage, optimizer = scripted_models()
    assistant = build_assistant(
        model=model, triage_model=triage, optimizer_model=optimizer, store=store
    )
    _check_learning(assistant, store)


def test_assistant_through_chatopenai(store):
    model, triage, optimizer = scripted_models()
    models = {"agent-model": model, "triage-model": triage, "optimizer-model": optimizer}
    with LoopbackOpenAIServer(models) as server:

        def client(name: str) -> ChatOpenAI:
            return ChatOpenAI(
                model=name, base_url=server.base_url, api_key="not-a-real-key", max_retries=0
            )

        assistant = build_assistant(
            model=client("agent-model"),
            triage_model=client("triage-model"),
            optimizer_model=client("optimizer-model"),
            store=store,
        )
        _check_learning(assistant, store)
        schema = next(b for b in server.requests if b.get("model") == "triage-model")
        assert schema["response_format"]["json_schema"]["name"] == "Router"


def test_example_runs_offline():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.pop("PROMPTOPT_STORE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    done = subprocess.run(
        [sys.executable, "-m", "examples.email_assistant"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "OFFLINE: scripted models" in done.stdout
    assert "after triage feedback: respond" in done.stdout
    assert "['check_calendar_availability', 'write_email']" in done.stdout
