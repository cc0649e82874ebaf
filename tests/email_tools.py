"""The two email tools and the tool-call helper the trajectory tests share."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.tools import tool

TOOL_RUNS: list[str] = []
"""Every real execution of the tools below (tests assert replays add none)."""


@tool
def lookup_contact(name: str) -> str:
    """Find a contact's email address."""
    TOOL_RUNS.append(f"lookup_contact:{name}")
    return f"{name.lower()}@example.com"


@tool
def send_email(to: str, body: str) -> str:
    """Send an email."""
    TOOL_RUNS.append(f"send_email:{to}")
    return "sent"


def tool_call(name: str, args: dict[str, Any], n: int) -> AIMessage:
    """An AI message making one tool call with id `c<n>`."""
    return AIMessage(
        "", tool_calls=[{"name": name, "args": args, "id": f"c{n}", "type": "tool_call"}]
    )
