"""An agent for the LangGraph server (`langgraph dev`): per-user prompts, no `store=`.

The server gives every graph its own store; `create_agent(..., store=...)` would make it
refuse to start, so the middleware uses the server's store. The model is scripted so the
example runs offline: replace `model` with e.g. `"openai:gpt-4o-mini"` for a real one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain.agents import create_agent

from langchain_prompt_optimization import OptimizerSettings, PromptOptimizationMiddleware
from langchain_prompt_optimization.server import make_optimizer_graph
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

if TYPE_CHECKING:
    from langchain_prompt_optimization.testing import ScriptedRequest

BASE_PROMPT = "You are an email assistant."

# --- offline stand-in for an LLM: one model answers the agent and the optimizer ---
langmem_script = ScriptedOptimizerModel()  # feedback -> a new line in the prompt


def reply(request: ScriptedRequest) -> object:
    if request.tools:  # the optimizer's structured-output call (the agent has no tools)
        return langmem_script.reply(request)
    learned = (request.system_prompt or "").replace(BASE_PROMPT, "").strip()
    return "Hi Bob, the report is ready." + (f"\n[{learned}]" if learned else "")


model = ScriptedChatModel(responses=reply)
# --- end of the offline stand-in ---

# No store=: on the server the middleware uses the server's store, in runs and in routes.
# optimizer= names the model explicitly so the route's instance (routes.py imports this
# module again) can optimize before it has seen a run.
middleware = PromptOptimizationMiddleware(optimizer=OptimizerSettings(model=model))
agent = create_agent(model, system_prompt=BASE_PROMPT, middleware=[middleware])

# The same agent with optimizations on the server's own task queue: mode="server" records the
# feedback, then queues a run of the optimizer graph ("prompt_optimizer" in langgraph.json) on
# the user's own thread, so one user's optimizations run one at a time. With a real model,
# list "langchain_prompt_optimization.server:optimizer" and set PROMPTOPT_OPTIMIZER_MODEL.
queued_agent = create_agent(
    model,
    system_prompt=BASE_PROMPT,
    middleware=[PromptOptimizationMiddleware(mode="server")],
)
optimizer = make_optimizer_graph(model=model)
