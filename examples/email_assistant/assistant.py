"""An email assistant whose four prompts learn per user from feedback.

- `main_agent`: the agent's system prompt (how emails are written and sent).
- `triage_ignore`, `triage_notify`, `triage_respond`: what triage does with an email.

Each prompt has `when_to_update`, so langmem's multi-prompt optimizer assigns feedback about
writing to `main_agent` and feedback about triage to the triage prompts. Triage reads its
prompts for the user from the store through `PromptOptimizationMiddleware.get_prompt`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_prompt_optimization import (
    OptimizerSettings,
    PromptOptimizationMiddleware,
    SystemPromptSettings,
)
from langchain_prompt_optimization.testing import (
    ScriptedChatModel,
    ScriptedOptimizerModel,
    ScriptedRequest,
    feedback_in,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.tools import BaseTool
    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.optimizer import OptimizerKind

MAIN_AGENT = (
    "You are John Doe's executive assistant. Reply to the email you are given with the "
    "write_email tool, then say what you did."
)
TRIAGE = {
    "triage_ignore": "Marketing newsletters, spam, automated notifications, newsletter",
    "triage_notify": "Team member out sick, build system notifications, project status updates",
    "triage_respond": "Direct questions from team members, meeting requests, critical bug reports",
}
WHEN_TO_UPDATE = {
    "main_agent": "Update when there is feedback on how emails are written or sent.",
    "triage_ignore": "Update when feedback says an email should have been ignored.",
    "triage_notify": "Update when feedback says the user should only have been notified.",
    "triage_respond": "Update when feedback says an email should have been answered.",
}
Triage = Literal["ignore", "notify", "respond"]


@dataclass(frozen=True)
class Email:
    """An incoming email."""

    author: str
    to: str
    subject: str
    body: str

    def render(self) -> str:
        return f"From: {self.author}\nTo: {self.to}\nSubject: {self.subject}\n\n{self.body}"


class Router(BaseModel):
    """Decide what to do with an email."""

    reasoning: str = Field(description="Step-by-step reasoning behind the classification.")
    classification: Triage = Field(
        description="'ignore' for irrelevant emails, 'notify' for important information "
        "that needs no reply, 'respond' for emails that need a reply."
    )


@tool
def write_email(to: str, subject: str, content: str) -> str:
    """Write and send an email."""
    return f"Email sent to {to} with subject '{subject}'"


@tool
def check_calendar_availability(day: str) -> str:
    """Check the calendar for free time on a day."""
    return f"Available times on {day}: 9:00 AM, 2:00 PM, 4:00 PM"


def triage_instructions(rules: dict[str, str], email: Email) -> str:
    """The triage request: the user's current rules, then the email."""
    return (
        "Classify the email into one of: ignore, notify, respond.\n\n"
        f"Emails that are not worth responding to:\n{rules['triage_ignore']}\n\n"
        f"Emails worth notifying the user about but not answering:\n{rules['triage_notify']}\n\n"
        f"Emails worth responding to:\n{rules['triage_respond']}\n\n"
        f"<email>\n{email.render()}\n</email>"
    )


@dataclass
class EmailAssistant:
    """Triage plus the main agent, learning per user through one middleware."""

    agent: Any
    middleware: PromptOptimizationMiddleware
    triage_model: Any
    store: BaseStore

    def triage(self, email: Email, *, user_id: str) -> Triage:
        """Classify an email with this user's current triage prompts."""
        rules = {name: self.middleware.get_prompt(name, user_id=user_id) for name in TRIAGE}
        router = self.triage_model.with_structured_output(Router)
        decision = router.invoke(triage_instructions(rules, email))
        return decision.classification  # type: ignore[no-any-return]

    def reply(self, email: Email, *, user_id: str) -> Any:
        """Run the main agent on an email; returns the agent result (with `trajectory_id`)."""
        return self.agent.invoke(
            {"messages": [("user", f"Respond to this email:\n\n{email.render()}")]},
            context={"user_id": user_id},
        )

    def handle(self, email: Email, *, user_id: str) -> tuple[Triage, Any]:
        """Triage, then reply when the email deserves one."""
        decision = self.triage(email, user_id=user_id)
        return decision, self.reply(email, user_id=user_id) if decision == "respond" else None


