"""Learning-quality harness: does the email assistant learn a simulated user's preferences?

A simulated user (`benchmarks/simulated_user.py`) with hidden preferences (sign-off, tone,
greeting, a CC rule, two triage rules) asks the email assistant of `examples/email_assistant`
for work over several rounds. Each round it runs the round's tasks (four replies, two emails
to triage), scores every task against its preferences with deterministic checks, gives
natural-language feedback on misses through `middleware.add_feedback(trajectory_id, text,
score=...)` (per-user namespaces), lets the optimizer run, and starts the next round. The
report gives, per round, the preference-satisfaction rate (overall and per preference), the
optimizer's calls and input/output tokens (from the `usage` of the versions it stored) and
the prompt versions appended.

The same rounds run a second time, evaluator-driven, on a fresh namespace: nobody comments;
the middleware's `evaluators=` (`benchmarks/judge.py`: a rubric evaluator, or with
`--judge llm` agentevals' `create_trajectory_llm_as_judge` on the endpoint) score the agent's
runs and their verdicts are the only feedback. Evaluations are recorded during the round and
optimized after it (`optimize_now`), so a round's rate is scored before its feedback, as in
people's rounds. The report shows the satisfaction per round of both sources side by side
(`--sources people,evaluator`, the default; either alone).

Run from the repository root:

    make bench-learning                                  # offline, scripted models
    python -m benchmarks.learning --rounds 5 --json report.json
    OPENAI_API_KEY=... python -m benchmarks.learning --base-url https://api.openai.com/v1 \\
        --agent-model gpt-4o-mini --optimizer-model gpt-4o-mini

With `--base-url` (or `OPENAI_BASE_URL`) the assistant, triage and optimizer are
`langchain_openai.ChatOpenAI` clients of that OpenAI-compatible endpoint, the key read from
`OPENAI_API_KEY`. Without it, scripted models stand in (`benchmarks/scripted_assistant.py`):
an assistant that follows the rules its prompts state and an optimizer that appends the rules
the feedback states. Those numbers check the harness mechanics only, not learning quality.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from examples.email_assistant.assistant import TRIAGE, build_assistant, check_calendar_availability
from langchain_core.tools import tool

from benchmarks.judge import PreferenceJudge, llm_judge
from benchmarks.scripted_assistant import scripted_assistant_model, scripted_optimizer_model
from benchmarks.simulated_user import (
    COMPANY_DOMAIN,
    PERSONAS,
    PREFERENCES,
    Persona,
    TaskResult,
    check_reply,
    check_triage,
    feedback_for,
    tasks_for_round,
)
from langchain_prompt_optimization import (
    EvaluatorSettings,
    FeedbackFirewall,
    PromptRegistry,
    SafetySettings,
    StorageSettings,
    open_store,
)
from langchain_prompt_optimization.optimizer import UsageCounter

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from examples.email_assistant.assistant import EmailAssistant

    from langchain_prompt_optimization import PromptVersion

__all__ = [
    "OFFLINE_NOTE",
    "SOURCES",
    "HarnessConfig",
    "Models",
    "RoundReport",
    "UsageCounter",
    "main",
    "make_models",
    "render_comparison",
    "render_table",
    "run_harness",
    "run_sources",
]

OFFLINE_NOTE = (
    "offline: scripted models — these numbers check the harness mechanics only, "
    "not learning quality"
)
PROMPTS = ("main_agent", *TRIAGE)
SOURCES = ("people", "evaluator")
"""Feedback sources a run of the harness can compare: the simulated user's comments, or only
evaluators' verdicts."""
PREFIXES = {"people": ("prompt_optimization",), "evaluator": ("learning_evaluator",)}
"""Each source learns in its own namespace prefix (one store may hold both)."""


@tool
def write_email(to: str, subject: str, content: str, cc: list[str] | None = None) -> str:
    """Write and send an email. `cc` lists the addresses to copy, if any."""
    copied = f" (cc {', '.join(cc)})" if cc else ""
    return f"Email sent to {to}{copied} with subject '{subject}'"


