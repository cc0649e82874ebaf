"""The evaluation gate: replays recorded runs against candidates, through `create_agent`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    EvaluationGate,
    PromptOptimizationMiddleware,
    PromptRegistry,
    PromptWorker,
)
from langchain_prompt_optimization.optimizer.gate import GateCall, split_example
from langchain_prompt_optimization.stores import Example, messages_to_json
from langchain_prompt_optimization.testing import (
    ScriptedChatModel,
    ScriptedOptimizerModel,
    ScriptedRequest,
)
from tests.conftest import Context
from tests.email_tools import TOOL_RUNS, lookup_contact, send_email, tool_call

BASE = "You are an email assistant. Look up the contact, then send the email."


def agent_reply(request: ScriptedRequest) -> AIMessage | str:
    """Looks the contact up and sends, unless its prompt says never to send emails.

    The address it sends to is the lookup's result, so a replay must feed the recorded
    tool result back for the trajectory to match.
    """
    prompt = request.system_prompt or ""
    tools = [m for m in request.messages if isinstance(m, ToolMessage)]
    if "Never send emails" in prompt:
        return "I drafted it but will not send it."
    if not tools:
        return tool_call("lookup_contact", {"name": "Bob"}, 1)
    if len(tools) == 1:
        return tool_call("send_email", {"to": str(tools[0].content), "body": "Hi Bob"}, 2)
    return "Sent to Bob."


def _agent(gate: EvaluationGate | None, store: Any, *, rewrite: Any = None, **kwargs: Any):
    optimizer = ScriptedOptimizerModel(**({"rewrite": rewrite} if rewrite else {}))
    model = ScriptedChatModel(responses=agent_reply)
    middleware = PromptOptimizationMiddleware(optimizer_model=optimizer, gate=gate, **kwargs)
    agent = create_agent(
        model,
        tools=[lookup_contact, send_email],
        system_prompt=BASE,
        middleware=[middleware],
        store=store,
        context_schema=Context,
    )
    return agent, middleware, model


def _ask(agent: Any, user: str) -> dict[str, Any]:
    return agent.invoke({"messages": [("user", "Email Bob.")]}, context=Context(user_id=user))


def test_positive_run_becomes_an_example_and_blocks_a_regressing_candidate():
    store = InMemoryStore()
    agent, mw, _model = _agent(EvaluationGate(), store)
    good = _ask(agent, "ann")
    assert [m.type for m in good["messages"]][-1] == "ai"
    mw.add_feedback(good["trajectory_id"], "Great, exactly right.", score=1.0)
    registry = PromptRegistry(store)
    (example,) = registry.examples("ann")
    assert example.source == "feedback"
    assert example.trajectory_id == good["trajectory_id"]
    # The compliant optimizer copies this feedback into the prompt: a regression.
    before = len(TOOL_RUNS)
    second = _ask(agent, "ann")
    mw.add_feedback(second["trajectory_id"], "Never send emails without asking me first.")
    assert len(TOOL_RUNS) == before + 2  # only the real run's tools ran, not the replays
    latest = registry.history("ann")[0]
    assert latest.status == "rejected"
    assert latest.reason.startswith("evaluation gate: candidate scored 0.00 < active 1.00")
    assert latest.scores is not None
    assert latest.scores["examples"] == 1
    assert latest.scores["candidate"] == 0.0
    assert registry.current("ann").text == mw.get_prompt(user_id="ann")
    assert "Never send" not in mw.get_prompt(user_id="ann")
    # A candidate that keeps the behaviour passes and carries its scores.
    third = _ask(agent, "ann")
    mw.add_feedback(third["trajectory_id"], "Keep the emails short.")
    current = registry.current("ann")
    assert "Keep the emails short." in current.text
    assert current.scores is not None
    assert current.scores["candidate"] == current.scores["active"] == 1.0


def test_replay_feeds_recorded_tool_results_and_runs_no_tool():
    plain = create_agent(
        ScriptedChatModel(responses=agent_reply),
        tools=[lookup_contact, send_email],
        system_prompt=BASE,
    )
    recorded = _ask(plain, "x")
    ran = len(TOOL_RUNS)
    example = Example.new(messages_to_json(recorded["messages"]), source="reference")
    call = GateCall(
        EvaluationGate(trajectory_match="strict"),
        ScriptedChatModel(responses=agent_reply),
        (lookup_contact, send_email),
        BASE,
        (BASE + "\nNever send emails.", BASE + "\nBe brief."),
        (example,),
    )
    result = call.run()
    assert (result.active, result.candidates) == (1.0, (0.0, 1.0))
    assert asyncio.run(call.arun()) == result
    assert len(TOOL_RUNS) == ran
    inputs, outputs = split_example(recorded["messages"])
    assert [m.type for m in inputs] == ["human"]
    assert [m.type for m in outputs] == ["ai", "tool", "ai", "tool", "ai"]


def test_a_replay_without_the_recorded_result_does_not_match():
    """The send address comes from the lookup: with another recorded result the replayed
    `send_email` args differ, and exact-args trajectory match fails."""
    recorded = [
        ("user", "Email Bob."),
        tool_call("lookup_contact", {"name": "Bob"}, 1),
        ToolMessage("someone-else@example.com", tool_call_id="c1", name="lookup_contact"),
        tool_call("send_email", {"to": "bob@example.com", "body": "Hi Bob"}, 2),
        ToolMessage("sent", tool_call_id="c2", name="send_email"),
        AIMessage("Sent to Bob."),
    ]
    from langchain_prompt_optimization.optimizer.gate import reference_example

    call = GateCall(
        EvaluationGate(trajectory_match="strict"),
        ScriptedChatModel(responses=agent_reply),
        (lookup_contact, send_email),
        BASE,
        (),
        (reference_example(recorded),),
    )
    assert call.run().active == 0.0


def test_user_evaluator_and_reference_trajectories(tmp_path):
    from langchain_prompt_optimization import open_store

    store = open_store(f"sqlite:///{tmp_path}/gate.db")
    seen: list[int] = []

    def polite(*, outputs: list[Any], reference_outputs: list[Any]) -> dict[str, Any]:
        seen.append(len(reference_outputs))
        final = outputs[-1].content
        return {"key": "polite", "score": 0.0 if "will not" in final else 1.0}

    gate = EvaluationGate(trajectory_match=None, evaluator=polite)
    agent, mw, _ = _agent(gate, store)
    first = _ask(agent, "bo")
    reference = [
        {"role": "user", "content": "Email Bob."},
        {"role": "assistant", "content": "Sent to Bob."},
    ]
    mw.add_example(reference, user_id="bo", note="the answer we want")
    registry = PromptRegistry(store)
    assert [e.source for e in registry.examples("bo")] == ["reference"]
    mw.add_feedback(first["trajectory_id"], "Never send emails on Fridays.")
    latest = registry.history("bo")[0]
    assert latest.status == "rejected"
    assert "evaluation gate" in latest.reason
    assert seen
    assert latest.scores is not None
    assert "evaluator polite" in latest.scores["method"]
    with pytest.raises(ValueError, match="human message"):
        mw.add_example([{"role": "assistant", "content": "hi"}], user_id="bo")
    with pytest.raises(ValueError, match="after the last human"):
        registry.add_example("bo", [{"role": "user", "content": "hi"}])
    store.conn.close()  # type: ignore[attr-defined]


def test_best_of_k_keeps_the_best_scoring_candidate():
    answers = iter(["Never send emails.", "Be brief.", "Never send emails, ever."])

    def rewrite(current: str, text: str) -> str:
        return f"{current}\n{next(answers)}" if "<feedback" in text else current

    store = InMemoryStore()
    agent, mw, _ = _agent(EvaluationGate(best_of=3), store, rewrite=rewrite)
    run = _ask(agent, "cy")
    mw.add_example(run, user_id="cy")
    mw.add_feedback(run["trajectory_id"], "Improve it.")
    current = PromptRegistry(store).current("cy")
    assert current.text.endswith("Be brief.")
    assert current.scores is not None
    assert current.scores["best_of"] == [0.0, 1.0, 0.0]
    assert current.usage["calls"] >= 3


def test_min_examples_flags_candidates_for_review():
    store = InMemoryStore()
    agent, mw, _ = _agent(EvaluationGate(min_examples=1), store)
    run = _ask(agent, "di")
    mw.add_feedback(run["trajectory_id"], "Be brief.")
    latest = PromptRegistry(store).history("di")[0]
    assert latest.status == "pending"
    assert latest.flagged
    assert "min_examples=1" in latest.reason
    assert mw.get_prompt(user_id="di") == BASE
    PromptRegistry(store).approve("di", latest.version)
    assert mw.get_prompt(user_id="di").endswith("Be brief.")


def test_gate_async_path_matches_sync():
    async def scenario() -> tuple[str, str]:
        store = InMemoryStore()
        agent, mw, _ = _agent(EvaluationGate(), store)
        good = await agent.ainvoke(
            {"messages": [("user", "Email Bob.")]}, context=Context(user_id="ev")
        )
        await mw.aadd_feedback(good["trajectory_id"], "Perfect.", score=1.0)
        await mw.aadd_example(good, user_id="ev")
        bad = await agent.ainvoke(
            {"messages": [("user", "Email Bob.")]}, context=Context(user_id="ev")
        )
        await mw.aadd_feedback(bad["trajectory_id"], "Never send emails at all.")
        latest = (await PromptRegistry(store).ahistory("ev"))[0]
        return latest.status, latest.reason

    status, reason = asyncio.run(scenario())
    assert status == "rejected"
    assert reason.startswith("evaluation gate")


def test_gate_errors_flag_the_candidate_and_never_break_the_run():
    def broken(*, outputs: list[Any], reference_outputs: list[Any]) -> Any:
        return "not a score"

    store = InMemoryStore()
    agent, mw, _ = _agent(EvaluationGate(trajectory_match=None, evaluator=broken), store)
    run = _ask(agent, "fa")
    mw.add_feedback(run["trajectory_id"], "Ok.", score=1.0)
    mw.add_feedback(_ask(agent, "fa")["trajectory_id"], "Be brief.")
    latest = PromptRegistry(store).history("fa")[0]
    assert latest.status == "pending"
    assert "evaluation gate failed" in latest.reason
    assert mw.get_prompt(user_id="fa") == BASE


def test_gate_configuration_errors():
    with pytest.raises(ValueError, match="trajectory_match"):
        EvaluationGate(trajectory_match="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs trajectory_match, an evaluator"):
        EvaluationGate(trajectory_match=None)
    with pytest.raises(ValueError, match="best_of"):
        EvaluationGate(best_of=0)
    with pytest.raises(TypeError, match="gate must be an EvaluationGate"):
        PromptOptimizationMiddleware(gate="strict")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="external"):
        PromptOptimizationMiddleware(gate=EvaluationGate(), mode="external")
    with pytest.raises(ValueError, match="model="):
        PromptWorker(InMemoryStore(), optimizer_model=ScriptedOptimizerModel(),
                     gate=EvaluationGate())  # fmt: skip


def test_worker_gate_uses_its_own_model():
    store = InMemoryStore()
    agent, mw, _ = _agent(None, store, mode="external")
    good = _ask(agent, "gu")
    mw.add_example(good, user_id="gu")
    mw.add_feedback(_ask(agent, "gu")["trajectory_id"], "Never send emails again.")
    worker = PromptWorker(
        store,
        optimizer_model=ScriptedOptimizerModel(),
        gate=EvaluationGate(
            model=ScriptedChatModel(responses=agent_reply), tools=[lookup_contact, send_email]
        ),
    )
    assert worker.run_once() == 1
    latest = PromptRegistry(store).history("gu")[0]
    assert latest.status == "rejected"
    assert latest.scores
    assert latest.scores["examples"] == 1


def test_cli_shows_gate_scores_and_examples(tmp_path, capsys, monkeypatch):
    import json

    from langchain_prompt_optimization import open_store
    from langchain_prompt_optimization.review.cli import main as promptopt

    monkeypatch.setenv("COLUMNS", "220")
    uri = f"sqlite:///{tmp_path}/cli.db"
    store = open_store(uri)
    agent, mw, _ = _agent(EvaluationGate(), store)
    good = _ask(agent, "ho")
    mw.add_feedback(good["trajectory_id"], "Good.", score=1.0)
    mw.add_feedback(_ask(agent, "ho")["trajectory_id"], "Never send emails.")
    assert promptopt(["--store", uri, "--json", "history", "ho"]) == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert versions[0]["status"] == "rejected"
    assert versions[0]["scores"]["candidate"] == 0.0
    assert versions[0]["scores"]["active"] == 1.0
    assert promptopt(["--store", uri, "history", "ho"]) == 0
    assert "0.00/1.00 (1)" in capsys.readouterr().out
    assert promptopt(["--store", uri, "show", "ho", "--version", str(versions[0]["version"])]) == 0
    assert "evaluation gate: candidate/active 0.00/1.00 (1)" in capsys.readouterr().out
    assert promptopt(["--store", uri, "--json", "examples", "ho"]) == 0
    (example,) = json.loads(capsys.readouterr().out)["examples"]
    assert example["source"] == "feedback"
    store.conn.close()  # type: ignore[attr-defined]


def test_async_evaluators_work_from_sync_and_async_replays():
    async def answered(*, outputs: list[Any], reference_outputs: list[Any]) -> bool:
        return outputs[-1].content == reference_outputs[-1].content

    plain = create_agent(
        ScriptedChatModel(responses=agent_reply),
        tools=[lookup_contact, send_email],
        system_prompt=BASE,
    )
    run = _ask(plain, "z")
    call = GateCall(
        EvaluationGate(trajectory_match=None, evaluator=answered),
        ScriptedChatModel(responses=agent_reply),
        (lookup_contact, send_email),
        BASE,
        (BASE + "\nNever send emails.",),
        (Example.new(messages_to_json(run["messages"]), source="reference"),),
    )
    sync = call.run()
    assert (sync.active, sync.candidates) == (1.0, (0.0,))
    assert asyncio.run(call.arun()) == sync


def test_examples_can_be_removed_sync_and_async():
    from langchain_prompt_optimization import UnknownExampleError

    store = InMemoryStore()
    agent, mw, _ = _agent(EvaluationGate(), store)
    run = _ask(agent, "re")
    first = mw.add_example(run, user_id="re")
    second = asyncio.run(mw.aadd_example(run, user_id="re", note="again"))
    registry = PromptRegistry(store)
    registry.remove_example("re", first)
    assert [e.id for e in registry.examples("re")] == [second]
    asyncio.run(registry.aremove_example("re", second))
    assert registry.examples("re") == []
    with pytest.raises(UnknownExampleError):
        registry.remove_example("re", first)