def build_assistant(
    *,
    model: Any,
    triage_model: Any,
    optimizer_model: Any,
    store: BaseStore,
    tools: Sequence[BaseTool] | None = None,
    kind: OptimizerKind = "prompt_memory",
    **middleware_kwargs: Any,
) -> EmailAssistant:
    """Wire the agent, triage and the middleware on a store.

    `tools` replaces the agent's tools (default: `write_email`, `check_calendar_availability`).
    """
    middleware = PromptOptimizationMiddleware(
        optimizer=OptimizerSettings(model=optimizer_model, kind=kind),
        store=store,
        system_prompt=SystemPromptSettings(
            name="main_agent",
            when_to_update=WHEN_TO_UPDATE["main_agent"],
            update_instructions="Keep the instructions short; add a rule, keep the others.",
        ),
        prompts=[
            {
                "name": name,
                "prompt": text,
                "when_to_update": WHEN_TO_UPDATE[name],
                "update_instructions": "Add the kind of email the feedback names to the list.",
            }
            for name, text in TRIAGE.items()
        ],
        **middleware_kwargs,
    )
    agent = create_agent(
        model,
        tools=list(tools) if tools is not None else [write_email, check_calendar_availability],
        system_prompt=MAIN_AGENT,
        middleware=[middleware],
        store=store,
    )
    return EmailAssistant(agent, middleware, triage_model, store)


# -- offline stand-ins --------------------------------------------------------------------------

_RULE_LISTS = re.compile(
    r"not worth responding to:\n(?P<ignore>.*?)\n\n.*?but not answering:\n(?P<notify>.*?)\n\n"
    r".*?worth responding to:\n(?P<respond>.*?)\n\n<email>\n(?P<email>.*)</email>",
    re.DOTALL,
)


def scripted_triage(request: ScriptedRequest) -> AIMessage:
    """Offline triage: an email matching an item of a rule list gets that list's decision
    (respond before notify before ignore); items are separated by commas or lines."""
    found = _RULE_LISTS.search(request.text)
    decision = "notify"
    if found:
        email = found.group("email").lower()
        for label in ("respond", "notify", "ignore"):
            items = [i.strip().lower() for i in re.split(r"[,\n]", found.group(label))]
            if any(item and item in email for item in items):
                decision = label
                break
    call = {"name": "Router", "args": {"reasoning": "scripted", "classification": decision},
            "id": "router"}  # fmt: skip
    return AIMessage("", tool_calls=[call])


def scripted_agent(request: ScriptedRequest) -> AIMessage | str:
    """Offline main agent: follows the rules its system prompt states."""
    prompt = request.system_prompt or ""
    done = [m.name for m in request.messages if isinstance(m, ToolMessage)]
    if "check the calendar" in prompt.lower() and "check_calendar_availability" not in done:
        call = {"name": "check_calendar_availability", "args": {"day": "Tuesday"}, "id": "cal"}
        return AIMessage("", tool_calls=[call])
    if "write_email" not in done:
        content = "Hi,\n\nThanks for your email. I'll look into it."
        if "sign emails as john doe" in prompt.lower():
            content += "\n\nJohn Doe"
        args = {"to": "sender@example.com", "subject": "Re: your email", "content": content}
        return AIMessage("", tool_calls=[{"name": "write_email", "args": args, "id": "send"}])
    return "I replied to the email."


def _route(choices: list[str], text: str) -> list[str]:
    feedback = " ".join(feedback_in(text)).lower()
    for name, word in (("triage_respond", "respond"), ("triage_notify", "notif"),
                       ("triage_ignore", "ignore")):  # fmt: skip
        if word in feedback and name in choices:
            return [name]
    return ["main_agent"] if "main_agent" in choices else choices[:1]


def _rewrite(current: str, text: str) -> str:
    for feedback in feedback_in(text):
        if current.startswith(MAIN_AGENT[:20]):
            addition = feedback
        else:  # a triage list: add the kind of email the feedback names
            named = re.search(r":\s*(.+?)\.?$", feedback)
            addition = named.group(1) if named else feedback
        if addition not in current:
            current = f"{current}\n{addition}"
    return current


def scripted_models() -> tuple[ScriptedChatModel, ScriptedChatModel, ScriptedOptimizerModel]:
    """Offline agent model, triage model and optimizer."""
    return (
        ScriptedChatModel(responses=scripted_agent),
        ScriptedChatModel(responses=scripted_triage),
        ScriptedOptimizerModel(rewrite=_rewrite, classify=_route),
    )
