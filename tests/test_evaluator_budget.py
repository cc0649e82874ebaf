"""Budgets cover evaluators: an LLM-as-judge's calls are charged with the optimizations'."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from agentevals.trajectory.llm import create_trajectory_llm_as_judge
from langchain_core.messages import AIMessage
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    Budget,
    EvaluatorSettings,
    PromptRegistry,
    PromptWorker,
)
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

from .conftest import make_harness
from .test_budget import Clock

DRAIN = 60


def _judge():
    """agentevals' LLM-as-judge over a scripted judge model (a `score` tool call)."""
    answer = {"name": "score", "args": {"reasoning": "Sign as John Doe.", "score": False}}
    model = ScriptedChatModel(
        responses=[AIMessage("", tool_calls=[{**answer, "id": "j1"}])], repeat_last=True
    )
    return model, create_trajectory_llm_as_judge(judge=model)


def _judged_app(max_calls):
    """An app whose runs an LLM-as-judge scores, under a call budget; no optimization
    is triggered by the verdicts."""
    store, clock = InMemoryStore(), Clock()
    model, judge = _judge()
    budget = Budget(max_optimizer_calls=max_calls, clock=clock)
    h = make_harness(store, evaluators=[judge], budget=budget, optimize_every=100)
    return store, clock, model, h


def _usage(store, clock, user="u"):
    at = datetime.fromtimestamp(clock.now, UTC)
    return PromptRegistry(store).budget_usage(user, at=at).usage


def test_a_judges_calls_and_tokens_are_charged_to_the_owners_budget():
    store, clock, model, h = _judged_app(10)
    h.ask("u")
    assert h.middleware.drain(DRAIN)
    assert len(model.requests) == 1
    usage = _usage(store, clock)
    assert (usage["calls"], usage["evaluator_calls"], usage["optimizations"]) == (1, 1, 0)
    assert usage["input_tokens"] > 0  # the judge's reply reported its usage
    assert usage["output_tokens"] > 0
    assert usage["reserved"] == 0  # the reservation was replaced by what was counted
    assert _usage(store, clock, "other")["calls"] == 0  # charged to its own owner


def test_over_budget_the_evaluator_is_not_called_and_optimizations_share_the_cap():
    store, clock, model, h = _judged_app(1)
    h.ask("u")
    assert h.middleware.drain(DRAIN)
    # The judge spent the window's one call: the owner's optimization is deferred...
    assert h.middleware.optimize_now("u").status == "over_budget"
    # ...and the next run is answered but not evaluated.
    run = h.ask("u")
    assert run["messages"][-1].content
    assert h.middleware.drain(DRAIN)
    assert len(model.requests) == 1
    stats = h.middleware.evaluation_stats
    assert (stats.sampled, stats.evaluated, stats.over_budget, stats.errors) == (2, 1, 1, 0)
    assert len(PromptRegistry(store).feedback("u", pending_only=False)) == 1
    assert _usage(store, clock)["calls"] == 1
    clock.next_day()  # the next window evaluates again
    h.ask("u")
    assert h.middleware.drain(DRAIN)
    assert len(model.requests) == 2
    assert h.middleware.evaluation_stats.evaluated == 2


def test_over_budget_async_twin():
    store, clock, model, h = _judged_app(1)

    async def main():
        await h.aask("u")
        assert await h.middleware.adrain(DRAIN)
        await h.aask("u")
        assert await h.middleware.adrain(DRAIN)

    asyncio.run(main())
    assert len(model.requests) == 1
    stats = h.middleware.evaluation_stats
    assert (stats.evaluated, stats.over_budget) == (1, 1)
    at = datetime.fromtimestamp(clock.now, UTC)
    usage = asyncio.run(PromptRegistry(store).abudget_usage("u", at=at)).usage
    assert (usage["evaluator_calls"], usage["optimizations"]) == (1, 0)


def test_a_worker_charges_its_evaluators_and_skips_them_over_budget():
    store, clock = InMemoryStore(), Clock()
    app = make_harness(store, mode="external", evaluators=EvaluatorSettings(queue_for_workers=True))
    model, judge = _judge()
    worker = PromptWorker(
        store,
        optimizer=ScriptedOptimizerModel(rewrite=lambda current, _text: current),
        evaluators=[judge],
        budget=Budget(max_optimizer_calls=1, clock=clock),
    )
    app.ask("u")
    (report,) = worker.evaluate_queued()
    assert (len(report.stored), report.usage["evaluator_calls"]) == (1, 1)
    app.ask("u")
    (report,) = worker.evaluate_queued()
    assert (report.stored, report.over_budget) == ((), 1)
    assert len(model.requests) == 1
    assert worker.evaluate_queued() == []  # taken off the queue (documented)
    assert _usage(store, clock)["evaluator_calls"] == 1


def test_without_a_budget_evaluator_usage_is_still_recorded():
    store = InMemoryStore()
    _, judge = _judge()
    h = make_harness(store, evaluators=[judge], optimize_every=100)
    h.ask("u")
    assert h.middleware.drain(DRAIN)
    usage = PromptRegistry(store).budget_usage("u").usage
    assert (usage["evaluator_calls"], usage["optimizations"]) == (1, 0)
