"""The simulated user of the learning-quality harness: hidden preferences, tasks, checks, feedback.

Each persona has hidden preferences the email assistant is never told directly:

- `sign_off`: every email ends with the persona's sign-off (e.g. "Best regards, John Doe");
- `no_exclamation`: no exclamation mark in an email (subject or body);
- `formal_greeting`: every email opens with "Dear <name>,";
- `cc_rule`: emails about the persona's CC topics copy the CC address, and only those do;
- `triage_ceo`: anything from the persona's CEO is urgent: triage says `respond`;
- `triage_newsletters`: newsletters and digests are ignored: triage says `ignore`.

Tasks are drawn from fixed templates with a seeded `random.Random`, so a round's emails differ
from the previous round's (the harness measures whether a rule generalizes, not whether one
email was memorized) while every run with the same seed sees the same tasks. Checks are
deterministic functions of the assistant's tool calls (the `write_email` arguments) and its
triage decision. Feedback on a miss names what was wrong and states the rule in plain English.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from examples.email_assistant.assistant import Email
from langchain_core.messages import AIMessage

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "PERSONAS",
    "PREFERENCES",
    "Check",
    "Persona",
    "Task",
    "TaskResult",
    "check_reply",
    "check_triage",
    "feedback_for",
    "last_email",
    "tasks_for_round",
]

COMPANY_DOMAIN = "example.com"
"""The personas' company: their CC addresses live here (the firewall trusts it)."""

PREFERENCES = (
    "sign_off",
    "no_exclamation",
    "formal_greeting",
    "cc_rule",
    "triage_ceo",
    "triage_newsletters",
)
"""Preference names, in report order."""


@dataclass(frozen=True)
class Persona:
    """A simulated user and their hidden preferences."""

    user_id: str
    name: str
    sign_off: str
    cc_address: str
    cc_topics: tuple[str, ...]
    ceo: str
    topic_emails: tuple[tuple[str, str], ...]
    """(subject, body) of emails on the CC topics."""

    @property
    def topics_text(self) -> str:
        *head, last = self.cc_topics
        return f"{', '.join(head)} or {last}" if head else last


PERSONAS = (
    Persona(
        user_id="john.doe@example.com",
        name="John Doe",
        sign_off="Best regards, John Doe",
        cc_address="finance@example.com",
        cc_topics=("budgets", "invoices", "expenses"),
        ceo="maria.lopez@example.com",
        topic_emails=(
            ("Invoice 4471 from Northwind", "The invoice for October is overdue; can you check?"),
            ("Q1 budget for the design team", "Can we add two contractors to the budget?"),
            ("Travel expenses from Berlin", "Where should I send my expenses report?"),
            ("Duplicate invoice?", "We received the same invoice twice this month."),
        ),
    ),
    Persona(
        user_id="jane.roe@example.com",
        name="Jane Roe",
        sign_off="Kind regards, Jane Roe",
        cc_address="legal@example.com",
        cc_topics=("contracts", "NDAs"),
        ceo="sam.okafor@example.com",
        topic_emails=(
            ("Contract renewal with Globex", "The contract ends in March; shall we renew?"),
            ("NDA for the Initech pilot", "Initech asked for a mutual NDA before the pilot."),
            ("Redlines on the supplier contract", "I sent our redlines on the contract."),
            ("Signed NDA attached", "Here is the signed NDA from Hooli."),
        ),
    ),
)

_COLLEAGUES = ("alice.kim", "ben.carter", "chloe.martin", "david.nguyen", "emma.schmidt")
_CLIENTS = ("olivia.brown@acme-corp.com", "liam.wilson@globex.com", "noah.davis@initech.com")
_MEETINGS = (
    ("Sync about the roadmap", "Could we meet on Tuesday to go over the roadmap?"),
    ("Coffee next week?", "Do you have half an hour next week to talk about hiring?"),
    ("Review of the launch plan", "Can we find a slot on Thursday to review the launch plan?"),
)
_CLIENT_QUESTIONS = (
    ("Question about the API limits", "What are the rate limits of the reporting API?"),
    ("Onboarding schedule", "When can our team start the onboarding sessions?"),
    ("Feature request: exports", "Is CSV export on your roadmap for this year?"),
)
_CEO_NOTES = (
    ("FYI: offsite agenda", "Sharing the draft agenda for the offsite."),
    ("Board deck", "Attached is the board deck for next week, for your information."),
    ("Org announcement draft", "Here is the draft of Monday's org announcement."),
)
_NEWSLETTERS = (
    ("digest@saasweekly.io", "The Monday Digest: top SaaS stories", "Five stories this week."),
    ("hello@producthunt.com", "Product Hunt Daily: today's top launches", "Today's top launches."),
    ("team@devroundup.dev", "Dev Roundup #212", "This week in developer tools."),
)
_FOOTER = "\n\nYou receive this because you subscribed. Unsubscribe: https://example.com/u"


@dataclass(frozen=True)
class Task:
    """One piece of work the simulated user asks for."""

    kind: Literal["reply", "triage"]
    email: Email
    preferences: tuple[str, ...]
    cc_expected: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}: {self.email.subject}"


@dataclass
class Check:
    """The outcome of one preference on one task."""

    preference: str
    satisfied: bool
    observation: str = ""
    rule: str = ""


def _person(address: str) -> str:
    return " ".join(part.capitalize() for part in address.split("@")[0].split("."))


