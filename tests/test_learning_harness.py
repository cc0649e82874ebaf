"""The learning-quality harness (`benchmarks/learning.py`): its mechanics offline, its checks,
and its real-endpoint path through the loopback OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest
from benchmarks.learning import OFFLINE_NOTE, HarnessConfig, main, run_harness
from benchmarks.scripted_assistant import scripted_assistant_model, scripted_optimizer_model
from benchmarks.simulated_user import (
    PERSONAS,
    PREFERENCES,
    check_reply,
    check_triage,
    feedback_for,
    tasks_for_round,
)
from benchmarks.simulated_user import TaskResult as Result
from langchain_core.messages import AIMessage

from langchain_prompt_optimization import PromptRegistry, open_store
from langchain_prompt_optimization.testing import LoopbackOpenAIServer

JOHN = PERSONAS[0]


def _wrote(content: str, cc: list[str] | None = None) -> list[AIMessage]:
    args = {"to": "a@example.com", "subject": "Re: x", "content": content, "cc": cc}
    return [AIMessage("", tool_calls=[{"name": "write_email", "args": args, "id": "1"}])]


def _reply_task(*, cc: bool):
    tasks = tasks_for_round(JOHN, 1, seed=7)
    return next(t for t in tasks if t.kind == "reply" and t.cc_expected is cc)


def test_tasks_are_seeded_and_vary_by_round():
    assert tasks_for_round(JOHN, 1, seed=7) == tasks_for_round(JOHN, 1, seed=7)
    assert tasks_for_round(JOHN, 1, seed=7) != tasks_for_round(JOHN, 2, seed=7)
    covered = {p for t in tasks_for_round(JOHN, 1, seed=7) for p in t.preferences}
    assert covered == set(PREFERENCES)


def test_checks_read_the_email_the_agent_wrote():
    topic = _reply_task(cc=True)
    good = _wrote("Dear Alice,\n\nNoted.\n\nBest regards,\nJohn Doe", cc=["finance@example.com"])
    assert all(c.satisfied for c in check_reply(JOHN, topic, good))
    casual = check_reply(JOHN, topic, _wrote("Hi Alice!\n\nNoted!\n\nCheers,\nJohn"))
    assert not any(c.satisfied for c in casual)
    other = _reply_task(cc=False)
    over_cc = check_reply(JOHN, other, good)
    assert [c.preference for c in over_cc if not c.satisfied] == ["cc_rule"]
    nothing = check_reply(JOHN, other, [AIMessage("I did nothing.")])
    assert not any(c.satisfied for c in nothing)

    feedback = feedback_for(Result(topic, casual))
    assert 'Sign off every email with "Best regards, John Doe".' in feedback
    assert "Always CC finance@example.com on emails about budgets" in feedback
    assert "Your email opened with 'Hi Alice!'." in feedback


def test_triage_checks():
    ceo, letter = (t for t in tasks_for_round(JOHN, 1, seed=7) if t.kind == "triage")
    if ceo.preferences != ("triage_ceo",):
        ceo, letter = letter, ceo
    assert check_triage(JOHN, ceo, "respond")[0].satisfied
    missed = check_triage(JOHN, ceo, "notify")[0]
    assert not missed.satisfied
    assert missed.rule.startswith("You should respond to anything from maria.lopez@example.com")
    assert check_triage(JOHN, letter, "ignore")[0].satisfied
    assert not check_triage(JOHN, letter, "respond")[0].satisfied


def test_offline_run_reports_each_round(capsys, tmp_path):
    out = tmp_path / "report.json"
    reports = main(
        ["--offline", "--rounds", "3", "--users", "1", "--sources", "people", "--json", str(out)]
    )["people"]
    printed = capsys.readouterr().out

    assert OFFLINE_NOTE in printed
    assert [r.round for r in reports] == [1, 2, 3]
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "round" not in line]
    assert len(rows) == 3
    assert reports[0].rate < reports[-1].rate
    assert reports[0].feedback_given > 0
    assert reports[0].optimizer_calls > 0
    assert reports[0].optimizer_input_tokens > 0
    assert reports[0].optimizer_output_tokens > 0
    assert reports[0].new_versions > 0
    for report in reports:  # the model saw at least what the stored versions account for
        assert report.optimizer_calls <= report.model_side_optimizer["calls"]
    data = json.loads(out.read_text())
    assert data["offline"] is True
    assert data["disclaimer"] == OFFLINE_NOTE
    assert len(data["rounds"]) == 3
    assert data["rounds"][0]["per_preference"]["sign_off"] == [0, 4]


def test_endpoint_path_through_loopback_server(capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    models = {"agent-model": scripted_assistant_model(), "opt-model": scripted_optimizer_model()}
    with LoopbackOpenAIServer(models) as server:
        reports = main(
            ["--base-url", server.base_url, "--agent-model", "agent-model",
             "--optimizer-model", "opt-model", "--rounds", "2", "--users", "1",
             "--sources", "people"]
        )["people"]  # fmt: skip
    printed = capsys.readouterr().out

    assert OFFLINE_NOTE not in printed
    assert f"endpoint {server.base_url}: agent agent-model" in printed
    assert {body["model"] for body in server.requests} == {"agent-model", "opt-model"}
    assert any(
        (body.get("response_format") or {}).get("json_schema", {}).get("name") == "Router"
        for body in server.requests
    ), "triage went through the client's structured output"
    assert len(reports) == 2
    assert reports[0].rate < reports[1].rate
    assert reports[0].optimizer_calls > 0
    assert reports[0].optimizer_input_tokens > 0  # usage parsed by the real client


@pytest.mark.parametrize("mode", ["background", "external"])
def test_other_modes_learn_per_user_namespace(mode, tmp_path):
    uri = f"sqlite:///{tmp_path}/learning.db"
    reports = run_harness(HarnessConfig(rounds=2, users=2, mode=mode, store=uri))
    assert reports[0].rate < reports[1].rate
    assert all(r.pending_feedback == 0 for r in reports)
    store = open_store(uri)
    try:
        registry = PromptRegistry(store)
        john, jane = PERSONAS
        johns = registry.current(john.user_id, "main_agent").text
        janes = registry.current(jane.user_id, "main_agent").text
    finally:
        store.conn.close()  # type: ignore[attr-defined]
    assert john.sign_off in johns
    assert jane.sign_off not in johns
    assert jane.sign_off in janes
    assert john.sign_off not in janes


def test_offline_report_shows_both_feedback_sources(capsys, tmp_path):
    out = tmp_path / "report.json"
    by_source = main(["--offline", "--rounds", "2", "--users", "1", "--json", str(out)])
    printed = capsys.readouterr().out

    assert list(by_source) == ["people", "evaluator"]
    people, evaluator = by_source["people"], by_source["evaluator"]
    assert {r.source for r in people} == {"people"}
    assert {r.source for r in evaluator} == {"evaluator"}
    # Evaluator rounds: no comments, one verdict per agent run (4 replies), and they learn.
    assert [r.feedback_given for r in evaluator] == [4, 4]
    assert evaluator[0].rate < evaluator[1].rate
    assert evaluator[0].new_versions > 0
    assert all(r.evaluator_errors == 0 for r in evaluator)
    # No evaluator sees triage (not an agent run): those preferences get no feedback.
    assert evaluator[1].per_preference["triage_ceo"] == [0, 1]
    assert "### satisfaction per round, both sources" in printed
    header = next(line for line in printed.splitlines() if line.startswith("| round | people:"))
    assert "evaluator: rate" in header
    data = json.loads(out.read_text())
    assert set(data["sources"]) == {"people", "evaluator"}
    assert [r["rate"] for r in data["sources"]["evaluator"]] == [r.rate for r in evaluator]
    assert data["rounds"] == data["sources"]["people"]


def test_evaluator_rounds_store_only_evaluator_feedback(tmp_path):
    from benchmarks.learning import PREFIXES

    uri = f"sqlite:///{tmp_path}/learning.db"
    reports = run_harness(HarnessConfig(rounds=1, users=1, store=uri), source="evaluator")
    assert reports[0].feedback_given == 4
    store = open_store(uri)
    try:
        registry = PromptRegistry(store, namespace_prefix=PREFIXES["evaluator"])
        counts = registry.feedback_counts(JOHN.user_id)
        people = PromptRegistry(store).users()  # the people's namespace is untouched
    finally:
        store.conn.close()  # type: ignore[attr-defined]
    assert set(counts) == {"evaluator:preferences"}
    assert sum(counts["evaluator:preferences"].values()) == 4
    assert people == []


def test_the_llm_judge_path_through_loopback_server(monkeypatch):
    from langchain_prompt_optimization.testing import ScriptedChatModel

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    rules = 'Sign off every email with "Best regards, John Doe".'

    def strict_judge(request):  # openevals' structured output, sent as json_schema
        args = {"reasoning": f"The email was not signed. {rules}", "score": 0.25}
        return AIMessage("", tool_calls=[{"name": "score", "args": args, "id": "j"}])

    models = {
        "agent-model": scripted_assistant_model(),
        "opt-model": scripted_optimizer_model(),
        "judge-model": ScriptedChatModel(responses=strict_judge),
    }
    with LoopbackOpenAIServer(models) as server:
        by_source = main(
            ["--base-url", server.base_url, "--agent-model", "agent-model",
             "--optimizer-model", "opt-model", "--judge", "llm", "--judge-model", "judge-model",
             "--rounds", "2", "--users", "1", "--sources", "evaluator"]
        )  # fmt: skip
    (reports,) = by_source.values()
    assert [r.feedback_given for r in reports] == [4, 4]
    assert reports[0].evaluator_errors == 0
    judged = [b for b in server.requests if b["model"] == "judge-model"]
    assert len(judged) == 8
    assert "Best regards, John Doe" in json.dumps(judged[0]["messages"])  # the persona's rubric
    assert reports[0].rate < reports[1].rate  # learned the sign-off from the judge alone
    assert reports[1].per_preference["sign_off"] == [4, 4]