@dataclass
class HarnessConfig:
    """What to run: rounds, users, models, optimizer settings."""

    rounds: int = 4
    users: int = 2
    seed: int = 7
    feedback_per_round: int | None = 2
    mode: str = "inline"
    kind: str = "prompt_memory"
    store: str = "memory://"
    base_url: str | None = None
    agent_model: str = "gpt-4o-mini"
    triage_model: str | None = None
    optimizer_model: str = "gpt-4o-mini"
    temperature: float | None = 0.0
    drain_timeout: float = 600.0
    sources: tuple[str, ...] = SOURCES
    judge: str = "checks"
    judge_model: str | None = None
    evaluation_rate: float = 1.0

    @property
    def offline(self) -> bool:
        return not self.base_url


@dataclass
class Models:
    """The models the harness drives, and counters on them."""

    agent: Any
    triage: Any
    optimizer: Any
    agent_usage: UsageCounter
    optimizer_usage: UsageCounter
    judge: Any = None
    """The LLM judge's chat model (`--judge llm`), `None` with the rubric evaluator."""


def make_models(config: HarnessConfig) -> Models:
    """Scripted models offline; `ChatOpenAI` clients of `config.base_url` otherwise."""
    agent_usage, optimizer_usage = UsageCounter(), UsageCounter()
    if config.offline:
        assistant = scripted_assistant_model()
        assistant.callbacks = [agent_usage]
        optimizer = scripted_optimizer_model()
        optimizer.callbacks = [optimizer_usage]
        if config.judge == "llm":
            msg = "--judge llm needs an endpoint (--base-url); offline the rubric judge runs"
            raise ValueError(msg)
        return Models(assistant, assistant, optimizer, agent_usage, optimizer_usage)
    from langchain_openai import ChatOpenAI

    def client(name: str, counter: UsageCounter) -> ChatOpenAI:
        extra = {} if config.temperature is None else {"temperature": config.temperature}
        return ChatOpenAI(
            model=name,
            base_url=config.base_url,
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",  # type: ignore[arg-type]
            callbacks=[counter],
            **extra,  # type: ignore[arg-type]
        )

    judge = None
    if config.judge == "llm":
        judge = client(config.judge_model or config.optimizer_model, UsageCounter())
    return Models(
        client(config.agent_model, agent_usage),
        client(config.triage_model or config.agent_model, agent_usage),
        client(config.optimizer_model, optimizer_usage),
        agent_usage,
        optimizer_usage,
        judge,
    )


@dataclass
class RoundReport:
    """One round: how the replies scored, what the feedback cost."""

    round: int
    satisfied: int
    checks: int
    per_preference: dict[str, list[int]]
    feedback_given: int
    optimizations: int
    optimizer_calls: int
    optimizer_input_tokens: int
    optimizer_output_tokens: int
    new_versions: int
    rejected_versions: int
    failed_versions: int
    model_side_optimizer: dict[str, int]
    agent: dict[str, int]
    active_versions: dict[str, dict[str, int]]
    pending_feedback: int = 0
    misses: list[str] = field(default_factory=list)
    source: str = "people"
    """`people` (the simulated user's comments) or `evaluator` (only evaluators' verdicts)."""
    evaluator_errors: int = 0

    @property
    def rate(self) -> float:
        return self.satisfied / self.checks if self.checks else 0.0


def _run_tasks(
    assistant: EmailAssistant,
    persona: Persona,
    round_number: int,
    seed: int,
    judge: PreferenceJudge | None = None,
) -> list[TaskResult]:
    results = []
    for task in tasks_for_round(persona, round_number, seed=seed):
        if task.kind == "reply":
            if judge is not None:
                judge.register(persona, task)
            run = assistant.reply(task.email, user_id=persona.user_id)
            checks = check_reply(persona, task, run["messages"])
            results.append(TaskResult(task, checks, trajectory_id=run["trajectory_id"]))
        else:
            decision = assistant.triage(task.email, user_id=persona.user_id)
            checks = check_triage(persona, task, decision)
            results.append(TaskResult(task, checks, decision=decision))
    return results