def tasks_for_round(persona: Persona, round_number: int, *, seed: int) -> list[Task]:
    """The tasks of one round for a persona: four replies (two on the CC topics), a note from
    the CEO and a newsletter to triage; the emails vary by round, the same for a seed."""
    rng = random.Random(f"{seed}:{persona.user_id}:{round_number}")
    reply_prefs = ("sign_off", "no_exclamation", "formal_greeting", "cc_rule")

    def reply(author: str, subject: str, body: str, *, cc: bool) -> Task:
        email = Email(author, persona.user_id, subject, f"{body}\n\n{_person(author).split()[0]}")
        return Task("reply", email, reply_prefs, cc_expected=cc)

    colleague = f"{rng.choice(_COLLEAGUES)}@example.com"
    topics = rng.sample(persona.topic_emails, 2)
    tasks = [
        reply(colleague, *rng.choice(_MEETINGS), cc=False),
        reply(f"{rng.choice(_COLLEAGUES)}@example.com", *topics[0], cc=True),
        reply(rng.choice(_CLIENTS), *rng.choice(_CLIENT_QUESTIONS), cc=False),
        reply(rng.choice(_CLIENTS), *topics[1], cc=True),
    ]
    subject, body = rng.choice(_CEO_NOTES)
    name = _person(persona.ceo).split()[0]
    ceo_email = Email(persona.ceo, persona.user_id, subject, f"{body}\n\n{name}")
    tasks.append(Task("triage", ceo_email, ("triage_ceo",)))
    author, subject, body = rng.choice(_NEWSLETTERS)
    letter = Email(author, persona.user_id, subject, body + _FOOTER)
    tasks.append(Task("triage", letter, ("triage_newsletters",)))
    rng.shuffle(tasks)
    return tasks


def last_email(messages: Sequence[Any]) -> dict[str, Any] | None:
    """The arguments of the last `write_email` call in a run's messages."""
    found = None
    for message in messages:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                if call["name"] == "write_email":
                    found = dict(call["args"])
    return found


def _cc_list(value: Any) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else re.split(r"[,;\s]+", str(value))
    return [str(item).strip().lower() for item in items if str(item).strip()]


def _normalized(text: str) -> str:
    return " ".join(text.split()).lower()


def check_reply(persona: Persona, task: Task, messages: Sequence[Any]) -> list[Check]:
    """Check a reply task: the email the agent wrote with `write_email`."""
    email = last_email(messages)
    if email is None:
        why = "You did not write the email (no write_email call)."
        return [Check(p, False, why, _rule(persona, p, task)) for p in task.preferences]
    content = str(email.get("content") or "")
    subject = str(email.get("subject") or "")
    lines = [line.strip() for line in content.strip().splitlines() if line.strip()]
    first, last = (lines[0], lines[-1]) if lines else ("", "")
    checks = []
    for pref in task.preferences:
        if pref == "sign_off":
            ok = _normalized(content).rstrip(".").endswith(_normalized(persona.sign_off))
            seen = f"Your email ended with {last!r}."
        elif pref == "no_exclamation":
            ok = "!" not in content and "!" not in subject
            seen = "Your email used an exclamation mark."
        elif pref == "formal_greeting":
            ok = first.startswith("Dear ")
            seen = f"Your email opened with {first!r}."
        else:
            copied = persona.cc_address in _cc_list(email.get("cc"))
            ok = copied == task.cc_expected
            seen = (
                f"Your email did not copy {persona.cc_address}."
                if task.cc_expected
                else f"Your email copied {persona.cc_address}, but it is not about "
                f"{persona.topics_text}."
            )
        checks.append(Check(pref, ok, "" if ok else seen, "" if ok else _rule(persona, pref, task)))
    return checks


def check_triage(persona: Persona, task: Task, decision: str) -> list[Check]:
    """Check a triage task: the decision triage made for the email."""
    pref = task.preferences[0]
    expected = "respond" if pref == "triage_ceo" else "ignore"
    ok = decision == expected
    seen = f"You classified '{task.email.subject}' from {task.email.author} as '{decision}'."
    return [Check(pref, ok, "" if ok else seen, "" if ok else _rule(persona, pref, task))]


def _rule(persona: Persona, preference: str, task: Task) -> str:
    """The rule behind a preference, in the user's words."""
    if preference == "sign_off":
        return f'Sign off every email with "{persona.sign_off}".'
    if preference == "no_exclamation":
        return "Never use exclamation marks in emails; keep the tone formal."
    if preference == "formal_greeting":
        return 'Open every email with a formal greeting, "Dear <first name>,", never "Hi".'
    if preference == "cc_rule":
        only = "" if task.cc_expected else "only "
        always = "Always " if task.cc_expected else ""
        return f"{always}CC {persona.cc_address} {only}on emails about {persona.topics_text}."
    if preference == "triage_ceo":
        return f"You should respond to anything from {persona.ceo} (my CEO): it is always urgent."
    return "You should ignore newsletters and digests: anything mentioning 'unsubscribe'."


@dataclass
class TaskResult:
    """A task, what the assistant did and how it scored."""

    task: Task
    checks: list[Check]
    trajectory_id: str | None = None
    decision: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def misses(self) -> list[Check]:
        return [c for c in self.checks if not c.satisfied]

    @property
    def score(self) -> float:
        return sum(c.satisfied for c in self.checks) / len(self.checks)


def feedback_for(result: TaskResult) -> str:
    """Natural-language feedback on a task's misses: what was wrong, then the rule."""
    opening = (
        f"Your reply to {_person(result.task.email.author)} missed some of my preferences:"
        if result.task.kind == "reply"
        else f"The triage of the email from {result.task.email.author} was wrong:"
    )
    lines = [f"- {miss.observation} {miss.rule}" for miss in result.misses]
    return "\n".join([opening, *lines])
