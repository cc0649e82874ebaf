"""Honest accounting: usage recorded on every path, "no update" is an outcome, not a version."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptOptimizationMiddleware, PromptRegistry
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel
from langchain_prompt_optimization.testing.openai_server import LoopbackOpenAIServer

from .conftest import BASE_PROMPT, SIGN_RULE, make_harness

EXTRA = [{"name": "tone", "prompt": "Be kind."}]


class DecliningOptimizer(ScriptedOptimizerModel):
    """Answers langmem's prompt_memory as real models do when nothing should change:
    `update_prompt: false` and an empty `new_prompt` (langmem passes the empty text on)."""

    def reply(self, request):
        if "GeneralResponse" in request.tools:
            args = {"logic": "the prompt is fine", "update_prompt": False, "new_prompt": ""}
            return AIMessage("", tool_calls=[{"name": "GeneralResponse", "args": args, "id": "d"}])
        return super().reply(request)


def _flaky(state):
    """A rewrite that raises while `state["broken"]`, else learns the sign-off."""

    def rewrite(current: str, text: str) -> str:
        if state["broken"]:
            raise TimeoutError("the model timed out")
        return f"{current}\n{SIGN_RULE}" if SIGN_RULE not in current else current

    return rewrite


# -- usage on the failure path ------------------------------------------------------------------


def test_a_failed_optimization_records_the_usage_of_the_calls_it_made(store):
    # Two prompts: credit assignment answers (tokens counted), then the rewrite raises.
    h = make_harness(store, rewrite=_flaky({"broken": True}), prompts=EXTRA, mode="external")
    run = h.ask("jane")
    h.middleware.add_feedback(run["trajectory_id"], "Always sign emails as John Doe.")
    outcome = h.middleware.optimize_now("jane")

    assert outcome.status == "failed"
    assert outcome.usage["calls"] == len(h.optimizer.requests) >= 2  # the raised call counts
    assert outcome.usage["input_tokens"] > 0  # the classifier's reply was billed
    failed = PromptRegistry(store).history("jane")[0]
    assert failed.status == "failed"
    assert failed.usage == outcome.usage  # was {} before
    report = PromptRegistry(store).budget_usage("jane")
    assert report.usage["calls"] == outcome.usage["calls"]
    assert report.usage["optimizations"] == 1


async def test_a_failed_async_optimization_records_its_usage_too(store):
    h = make_harness(store, rewrite=_flaky({"broken": True}), prompts=EXTRA, mode="external")
    run = await h.aask("jane")
    await h.middleware.aadd_feedback(run["trajectory_id"], "Always sign emails as John Doe.")
    outcome = await h.middleware.aoptimize_now("jane")

    assert outcome.status == "failed"
    assert outcome.usage["calls"] == len(h.optimizer.requests) >= 2
    failed = (await PromptRegistry(store).ahistory("jane"))[0]
    assert failed.usage["input_tokens"] > 0
    assert (await PromptRegistry(store).abudget_usage("jane")).usage["calls"] >= 2


# -- an explicit "no update" answer ----------------------------------------------------------


def _declining_harness(store):
    return make_harness(store, mode="external", optimizer_model=DecliningOptimizer())


def test_no_update_from_prompt_memory_is_an_outcome_not_a_rejected_version(store):
    h = _declining_harness(store)
    run = h.ask("jane")
    h.middleware.add_feedback(run["trajectory_id"], "Looks good to me.")
    outcome = h.middleware.optimize_now("jane")

    assert outcome.status == "unchanged"
    assert outcome.versions == {}
    assert outcome.usage["calls"] == 1
    registry = PromptRegistry(store)
    assert [v.status for v in registry.history("jane")] == ["active"]  # the base only
    assert registry.current("jane").text == BASE_PROMPT
    (item,) = registry.feedback("jane", pending_only=False)
    assert (item.status, item.consumed_by) == ("consumed", {})  # seen, nothing changed
    report = registry.budget_usage("jane")
    assert report.usage["calls"] == 1  # the usage is visible although no version was stored
    assert report.usage["optimizations"] == 1


async def test_no_update_async_is_the_same_outcome(store):
    h = _declining_harness(store)
    run = await h.aask("jane")
    await h.middleware.aadd_feedback(run["trajectory_id"], "Looks good to me.")
    outcome = await h.middleware.aoptimize_now("jane")

    assert (outcome.status, outcome.versions) == ("unchanged", {})
    assert [v.status for v in await PromptRegistry(store).ahistory("jane")] == ["active"]


def test_no_update_through_a_real_openai_client():
    store = InMemoryStore()
    agent_model = ScriptedChatModel(responses=["Sent."], repeat_last=True)
    models = {"agent-model": agent_model, "optimizer-model": DecliningOptimizer()}
    with LoopbackOpenAIServer(models) as server:
        client = ChatOpenAI(
            model="optimizer-model",
            base_url=server.base_url,
            api_key="not-a-real-key",
            max_retries=0,
        )
        mw = PromptOptimizationMiddleware(optimizer=client, mode="external")
        from langchain.agents import create_agent

        agent = create_agent(agent_model, system_prompt=BASE_PROMPT, middleware=[mw], store=store)
        run = agent.invoke({"messages": [("user", "Email Bob.")]}, context={"user_id": "jane"})
        mw.add_feedback(run["trajectory_id"], "Fine as it is.")
        outcome = mw.optimize_now("jane")
        # langmem asked for json_schema output; the "no update" came back as JSON content
        assert any(
            (body.get("response_format") or {}).get("type") == "json_schema"
            for body in server.requests
        )

    assert (outcome.status, outcome.versions) == ("unchanged", {})
    assert outcome.usage["calls"] == 1
    assert outcome.usage["input_tokens"] > 0  # parsed from the HTTP response
    assert [v.status for v in PromptRegistry(store).history("jane")] == ["active"]


def test_a_real_model_writing_an_empty_prompt_is_still_rejected():
    # update_prompt true with an empty text is a broken candidate, not a "no update".
    h = make_harness(InMemoryStore(), rewrite=lambda current, text: "", mode="external")
    run = h.ask("jane")
    h.middleware.add_feedback(run["trajectory_id"], "Always sign emails as John Doe.")
    outcome = h.middleware.optimize_now("jane")
    assert outcome.status == "optimized"
    assert outcome.versions["system"].status == "rejected"


# -- credit assignment picks no prompt ------------------------------------------------------


def _credit_harness(store, state):
    optimizer = ScriptedOptimizerModel(
        rewrite=_flaky(state),
        classify=lambda choices, text: list(choices) if state["assign"] else [],
    )
    return make_harness(store, optimizer_model=optimizer, prompts=EXTRA, mode="external")


def _statuses(store):
    items = PromptRegistry(store).feedback("jane", pending_only=False)
    return {fb.id: (fb.status, fb.attempts, bool(fb.consumed_by)) for fb in items}


def test_credit_assignment_picking_nothing_keeps_items_that_failed_before(store):
    state = {"broken": True, "assign": True}
    h = _credit_harness(store, state)
    mw = h.middleware
    first = h.ask("jane")
    mw.add_feedback(first["trajectory_id"], "Always sign emails as John Doe.", feedback_id="old")
    assert mw.optimize_now("jane").status == "failed"  # "old" has a failed attempt

    state.update(broken=False, assign=False)  # the optimizer works and picks no prompt
    second = h.ask("jane")
    mw.add_feedback(second["trajectory_id"], "Nice email.", feedback_id="new")
    outcome = mw.optimize_now("jane")

    assert (outcome.status, outcome.versions) == ("unchanged", {})
    assert _statuses(store) == {"new": ("consumed", 0, False), "old": ("pending", 2, False)}

    state["assign"] = True  # a later optimization that rewrites learns from it
    assert mw.optimize_now("jane").status == "optimized"
    assert _statuses(store)["old"] == ("consumed", 2, True)


async def test_credit_assignment_picking_nothing_async(store):
    state = {"broken": True, "assign": True}
    h = _credit_harness(store, state)
    mw = h.middleware
    first = await h.aask("jane")
    await mw.aadd_feedback(first["trajectory_id"], "Sign as John Doe.", feedback_id="old")
    assert (await mw.aoptimize_now("jane")).status == "failed"
    state.update(broken=False, assign=False)
    second = await h.aask("jane")
    await mw.aadd_feedback(second["trajectory_id"], "Nice email.", feedback_id="new")
    assert (await mw.aoptimize_now("jane")).status == "unchanged"
    assert _statuses(store) == {"new": ("consumed", 0, False), "old": ("pending", 2, False)}


def test_items_passed_over_by_credit_assignment_are_set_aside_after_max_attempts():
    store = InMemoryStore()
    state = {"broken": True, "assign": True}
    h = _credit_harness(store, state)
    run = h.ask("jane")
    h.middleware.add_feedback(run["trajectory_id"], "Sign as John Doe.", feedback_id="x")
    assert h.middleware.optimize_now("jane").status == "failed"
    state.update(broken=False, assign=False)
    h.middleware.optimize_now("jane")
    assert _statuses(store) == {"x": ("pending", 2, False)}
    h.middleware.optimize_now("jane")  # the third try (max_attempts=3) sets it aside
    assert _statuses(store) == {"x": ("failed", 3, False)}