def _give_feedback(
    assistant: EmailAssistant, persona: Persona, results: Sequence[TaskResult], limit: int | None
) -> int:
    """Feedback on the first `limit` tasks with misses; returns how many were given."""
    given = 0
    for result in results:
        if not result.misses or (limit is not None and given >= limit):
            continue
        trajectory_id = result.trajectory_id
        if trajectory_id is None:
            # Triage is a structured-output call outside the agent and leaves no run: the
            # feedback goes on a run of the agent on the same email, as the example does.
            trajectory_id = assistant.reply(result.task.email, user_id=persona.user_id)[
                "trajectory_id"
            ]
        assistant.middleware.add_feedback(
            trajectory_id, feedback_for(result), score=round(result.score, 3)
        )
        given += 1
    return given


def _new_versions(
    registry: PromptRegistry, user_id: str, seen: dict[tuple[str, str], int]
) -> list[PromptVersion]:
    """Versions appended since the last call, base versions left out."""
    fresh: list[PromptVersion] = []
    for name in PROMPTS:
        try:
            history = registry.history(user_id, prompt=name)
        except KeyError:  # nothing stored for the user or prompt yet
            continue
        last = seen.get((user_id, name), 0)
        fresh += [v for v in history if v.version > last and v.reason != "base prompt"]
        seen[user_id, name] = max([last, *(v.version for v in history)])
    return fresh


def _pending(registry: PromptRegistry, user_id: str) -> int:
    try:
        return len(registry.feedback(user_id, pending_only=True))
    except KeyError:
        return 0


def _active_versions(registry: PromptRegistry, user_id: str) -> dict[str, int]:
    active = {}
    for name in PROMPTS:
        try:
            active[name] = registry.current(user_id, name).version
        except KeyError:
            active[name] = 1
    return active


def run_harness(
    config: HarnessConfig,
    models: Models | None = None,
    *,
    log: Callable[[str], None] = lambda line: None,
    source: str = "people",
) -> list[RoundReport]:
    """Run the rounds with one feedback source and return one report per round.

    Args:
        config: What to run.
        models: The models (default: `make_models(config)`).
        log: Receives a progress line per round and user.
        source: `"people"`: the simulated user comments on misses. `"evaluator"`: nobody
            comments; the middleware's evaluators score the runs (recorded during the round,
            optimized after it).

    Returns:
        One `RoundReport` per round, in order.
    """
    if config.rounds < 1 or not 1 <= config.users <= len(PERSONAS):
        msg = f"rounds must be >= 1 and users within 1..{len(PERSONAS)}"
        raise ValueError(msg)
    if source not in SOURCES:
        msg = f"source must be one of {', '.join(SOURCES)}; got {source!r}"
        raise ValueError(msg)
    models = models or make_models(config)
    store = open_store(config.store)
    judge = PreferenceJudge() if source == "evaluator" else None
    extra: dict[str, Any] = {"mode": config.mode}
    if judge is not None:
        evaluator = judge if models.judge is None else llm_judge(models.judge)
        extra = {
            "mode": "external",  # record during the round, optimize after it
            "evaluators": EvaluatorSettings(
                evaluators=[evaluator], evaluation_rate=config.evaluation_rate
            ),
        }
    assistant = build_assistant(
        model=models.agent,
        triage_model=models.triage,
        optimizer_model=models.optimizer,
        store=store,
        tools=[write_email, check_calendar_availability],
        kind=config.kind,
        storage=StorageSettings(namespace_prefix=PREFIXES[source]),
        # The personas' CC rules name company addresses: trust the company's domain so the
        # feedback firewall lets them through (an outside address would be held for review).
        safety=SafetySettings(firewall=FeedbackFirewall(trusted_domains=(COMPANY_DOMAIN,))),
        **extra,
    )
    registry = PromptRegistry(store, namespace_prefix=PREFIXES[source])
    personas = PERSONAS[: config.users]
    seen: dict[tuple[str, str], int] = {}
    reports = []
    try:
        for number in range(1, config.rounds + 1):
            before_opt = models.optimizer_usage.as_dict()
            before_agent = models.agent_usage.as_dict()
            before_eval = assistant.middleware.evaluation_stats
            results: list[TaskResult] = []
            given = 0
            for persona in personas:
                mine = _run_tasks(assistant, persona, number, config.seed, judge)
                results += mine
                if judge is None:
                    given += _give_feedback(assistant, persona, mine, config.feedback_per_round)
                ok = sum(c.satisfied for r in mine for c in r.checks)
                total = sum(len(r.checks) for r in mine)
                log(f"{source} round {number} {persona.user_id}: {ok}/{total} checks satisfied")
            drained = assistant.middleware.drain(config.drain_timeout)
            if not drained:
                log(f"round {number}: background work still running after {config.drain_timeout}s")
            if judge is not None or config.mode == "external":
                for persona in personas:
                    assistant.middleware.optimize_now(persona.user_id)
            evaluated = assistant.middleware.evaluation_stats
            if judge is not None:
                given = evaluated.feedback - before_eval.feedback
            versions = [v for p in personas for v in _new_versions(registry, p.user_id, seen)]
            report = _round_report(
                number, results, given, versions, models, before_opt, before_agent
            )
            report.source = source
            report.evaluator_errors = evaluated.errors - before_eval.errors
            report.active_versions = {
                p.user_id: _active_versions(registry, p.user_id) for p in personas
            }
            report.pending_feedback = sum(_pending(registry, p.user_id) for p in personas)
            reports.append(report)
    finally:
        assistant.middleware.close()
    return reports


