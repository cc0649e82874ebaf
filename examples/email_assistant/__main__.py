"""Run the email assistant: `python -m examples.email_assistant` from the repository root.

Offline it uses scripted models (said on screen); with `OPENAI_API_KEY` or `OPENAI_BASE_URL`
set it uses a real model through langchain-openai (`$PROMPTOPT_DEMO_MODEL`, default
`gpt-4o-mini`). The store is `$PROMPTOPT_STORE`, default in-memory.
"""

from __future__ import annotations

import os

from langchain_prompt_optimization import PromptRegistry, open_store

from .assistant import Email, build_assistant, scripted_models

USER = "john.doe@example.com"
NEWSLETTER = Email(
    author="news@acme.com",
    to=USER,
    subject="Acme newsletter: November deals",
    body="Our best deals of the month.",
)
QUESTION = Email(
    author="alice@example.com",
    to=USER,
    subject="Quick question about the API",
    body="Direct questions from team members: can we meet Tuesday about the API?",
)


def main() -> None:
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        from langchain_openai import ChatOpenAI

        name = os.environ.get("PROMPTOPT_DEMO_MODEL", "gpt-4o-mini")
        model = triage = optimizer = ChatOpenAI(model=name, temperature=0)
        print(f"== real model {name} through langchain-openai")
    else:
        model, triage, optimizer = scripted_models()  # type: ignore[assignment]
        print("== OFFLINE: scripted models (set OPENAI_API_KEY or OPENAI_BASE_URL for a real one)")
    store = open_store(os.environ.get("PROMPTOPT_STORE", "memory://"))
    assistant = build_assistant(
        model=model, triage_model=triage, optimizer_model=optimizer, store=store
    )

    print("triage of the Acme newsletter:", assistant.triage(NEWSLETTER, user_id=USER))
    run = assistant.reply(NEWSLETTER, user_id=USER)
    assistant.middleware.add_feedback(
        run["trajectory_id"], "You should respond to: Acme newsletter"
    )
    print("after triage feedback:", assistant.triage(NEWSLETTER, user_id=USER))

    decision, result = assistant.handle(QUESTION, user_id=USER)
    print("question:", decision, "->", [m.type for m in result["messages"]])
    assistant.middleware.add_feedback(
        result["trajectory_id"],
        "Always check the calendar before replying to meeting requests, and sign emails as "
        "John Doe.",
    )
    _, result = assistant.handle(QUESTION, user_id=USER)
    steps = [c["name"] for m in result["messages"] for c in getattr(m, "tool_calls", [])]
    print("after writing feedback, tools called:", steps)

    registry = PromptRegistry(store)
    for prompt in ("main_agent", "triage_ignore", "triage_notify", "triage_respond"):
        current = registry.current(USER, prompt)
        print(f"{prompt:>15} v{current.version}: {current.text.splitlines()[-1]}")


if __name__ == "__main__":
    main()
