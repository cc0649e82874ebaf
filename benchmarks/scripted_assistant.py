"""Offline stand-ins for the learning-quality harness: a rule-following assistant model and an
optimizer that turns feedback into rules.

They make the harness's loop observable without an LLM; they say nothing about how well a
real model learns. The assistant model follows the rules its prompts state, deterministically:

- main agent (the `write_email` tool): a sign-off rule (`Sign off ... with "X"`), a rule
  against exclamation marks, a formal-greeting rule and CC rules
  (`CC a@b.c ... on emails about x, y or z`); without them it writes a casual email;
- triage (the `Router` structured output): a rule line naming `from a@b.c` or quoted keywords
  (`'unsubscribe'`) matches emails from that address or containing a keyword; other lines are
  comma-separated items matched as substrings (the example's base lists). Respond beats
  notify beats ignore; nothing matched means notify.

The optimizer keeps the imperative sentences of the feedback (`Always`, `Never`, `Sign off`,
`Open`, `CC`, `You should`) and appends the new ones to the prompt they concern: triage lists
for "You should respond to / ignore / only notify", the main agent for the rest.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from examples.email_assistant.assistant import MAIN_AGENT, TRIAGE
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_prompt_optimization.testing import (
    ScriptedChatModel,
    ScriptedOptimizerModel,
    feedback_in,
)

if TYPE_CHECKING:
    from langchain_prompt_optimization.testing import ScriptedRequest

__all__ = [
    "assistant_reply",
    "directives",
    "optimizer_classify",
    "optimizer_rewrite",
    "scripted_assistant_model",
    "scripted_optimizer_model",
]

_ADDRESS = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_SIGN_OFF = re.compile(r"sign (?:off|emails?)[^\"\n]*?(?:with|as) \"([^\"]+)\"", re.IGNORECASE)
_CC = re.compile(rf"\bCC ({_ADDRESS}) (?:only )?on emails about ([^.\n]+)", re.IGNORECASE)
_LISTS = re.compile(
    r"not worth responding to:\n(?P<ignore>.*?)\n\n.*?but not answering:\n(?P<notify>.*?)\n\n"
    r".*?worth responding to:\n(?P<respond>.*?)\n\n<email>\n(?P<email>.*)</email>",
    re.DOTALL,
)
_DIRECTIVE = re.compile(r"^(Always|Never|Sign off|Open|CC|You should)\b")
_ROUTES = (
    ("you should respond to", "triage_respond"),
    ("you should only notify", "triage_notify"),
    ("you should ignore", "triage_ignore"),
)


def _topic_stems(topics: str) -> list[str]:
    words = re.split(r",\s*|\s+or\s+|\s+and\s+", topics)
    return [w.strip().lower().removesuffix("s") for w in words if w.strip()]


def _write(prompt: str, email_text: str) -> dict[str, object]:
    """The `write_email` arguments the scripted agent produces under a system prompt."""
    sender = re.search(r"^From: (.+)$", email_text, re.MULTILINE)
    subject = re.search(r"^Subject: (.+)$", email_text, re.MULTILINE)
    address = sender.group(1).strip() if sender else "sender@example.com"
    first = address.split("@")[0].split(".")[0].capitalize()
    formal = "formal greeting" in prompt.lower()
    calm = "exclamation mark" in prompt.lower()
    stop, hello = (".", ",") if calm else ("!", "!")
    greeting = f"Dear {first}," if formal else f"Hi {first}{hello}"
    body = f"Thanks for your email{stop} I will look into it and get back to you by Friday."
    signed = _SIGN_OFF.search(prompt)
    closing = signed.group(1) if signed else f"Cheers{hello}\nJohn"
    content = f"{greeting}\n\n{body}\n\n{closing}"
    lowered = email_text.lower()
    cc = sorted(
        {
            rule.group(1).lower()
            for rule in _CC.finditer(prompt)
            if any(
                re.search(rf"\b{re.escape(stem)}s?\b", lowered)
                for stem in _topic_stems(rule.group(2))
            )
        }
    )
    args: dict[str, object] = {
        "to": address,
        "subject": f"Re: {subject.group(1).strip() if subject else 'your email'}",
        "content": content,
    }
    if cc:
        args["cc"] = cc
    return args


def _triage(text: str) -> str:
    found = _LISTS.search(text)
    if not found:
        return "notify"
    email = found.group("email")
    sender = re.search(r"^From: (.+)$", email, re.MULTILINE)
    author = sender.group(1).strip().lower() if sender else ""
    lowered = email.lower()
    for label in ("respond", "notify", "ignore"):
        for line in found.group(label).splitlines():
            addresses = [a.lower() for a in re.findall(rf"from ({_ADDRESS})", line)]
            keywords = [k.lower() for k in re.findall(r"'([^']+)'", line)]
            if addresses or keywords:
                if author in addresses or any(k in lowered for k in keywords):
                    return label
                continue
            items = [i.strip().lower() for i in line.split(",")]
            if any(item and item in lowered for item in items):
                return label
    return "notify"


def assistant_reply(request: ScriptedRequest) -> AIMessage | str:
    """Both the main agent and triage: the `Router` tool means a triage request."""
    if "Router" in request.tools:
        decision = _triage(request.text)
        args = {"reasoning": "scripted", "classification": decision}
        return AIMessage("", tool_calls=[{"name": "Router", "args": args, "id": "router"}])
    if any(isinstance(m, ToolMessage) and m.name == "write_email" for m in request.messages):
        return "I replied to the email."
    asked = next((m.text for m in request.messages if isinstance(m, HumanMessage)), "")
    args = _write(request.system_prompt or "", asked)
    return AIMessage("", tool_calls=[{"name": "write_email", "args": args, "id": "send"}])


def directives(feedback: str) -> list[str]:
    """The imperative sentences of a feedback text (the rules it states)."""
    found = []
    for line in feedback.splitlines():
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line.strip().removeprefix("- ")):
            if _DIRECTIVE.match(sentence.strip()):
                found.append(sentence.strip())
    return found


def _feedback_texts(text: str) -> list[str]:
    """The feedback texts of an optimizer request; feedback given with a score reaches langmem
    as a dict, which it shows as its `repr`."""
    texts = []
    for block in feedback_in(text):
        try:
            value = ast.literal_eval(block) if block.startswith("{") else block
        except (ValueError, SyntaxError):
            value = block
        if isinstance(value, dict):
            texts += [v for v in value.values() if isinstance(v, str)]
        else:
            texts.append(str(value))
    return texts


def _prompt_for(rule: str) -> str:
    lowered = rule.lower()
    return next((name for phrase, name in _ROUTES if lowered.startswith(phrase)), "main_agent")


def optimizer_classify(choices: list[str], text: str) -> list[str]:
    """Credit assignment: the prompts the feedback's rules concern."""
    wanted = {_prompt_for(rule) for fb in _feedback_texts(text) for rule in directives(fb)}
    return [name for name in choices if name in wanted] or choices[:1]


def _which(current: str) -> str:
    for name, text in TRIAGE.items():
        if current.startswith(text[:20]):
            return name
    return "main_agent" if current.startswith(MAIN_AGENT[:20]) else ""


def optimizer_rewrite(current: str, text: str) -> str:
    """Append each new rule of the feedback to the prompt it concerns."""
    name = _which(current)
    for feedback in _feedback_texts(text):
        for rule in directives(feedback):
            if _prompt_for(rule) == name and rule not in current:
                current = f"{current}\n{rule}"
    return current


def scripted_assistant_model() -> ScriptedChatModel:
    """The offline model for the main agent and triage."""
    return ScriptedChatModel(responses=assistant_reply)


def scripted_optimizer_model() -> ScriptedOptimizerModel:
    """The offline optimizer."""
    return ScriptedOptimizerModel(rewrite=optimizer_rewrite, classify=optimizer_classify)