def run_sources(
    config: HarnessConfig,
    models: Models | None = None,
    *,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, list[RoundReport]]:
    """Run the rounds once per source of `config.sources` (each in its own namespace).

    Returns:
        `{source: reports}`, in `config.sources` order.
    """
    return {
        source: run_harness(config, models or make_models(config), log=log, source=source)
        for source in config.sources
    }


def _round_report(
    number: int,
    results: Sequence[TaskResult],
    given: int,
    versions: Sequence[PromptVersion],
    models: Models,
    before_opt: dict[str, int],
    before_agent: dict[str, int],
) -> RoundReport:
    per_preference = {name: [0, 0] for name in PREFERENCES}
    for result in results:
        for check in result.checks:
            per_preference[check.preference][0] += check.satisfied
            per_preference[check.preference][1] += 1
    # One optimization stores the same usage on every version it appends: count it once.
    optimizations: dict[tuple[Any, ...], dict[str, int]] = {}
    for version in versions:
        optimizations[(version.created_at, version.feedback_ids)] = version.usage
    after_opt, after_agent = models.optimizer_usage.as_dict(), models.agent_usage.as_dict()
    return RoundReport(
        round=number,
        satisfied=sum(c.satisfied for r in results for c in r.checks),
        checks=sum(len(r.checks) for r in results),
        per_preference=per_preference,
        feedback_given=given,
        optimizations=len(optimizations),
        optimizer_calls=sum(u.get("calls", 0) for u in optimizations.values()),
        optimizer_input_tokens=sum(u.get("input_tokens", 0) for u in optimizations.values()),
        optimizer_output_tokens=sum(u.get("output_tokens", 0) for u in optimizations.values()),
        new_versions=len(versions),
        rejected_versions=sum(v.status == "rejected" for v in versions),
        failed_versions=sum(v.status == "failed" for v in versions),
        model_side_optimizer={k: after_opt[k] - before_opt[k] for k in after_opt},
        agent={k: after_agent[k] - before_agent[k] for k in after_agent},
        active_versions={},
        misses=[
            f"{r.task.label} -> {c.preference}"
            for r in results
            for c in r.checks
            if not c.satisfied
        ],
    )


def _with_unrecorded(stored: int, seen: int) -> str:
    return f"{stored} (+{seen - stored})" if seen > stored else str(stored)


def render_table(reports: Sequence[RoundReport]) -> str:
    """The report as a Markdown table, one row per round."""
    head = ["round", "satisfied", "rate", *PREFERENCES, "feedback", "opt calls", "opt in tok",
            "opt out tok", "new versions"]  # fmt: skip
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in reports:
        prefs = [f"{ok}/{total}" for ok, total in (r.per_preference[p] for p in PREFERENCES)]
        versions = f"{r.new_versions}"
        if r.rejected_versions or r.failed_versions:
            versions += f" ({r.rejected_versions} rejected, {r.failed_versions} failed)"
        seen = r.model_side_optimizer
        cells = [str(r.round), f"{r.satisfied}/{r.checks}", f"{r.rate:.0%}", *prefs,
                 str(r.feedback_given),
                 _with_unrecorded(r.optimizer_calls, seen["calls"]),
                 _with_unrecorded(r.optimizer_input_tokens, seen["input_tokens"]),
                 _with_unrecorded(r.optimizer_output_tokens, seen["output_tokens"]),
                 versions]  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


