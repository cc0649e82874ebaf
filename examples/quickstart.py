"""Quickstart: an email assistant that learns from its user's feedback.

Run with `make demo`. Each run asks the assistant for an email, gives feedback on what it
missed, lets the middleware learn, and asks again. The store is a SQLite file
(`examples/quickstart.db`, or `$PROMPTOPT_STORE`), so the next run continues the history.

Offline it uses scripted models. With `OPENAI_API_KEY` or `OPENAI_BASE_URL` set it uses a
real model through langchain-openai (`$PROMPTOPT_DEMO_MODEL`, default `gpt-4o-mini`).
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from langchain.agents import create_agent

from langchain_prompt_optimization import (
    FeedbackFirewall,
    OptimizerSettings,
    PromptOptimizationMiddleware,
    PromptRegistry,
    SafetySettings,
    open_store,
)
from langchain_prompt_optimization.testing import (
    ScriptedChatModel,
    ScriptedOptimizerModel,
    ScriptedRequest,
)

USER = "jane.doe@example.com"
BASE_PROMPT = "You are an email assistant. Write the email the user asks for."
REQUEST = "Write a short email to Bob saying the quarterly report is ready."
LESSONS = [
    ("John Doe", "Always sign emails as John Doe."),
    ("CC: manager@example.com", "Always CC manager@example.com on emails about reports."),
    ("Best regards", "Close every email with 'Best regards'."),
]


@dataclass
class Context:
    user_id: str


def scripted_email(request: ScriptedRequest) -> str:
    """Offline stand-in for the assistant's model: follows the rules its prompt states."""
    prompt = request.system_prompt or ""
    lines = ["Hi Bob,", "", "The quarterly report is ready."]
    if "CC manager@example.com" in prompt:
        lines.insert(0, "CC: manager@example.com")
    if "Best regards" in prompt:
        lines += ["", "Best regards,"]
    if "sign emails as John Doe" in prompt:
        lines.append("John Doe")
    return "\n".join(lines)


def scripted_rewrite(current: str, text: str) -> str:
    """Offline stand-in for the optimizer: adds the feedback it was given as a rule."""
    for feedback in re.findall(r"<feedback \d+>\n(.*?)\n</feedback \d+>", text, re.DOTALL):
        if feedback.strip() and feedback.strip() not in current:
            current = f"{current}\n{feedback.strip()}"
    return current


def models() -> tuple[object, object, str]:
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        from langchain_openai import ChatOpenAI

        name = os.environ.get("PROMPTOPT_DEMO_MODEL", "gpt-4o-mini")
        model = ChatOpenAI(model=name, temperature=0)
        return model, model, f"real model {name} through langchain-openai"
    return (
        ScriptedChatModel(responses=scripted_email),
        ScriptedOptimizerModel(rewrite=scripted_rewrite),
        "OFFLINE: scripted models (set OPENAI_API_KEY or OPENAI_BASE_URL for a real model)",
    )


def main() -> int:
    uri = (
        os.environ.get("PROMPTOPT_STORE") or f"sqlite:///{Path(__file__).parent / 'quickstart.db'}"
    )
    store = open_store(uri)
    model, optimizer, description = models()
    print(f"== {description}")
    print(f"== store: {uri}\n")

    middleware = PromptOptimizationMiddleware(
        optimizer=OptimizerSettings(model=optimizer),  # type: ignore[arg-type]
        store=store,
        # Feedback may name addresses at the user's own company; any other address in
        # feedback is quarantined for review by the feedback firewall.
        safety=SafetySettings(firewall=FeedbackFirewall(trusted_domains=("example.com",))),
    )
    agent = create_agent(
        model,  # type: ignore[arg-type]
        system_prompt=BASE_PROMPT,
        middleware=[middleware],
        store=store,
        context_schema=Context,
    )
    registry = PromptRegistry(store)

    def ask() -> dict:
        result = agent.invoke({"messages": [("user", REQUEST)]}, context=Context(user_id=USER))
        version = result["prompt_versions"]["system"]
        print(f"-- answer (system prompt v{version}):\n{result['messages'][-1].content}\n")
        return result

    result = ask()
    reply = str(result["messages"][-1].content)
    missing = [(marker, lesson) for marker, lesson in LESSONS if marker not in reply]
    if not missing:
        print("Every lesson is learned. Delete examples/quickstart.db to start over.")
    else:
        marker, lesson = missing[0]
        before = registry.current(USER)
        print(f"-- feedback: {lesson!r}")
        middleware.add_feedback(result["trajectory_id"], lesson)
        after = registry.current(USER)
        print(f"-- learned: v{before.version} -> v{after.version}\n")
        diff = difflib.unified_diff(
            before.text.splitlines(),
            after.text.splitlines(),
            f"v{before.version}",
            f"v{after.version}",
            lineterm="",
        )
        print("\n".join(diff) + "\n")
        result = ask()
        learned = marker in str(result["messages"][-1].content)
        print("-- the new answer follows the feedback." if learned else "-- not learned yet.")

    print("\n-- history of the system prompt (newest first):")
    for version in registry.history(USER):
        first_line = version.text.splitlines()[-1] if version.text else ""
        print(f"  v{version.version:<3} {version.status:<9} {version.reason:<26} {first_line}")

    # The review dashboard on this store (needs the `ui` extra; `make demo` installs it).
    print("\n-- review what was learned in the browser (the review dashboard):")
    print(f"  promptopt --store {shlex.quote(uri)} serve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
