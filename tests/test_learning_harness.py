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
    reports = main(["--offline", "--rounds", "3", "--users", "1", "--json", str(out)])
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
             "--optimizer-model", "opt-model", "--rounds", "2", "--users", "1"]
        )  # fmt: skip
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