SOURCE_TITLES = {
    "people": "people: the simulated user's comments on misses",
    "evaluator": "evaluator: no comments, only evaluators' verdicts on the agent's runs",
}


def render_comparison(by_source: dict[str, list[RoundReport]]) -> str:
    """Satisfaction per round of each source, side by side (a Markdown table)."""
    sources = list(by_source)
    head = ["round"]
    for source in sources:
        head += [f"{source}: satisfied", f"{source}: rate", f"{source}: feedback"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for index in range(max(len(reports) for reports in by_source.values())):
        cells = [str(index + 1)]
        for source in sources:
            r = by_source[source][index]
            cells += [f"{r.satisfied}/{r.checks}", f"{r.rate:.0%}", str(r.feedback_given)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _describe(config: HarnessConfig) -> str:
    settings = (
        f"rounds {config.rounds}, users {config.users}, seed {config.seed}, "
        f"feedback per user per round {config.feedback_per_round or 'all'}, "
        f"kind {config.kind}, mode {config.mode}, sources {', '.join(config.sources)}"
    )
    if "evaluator" in config.sources:
        judge = (
            "rubric checks"
            if config.judge == "checks"
            else (f"LLM judge {config.judge_model or config.optimizer_model}")
        )
        settings += f" (evaluator: {judge}, evaluation rate {config.evaluation_rate:g})"
    if config.offline:
        return f"{OFFLINE_NOTE}\n{settings}"
    models = (
        f"agent {config.agent_model}, triage {config.triage_model or config.agent_model}, "
        f"optimizer {config.optimizer_model}"
    )
    return f"endpoint {config.base_url}: {models}\n{settings}"


def _notes(config: HarnessConfig, reports: Sequence[RoundReport]) -> list[str]:
    notes: list[str] = []
    stored = sum(r.optimizer_calls for r in reports)
    seen = sum(r.model_side_optimizer["calls"] for r in reports)
    if seen > stored:
        notes.append(
            f"(+N): what the optimizer model reported beyond the stored versions ({seen} calls "
            f"seen, {stored} stored): an optimization that changes no prompt appends no version, "
            "so its usage is not recorded in the store."
        )
    pending = [str(r.round) for r in reports if r.pending_feedback]
    if pending:
        notes.append(
            f"feedback was still pending after the optimizer ran in round(s) {', '.join(pending)}"
            " (no optimization consumed it; see the JSON's pending_feedback)."
        )
    last = reports[-1]
    for user, versions in last.active_versions.items():
        listed = ", ".join(f"{name} v{number}" for name, number in versions.items())
        notes.append(f"active prompt versions of {user} after the last round: {listed}")
    return notes


def _evaluator_notes(reports: Sequence[RoundReport]) -> list[str]:
    notes = [
        "evaluator rounds: feedback = verdicts the evaluators stored (source "
        "evaluator:preferences), one per sampled agent run; triage decisions are not agent "
        "runs, so no evaluator sees them and the triage preferences get no feedback.",
    ]
    errors = sum(r.evaluator_errors for r in reports)
    if errors:
        notes.append(f"evaluator errors (runs not scored): {errors}")
    return notes


def _sources(parser: argparse.ArgumentParser, given: str) -> tuple[str, ...]:
    sources = tuple(dict.fromkeys(s.strip() for s in given.split(",") if s.strip()))
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        parser.error(f"--sources: choose from {', '.join(SOURCES)}; got {given!r}")
    return sources


def _parse(argv: Sequence[str] | None) -> tuple[HarnessConfig, str | None]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.learning", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--users", type=int, default=2, help=f"1..{len(PERSONAS)} personas")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--feedback-per-round",
        type=int,
        default=2,
        help="tasks each user comments on per round (0: every task with a miss)",
    )
    parser.add_argument("--mode", choices=("inline", "background", "external"), default="inline")
    parser.add_argument(
        "--kind", choices=("prompt_memory", "metaprompt", "gradient"), default="prompt_memory"
    )
    parser.add_argument("--store", default="memory://", help="store URI (default memory://)")
    parser.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL"),
        help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL; unset: offline)",
    )
    parser.add_argument("--offline", action="store_true", help="scripted models, ignore the URL")
    parser.add_argument("--agent-model", default="gpt-4o-mini")
    parser.add_argument("--triage-model", default=None, help="default: the agent model")
    parser.add_argument("--optimizer-model", default="gpt-4o-mini")
    parser.add_argument("--temperature", type=float, default=0.0, help="negative: do not send")
    parser.add_argument(
        "--sources",
        default=",".join(SOURCES),
        help="feedback sources to run, comma-separated: people (the simulated user's "
        "comments), evaluator (only evaluators' verdicts); default both",
    )
    parser.add_argument(
        "--judge",
        choices=("checks", "llm"),
        default="checks",
        help="evaluator rounds: checks (a rubric evaluator applying the user's preferences) or "
        "llm (agentevals' create_trajectory_llm_as_judge on the endpoint)",
    )
    parser.add_argument("--judge-model", default=None, help="default: the optimizer model")
    parser.add_argument("--evaluation-rate", type=float, default=1.0, help="share of runs judged")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the report as JSON ('-': stdout)"
    )
    args = parser.parse_args(argv)
    config = HarnessConfig(
        rounds=args.rounds,
        users=args.users,
        seed=args.seed,
        feedback_per_round=args.feedback_per_round or None,
        mode=args.mode,
        kind=args.kind,
        store=args.store,
        base_url=None if args.offline else args.base_url or None,
        agent_model=args.agent_model,
        triage_model=args.triage_model,
        optimizer_model=args.optimizer_model,
        temperature=None if args.temperature < 0 else args.temperature,
        sources=_sources(parser, args.sources),
        judge=args.judge,
        judge_model=args.judge_model,
        evaluation_rate=args.evaluation_rate,
    )
    return config, args.json


