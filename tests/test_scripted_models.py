"""The scripted models behave like real chat models where tests need them to."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from langchain_prompt_optimization.testing import ScriptedChatModel


class Answer(BaseModel):
    city: str


def test_structured_output_through_bind_tools():
    model = ScriptedChatModel(
        responses=[
            AIMessage("", tool_calls=[{"name": "Answer", "args": {"city": "Oslo"}, "id": "1"}])
        ]
    )
    result = model.with_structured_output(Answer).invoke("Where?")
    assert result == Answer(city="Oslo")
    assert model.requests[0].tools == ["Answer"]


def test_records_system_prompt_and_runs_out_clearly():
    model = ScriptedChatModel(responses=["one"])
    reply = model.invoke([SystemMessage("be brief"), HumanMessage("hi")])
    assert reply.content == "one"
    assert reply.usage_metadata["input_tokens"] > 0
    assert model.system_prompts == ["be brief"]
    with pytest.raises(IndexError, match="ran out of responses"):
        model.invoke("again")


def test_repeat_last_and_function_replies():
    assert ScriptedChatModel(responses=["x"], repeat_last=True).invoke("a").content == "x"
    echo = ScriptedChatModel(responses=lambda req: req.messages[-1].content.upper())
    assert echo.invoke("hey").content == "HEY"
