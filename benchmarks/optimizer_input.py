"""Size of what one optimization sends to the optimizer, against how much feedback is pending.

With 10, 100 and 1,000 pending trajectories (each run answered with a 20,000-character reply,
each feedback 2,000 characters), the largest single request to the optimizer model is
measured in characters and estimated tokens (characters / 4). It must stay under the budget
(`max_feedback_per_optimization x 2 x max_trajectory_chars`, plus the prompt itself, at
most `max_prompt_chars`, plus langmem's template) and flat
in the number pending. Run with `make bench`.
"""

from __future__ import annotations

from langchain.agents import create_agent
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import OptimizerSettings, PromptOptimizationMiddleware
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

MAX_FEEDBACK, MAX_CHARS = 20, 8_000


def sent_for(pending: int) -> tuple[int, int]:
    """The largest single request to the optimizer, and how many requests were made."""
    optimizer = ScriptedOptimizerModel()
    mw = PromptOptimizationMiddleware(
        optimizer=OptimizerSettings(
            model=optimizer, max_feedback=MAX_FEEDBACK, max_trajectory_chars=MAX_CHARS
        ),
        mode="external",
    )
    model = ScriptedChatModel(responses=lambda request: "x" * 20_000)
    agent = create_agent(model, system_prompt="You help.", middleware=[mw], store=InMemoryStore())
    for i in range(pending):
        run = agent.invoke({"messages": [("user", f"task {i}")]}, context={"user_id": "u"})
        mw.add_feedback(run["trajectory_id"], f"feedback {i} " + "y" * 2_000)
    mw.optimize_now("u")
    return max(len(r.text) for r in optimizer.requests), len(optimizer.requests)


def main() -> None:
    budget = MAX_FEEDBACK * 2 * MAX_CHARS + 8_000  # + the prompt itself (max_prompt_chars)
    print(f"budget: {MAX_FEEDBACK} x 2 x {MAX_CHARS} + 8,000 (prompt) = {budget} + template\n")
    print("| pending | largest request (chars) | est. tokens | within budget | requests |")
    print("|---|---|---|---|---|")
    for pending in (10, 100, 1_000):
        chars, requests = sent_for(pending)
        within = chars <= budget + 5_000
        print(f"| {pending} | {chars} | {chars // 4} | {within} | {requests} |")


if __name__ == "__main__":
    main()