def main(argv: Sequence[str] | None = None) -> dict[str, list[RoundReport]]:
    """Run the harness from the command line; prints a table per source, the sources side by
    side, and JSON with `--json`.

    Returns:
        `{source: reports}`.
    """
    config, json_path = _parse(argv)
    if config.offline and os.environ.get("OPENAI_API_KEY"):
        print("note: OPENAI_API_KEY is set but no base URL: running offline; pass --base-url "
              "https://api.openai.com/v1 to use it.")  # fmt: skip
    if not config.offline and not os.environ.get("OPENAI_API_KEY"):
        print("note: OPENAI_API_KEY is not set: sending a placeholder key (enough for local "
              "servers that need none).")  # fmt: skip
    print(_describe(config), flush=True)
    by_source = run_sources(config, log=lambda line: print(line, file=sys.stderr, flush=True))
    for source, reports in by_source.items():
        print(f"\n### {SOURCE_TITLES[source]}\n")
        print(render_table(reports))
        print()
        for note in _notes(config, reports):
            print(f"- {note}")
        if source == "evaluator":
            for note in _evaluator_notes(reports):
                print(f"- {note}")
    if len(by_source) > 1:
        print("\n### satisfaction per round, both sources\n")
        print(render_comparison(by_source))
    print()
    print(
        "- rate = satisfied preference checks / checks in the round, scored before that round's"
        " feedback; the optimizer columns are the optimizations that feedback triggered (they "
        "serve the next round), summed from the `usage` of the versions they stored."
    )
    if config.offline:
        print(f"- {OFFLINE_NOTE}")
    if json_path:
        payload = {
            "offline": config.offline,
            "disclaimer": OFFLINE_NOTE if config.offline else None,
            "config": {k: v for k, v in asdict(config).items() if k != "drain_timeout"},
            "rounds": [{**asdict(r), "rate": r.rate} for r in by_source.get("people", [])],
            "sources": {
                source: [{**asdict(r), "rate": r.rate} for r in reports]
                for source, reports in by_source.items()
            },
        }
        text = json.dumps(payload, indent=2, default=str)
        if json_path == "-":
            print(text)
        else:
            with open(json_path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
    return by_source


if __name__ == "__main__":
    main()
