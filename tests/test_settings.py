"""Configuration objects: validated once, equivalent to the old keywords, which still warn."""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any

import pytest
from langchain.agents import create_agent
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import (
    EvaluationGate,
    FeedbackFirewall,
    Monitor,
    PromptOptimizationMiddleware,
    PromptRegistry,
    PromptWorker,
    Retention,
)
from langchain_prompt_optimization.middleware import SystemPromptSettings
from langchain_prompt_optimization.optimizer import (
    CandidatePolicy,
    OptimizerSettings,
    SafetySettings,
)
from langchain_prompt_optimization.stores.settings import StorageSettings
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

from .conftest import BASE_PROMPT, SIGN_RULE, Context, email_reply, sign_rewrite

# -- each object validates itself --------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: OptimizerSettings(kind="bogus"), ValueError, "kind must be one of"),  # type: ignore[arg-type]
        (lambda: OptimizerSettings(model=42), TypeError, "OptimizerSettings.model"),  # type: ignore[arg-type]
        (lambda: OptimizerSettings(model=" "), ValueError, "must not be empty"),
        (lambda: OptimizerSettings(model="nosuch-model"), ValueError, "cannot tell its provider"),
        (lambda: OptimizerSettings(config="x"), TypeError, "config must be a dict"),  # type: ignore[arg-type]
        (lambda: OptimizerSettings(max_feedback=0), ValueError, "max_feedback must be"),
        (lambda: OptimizerSettings(max_trajectory_chars=True), ValueError, "max_trajectory"),
        (lambda: SafetySettings(policy={"max_prompt_chars": 3}), TypeError, "CandidatePolicy"),  # type: ignore[arg-type]
        (lambda: SafetySettings(firewall="on"), TypeError, "firewall must be"),  # type: ignore[arg-type]
        (lambda: SafetySettings(gate="strict"), TypeError, "gate must be an EvaluationGate"),  # type: ignore[arg-type]
        (lambda: SafetySettings(monitor={"min_runs": 3}), TypeError, "monitor must be"),  # type: ignore[arg-type]
        (lambda: StorageSettings(namespace_prefix="agent"), TypeError, "sequence of labels"),
        (lambda: StorageSettings(namespace_prefix=("a.b",)), ValueError, "invalid namespace"),
        (lambda: StorageSettings(namespace_prefix=()), ValueError, "at least one label"),
        (lambda: StorageSettings(timeout=0), ValueError, "timeout must be positive"),
        (lambda: StorageSettings(timeout=True), ValueError, "timeout must be positive"),
        (lambda: StorageSettings(max_buffered_writes=0), ValueError, "max_buffered_writes"),
        (lambda: StorageSettings(retention={"max": 3}), TypeError, "must be a Retention"),  # type: ignore[arg-type]
        (lambda: SystemPromptSettings(name=" "), ValueError, "name must be a non-empty"),
        (lambda: SystemPromptSettings(when_to_update=1), TypeError, "when_to_update"),  # type: ignore[arg-type]
        (lambda: CandidatePolicy(max_prompt_chars=0), ValueError, "max_prompt_chars"),
        (lambda: CandidatePolicy(max_growth_chars=2.5), ValueError, "max_growth_chars"),  # type: ignore[arg-type]
        (lambda: CandidatePolicy(max_dropped_fraction=0), ValueError, "0 < x <= 1"),
        (lambda: CandidatePolicy(max_dropped_fraction=1.5), ValueError, "0 < x <= 1"),
        (lambda: CandidatePolicy(max_dropped_fraction=True), ValueError, "0 < x <= 1"),
        (lambda: CandidatePolicy(max_dropped_fraction="half"), ValueError, "0 < x <= 1"),  # type: ignore[arg-type]
    ],
)
def test_each_settings_object_rejects_bad_values_with_a_clear_error(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_settings_are_frozen_and_keep_no_reference_to_caller_data():
    config = {"max_reflection_steps": 2}
    settings = OptimizerSettings(config=config)
    config["max_reflection_steps"] = 9
    assert settings.config == {"max_reflection_steps": 2}
    assert StorageSettings(namespace_prefix=["a", "b"]).namespace_prefix == ("a", "b")
    assert CandidatePolicy(max_dropped_fraction=1).max_dropped_fraction == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.kind = "gradient"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"optimizer": 42}, TypeError, "optimizer must be an OptimizerSettings"),
        ({"storage": {"timeout": 1}}, TypeError, "storage must be a StorageSettings"),
        ({"safety": True}, TypeError, "safety must be a SafetySettings"),
        ({"system_prompt": "be nice"}, TypeError, "system_prompt must be a SystemPromptSettings"),
        ({"optimizer": "nosuch-model"}, ValueError, "cannot tell its provider"),
        (
            {"safety": SafetySettings(gate=EvaluationGate()), "mode": "external"},
            ValueError,
            "external",
        ),
        (
            {
                "system_prompt": SystemPromptSettings(name="main"),
                "prompts": [{"name": "main", "prompt": "x"}],
            },
            ValueError,
            "system prompt",
        ),
    ],
)
def test_middleware_rejects_bad_objects(kwargs, error, match):
    with pytest.raises(error, match=match):
        PromptOptimizationMiddleware(**kwargs)


def test_the_new_objects_emit_no_warning_and_are_exposed():
    optimizer = OptimizerSettings(model=ScriptedOptimizerModel(), kind="gradient")
    storage = StorageSettings(namespace_prefix=("agent_a",), timeout=None)
    system = SystemPromptSettings(name="main", update_instructions="Add rules; keep the rest.")
    safety = SafetySettings(policy=CandidatePolicy(max_prompt_chars=500), firewall=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mw = PromptOptimizationMiddleware(
            optimizer=optimizer,
            optimize_every=2,
            mode="background",
            scope="global",
            require_approval=False,
            on_base_change="carry",
            store=InMemoryStore(),
            storage=storage,
            prompts=[{"name": "tone", "prompt": "Be brief."}],
            system_prompt=system,
            get_user_id=lambda runtime: "u",
            safety=safety,
        )
    assert (mw.optimizer, mw.storage, mw.system_prompt, mw.safety) == (
        optimizer,
        storage,
        system,
        safety,
    )
    assert mw.prompt_names == ["main", "tone"]
    assert (mw.mode, mw.scope, mw.require_approval) == ("background", "global", False)
    mw.close()


def test_a_model_string_or_model_is_short_for_optimizer_settings():
    model = ScriptedOptimizerModel()
    assert PromptOptimizationMiddleware(optimizer=model).optimizer == OptimizerSettings(model=model)
    by_name = PromptOptimizationMiddleware(optimizer="openai:gpt-4o-mini")
    assert by_name.optimizer.model == "openai:gpt-4o-mini"


# -- old keywords: still work, warn with the replacement, conflict with the new object ---------

_OLD_KEYWORDS: list[tuple[str, Any, str, Any]] = [
    ("optimizer_model", "openai:gpt-4o-mini", "optimizer=OptimizerSettings(model=...)",
     lambda mw: mw.optimizer.model == "openai:gpt-4o-mini"),
    ("kind", "gradient", "optimizer=OptimizerSettings(kind=...)",
     lambda mw: mw.optimizer.kind == "gradient"),
    ("optimizer_config", {"max_reflection_steps": 2}, "optimizer=OptimizerSettings(config=...)",
     lambda mw: mw.optimizer.config == {"max_reflection_steps": 2}),
    ("max_feedback_per_optimization", 3, "optimizer=OptimizerSettings(max_feedback=...)",
     lambda mw: mw.optimizer.max_feedback == 3),
    ("max_trajectory_chars", 100, "optimizer=OptimizerSettings(max_trajectory_chars=...)",
     lambda mw: mw.optimizer.max_trajectory_chars == 100),
    ("namespace_prefix", ("agent_a",), "storage=StorageSettings(namespace_prefix=...)",
     lambda mw: mw.storage.namespace_prefix == ("agent_a",)),
    ("store_timeout", None, "storage=StorageSettings(timeout=...)",
     lambda mw: mw.storage.timeout is None),
    ("max_buffered_writes", 5, "storage=StorageSettings(max_buffered_writes=...)",
     lambda mw: mw.storage.max_buffered_writes == 5),
    ("retention", Retention(max_trajectories_per_user=3), "storage=StorageSettings(retention=...)",
     lambda mw: mw.storage.retention.max_trajectories_per_user == 3),
    ("update_instructions", "u", "system_prompt=SystemPromptSettings(update_instructions=...)",
     lambda mw: mw.system_prompt.update_instructions == "u"),
    ("when_to_update", "w", "system_prompt=SystemPromptSettings(when_to_update=...)",
     lambda mw: mw.system_prompt.when_to_update == "w"),
    ("system_prompt_name", "main", "system_prompt=SystemPromptSettings(name=...)",
     lambda mw: mw.prompt_names == ["main"]),
    ("max_prompt_chars", 100,
     "safety=SafetySettings(policy=CandidatePolicy(max_prompt_chars=...))",
     lambda mw: mw.safety.policy == CandidatePolicy(max_prompt_chars=100)),
    ("max_growth_chars", 50,
     "safety=SafetySettings(policy=CandidatePolicy(max_growth_chars=...))",
     lambda mw: mw.safety.policy == CandidatePolicy(max_growth_chars=50)),
    ("firewall", False, "safety=SafetySettings(firewall=...)",
     lambda mw: mw.safety.firewall is False),
    ("gate", EvaluationGate(), "safety=SafetySettings(gate=...)",
     lambda mw: mw.safety.gate == EvaluationGate()),
    ("monitor", None, "safety=SafetySettings(monitor=...)",
     lambda mw: mw.safety.monitor is None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "replacement", "check"), _OLD_KEYWORDS, ids=[k[0] for k in _OLD_KEYWORDS]
)
def test_each_old_middleware_keyword_works_and_warns_naming_the_replacement(
    name, value, replacement, check
):
    expected = f"{name}= is deprecated; use {replacement}"
    with pytest.warns(DeprecationWarning, match=re.escape(expected)) as record:
        mw = PromptOptimizationMiddleware(**{name: value})
    assert check(mw)
    assert [w.filename for w in record if w.category is DeprecationWarning] == [__file__]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"kind": "gradient"}, {"optimizer": OptimizerSettings()}),
        ({"kind": "gradient"}, {"optimizer": "openai:gpt-4o-mini"}),
        ({"store_timeout": 1.0}, {"storage": StorageSettings()}),
        ({"system_prompt_name": "main"}, {"system_prompt": SystemPromptSettings()}),
        ({"max_prompt_chars": 100}, {"safety": SafetySettings()}),
        ({"monitor": Monitor()}, {"safety": SafetySettings()}),
    ],
)
def test_an_old_keyword_with_the_object_that_holds_it_is_an_error(old, new):
    with pytest.raises(ValueError, match="both given"):
        PromptOptimizationMiddleware(**old, **new)


def test_old_keywords_mix_with_the_other_new_objects():
    with pytest.warns(DeprecationWarning, match="kind="):
        mw = PromptOptimizationMiddleware(kind="gradient", safety=SafetySettings(firewall=False))
    assert mw.optimizer.kind == "gradient"
    assert mw.safety.firewall is False


def test_an_unknown_keyword_is_a_type_error_as_in_python():
    with pytest.raises(TypeError, match="unexpected keyword argument 'optimiser'"):
        PromptOptimizationMiddleware(optimiser="openai:gpt-4o-mini")  # type: ignore[call-arg]


def test_a_bad_value_for_an_old_keyword_names_that_keyword():
    with pytest.raises(TypeError, match="optimizer_config="):
        PromptOptimizationMiddleware(optimizer_config="x")  # type: ignore[typeddict-item]
    with pytest.raises(ValueError, match="max_prompt_chars="):
        PromptOptimizationMiddleware(max_prompt_chars=0)


# -- the same behaviour through either spelling ------------------------------------------------

LINES = ["Keep answers short.", "Write in English.", "Be polite to everyone."]
LONG_BASE = "\n".join([BASE_PROMPT, *LINES])


def _drop_two_lines(current: str, feedback: str) -> str:
    """An optimizer that learns the rule but drops the last two lines (~46% of the text)."""
    kept = [line for line in current.splitlines() if line not in LINES[1:]]
    return "\n".join([*kept, SIGN_RULE])


def _learn(store: InMemoryStore, rewrite: Any, system: str, **kwargs: Any) -> str:
    """Run once, give feedback, run again: the system prompt the agent model saw last."""
    optimizer = ScriptedOptimizerModel(rewrite=rewrite)
    if "optimizer" in kwargs:
        kwargs["optimizer"] = dataclasses.replace(kwargs["optimizer"], model=optimizer)
    else:
        kwargs["optimizer_model"] = optimizer
    mw = PromptOptimizationMiddleware(**kwargs)
    model = ScriptedChatModel(responses=email_reply)
    agent = create_agent(model, system_prompt=system, middleware=[mw], store=store)
    ask = {"messages": [("user", "Write to Bob.")]}
    first = agent.invoke(ask, context=Context(user_id="u"))
    mw.add_feedback(first["trajectory_id"], "Sign as John Doe.")
    agent.invoke(ask, context=Context(user_id="u"))
    return str(model.requests[-1].system_prompt)


def test_new_objects_serve_what_the_old_keywords_served():
    new = _learn(InMemoryStore(), sign_rewrite, BASE_PROMPT, optimizer=OptimizerSettings())
    with pytest.warns(DeprecationWarning, match="optimizer_model= is deprecated"):
        old = _learn(InMemoryStore(), sign_rewrite, BASE_PROMPT)
    assert new == old == f"{BASE_PROMPT}\n{SIGN_RULE}"


@pytest.mark.parametrize("spelling", ["new", "old"])
def test_the_size_budget_is_enforced_either_way(spelling):
    store = InMemoryStore()
    if spelling == "new":
        policy = CandidatePolicy(max_prompt_chars=len(BASE_PROMPT) + 5)
        served = _learn(
            store,
            sign_rewrite,
            BASE_PROMPT,
            optimizer=OptimizerSettings(),
            safety=SafetySettings(policy=policy),
        )
    else:
        with pytest.warns(DeprecationWarning, match="max_prompt_chars"):
            served = _learn(store, sign_rewrite, BASE_PROMPT, max_prompt_chars=len(BASE_PROMPT) + 5)
    assert served == BASE_PROMPT
    assert "max_prompt_chars" in PromptRegistry(store).history("u")[0].reason


def test_max_dropped_fraction_now_takes_effect():
    lenient = _learn(InMemoryStore(), _drop_two_lines, LONG_BASE, optimizer=OptimizerSettings())
    assert lenient == "\n".join([BASE_PROMPT, LINES[0], SIGN_RULE])  # 46% dropped <= 50%
    store = InMemoryStore()
    strict = _learn(
        store,
        _drop_two_lines,
        LONG_BASE,
        optimizer=OptimizerSettings(),
        safety=SafetySettings(policy=CandidatePolicy(max_dropped_fraction=0.3)),
    )
    assert strict == LONG_BASE
    assert "keeps only" in PromptRegistry(store).history("u")[0].reason


# -- PromptWorker: the same objects ------------------------------------------------------------


def test_the_worker_needs_a_model():
    with pytest.raises(ValueError, match="needs a model"):
        PromptWorker(InMemoryStore())
    with pytest.raises(ValueError, match="needs a model"):
        PromptWorker(InMemoryStore(), optimizer=OptimizerSettings(kind="gradient"))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"optimizer_model": "openai:gpt-4o-mini", "kind": "x"}, ValueError,
         "kind must be one of"),
        ({"storage": "agent_a"}, TypeError, "storage must be a StorageSettings"),
        ({"safety": SafetySettings(gate=EvaluationGate())}, ValueError, "model="),
        ({"safety": "strict"}, TypeError, "safety must be a SafetySettings"),
        ({"optimizer": "openai:gpt-4o-mini", "concurrency": 0}, ValueError, "concurrency"),
        ({"optimizer_model": 42}, TypeError, "optimizer_model="),
        ({"optimiser": "openai:gpt-4o-mini"}, TypeError, "unexpected keyword argument"),
        ({"optimizer": "openai:gpt-4o-mini", "kind": "gradient"}, ValueError, "both given"),
        ({"optimizer": "openai:gpt-4o-mini", "gate": None,
          "safety": SafetySettings()}, ValueError, "both given"),
    ],
)  # fmt: skip
def test_the_worker_validates_with_the_same_objects(kwargs, error, match):
    with pytest.raises(error, match=match):
        PromptWorker(InMemoryStore(), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"require_approval": "yes"}, TypeError, "require_approval must be a bool or None"),
        ({"require_approval": 1}, TypeError, "require_approval must be a bool or None"),
        ({"poll_interval": "x"}, ValueError, "poll_interval must be a positive finite number"),
        ({"poll_interval": 0}, ValueError, "poll_interval must be a positive finite number"),
        ({"poll_interval": float("nan")}, ValueError, "poll_interval must be a positive"),
        ({"poll_interval": True}, ValueError, "poll_interval must be a positive"),
        ({"prune_interval": -5}, ValueError, "prune_interval must be a positive finite number"),
        ({"prune_interval": float("inf")}, ValueError, "prune_interval must be a positive"),
        ({"prune_interval": 10**400}, ValueError, "prune_interval must be a positive"),
        ({"concurrency": True}, ValueError, "concurrency must be a positive int"),
        ({"concurrency": 2.0}, ValueError, "concurrency must be a positive int"),
        ({"lease_seconds": "5"}, ValueError, "lease_seconds must be a positive finite number"),
        ({"lease_seconds": -1.0}, ValueError, "lease_seconds must be a positive finite number"),
    ],
)  # fmt: skip
def test_the_worker_checks_its_own_keywords_clearly(kwargs, error, match):
    with pytest.raises(error, match=match):
        PromptWorker(InMemoryStore(), optimizer="openai:gpt-4o-mini", **kwargs)


@pytest.mark.parametrize("value", ["yes", 1, 0.0])
def test_require_approval_is_checked_once_for_middleware_and_worker(value):
    with pytest.raises(TypeError) as from_middleware:
        PromptOptimizationMiddleware(require_approval=value)
    with pytest.raises(TypeError) as from_worker:
        PromptWorker(InMemoryStore(), optimizer="openai:gpt-4o-mini", require_approval=value)
    assert str(from_middleware.value) == str(from_worker.value)


def test_the_worker_keeps_valid_intervals_and_approval():
    worker = PromptWorker(
        InMemoryStore(),
        optimizer="openai:gpt-4o-mini",
        concurrency=3,
        poll_interval=1,
        prune_interval=0.5,
        require_approval=True,
    )
    assert (worker.concurrency, worker.poll_interval, worker.prune_interval) == (3, 1.0, 0.5)
    assert worker._engine.settings.require_approval is True


_OLD_WORKER_KEYWORDS: list[tuple[str, Any, str, Any]] = [
    ("optimizer_model", "openai:gpt-4o-mini", "optimizer=OptimizerSettings(model=...)",
     lambda w: w.optimizer.model == "openai:gpt-4o-mini"),
    ("kind", "metaprompt", "optimizer=OptimizerSettings(kind=...)",
     lambda w: w.optimizer.kind == "metaprompt"),
    ("optimizer_config", {"max_reflection_steps": 1}, "optimizer=OptimizerSettings(config=...)",
     lambda w: w.optimizer.config == {"max_reflection_steps": 1}),
    ("max_feedback_per_optimization", 4, "optimizer=OptimizerSettings(max_feedback=...)",
     lambda w: w.optimizer.max_feedback == 4),
    ("max_trajectory_chars", 200, "optimizer=OptimizerSettings(max_trajectory_chars=...)",
     lambda w: w.optimizer.max_trajectory_chars == 200),
    ("namespace_prefix", ("agent_a",), "storage=StorageSettings(namespace_prefix=...)",
     lambda w: w.storage.namespace_prefix == ("agent_a",)),
    ("retention", Retention(max_trajectories_per_user=9), "storage=StorageSettings(retention=...)",
     lambda w: w.storage.retention.max_trajectories_per_user == 9),
    ("firewall", FeedbackFirewall(trusted_domains=("x.com",)),
     "safety=SafetySettings(firewall=...)",
     lambda w: w.safety.firewall == FeedbackFirewall(trusted_domains=("x.com",))
     and w.safety.policy is None),
    ("gate", EvaluationGate(model=ScriptedChatModel()), "safety=SafetySettings(gate=...)",
     lambda w: w.safety.gate is not None and w.safety.firewall is None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "replacement", "check"),
    _OLD_WORKER_KEYWORDS,
    ids=[k[0] for k in _OLD_WORKER_KEYWORDS],
)
def test_each_old_worker_keyword_works_and_warns_naming_the_replacement(
    name, value, replacement, check
):
    kwargs = {name: value}
    if name != "optimizer_model":
        kwargs["optimizer_model"] = "openai:gpt-4o-mini"
    expected = re.escape(f"{name}= is deprecated; use {replacement}")
    with pytest.warns(DeprecationWarning, match=expected) as record:
        worker = PromptWorker(InMemoryStore(), **kwargs)
    assert check(worker)
    assert {w.filename for w in record if w.category is DeprecationWarning} == {__file__}


def _external_app(store: InMemoryStore, **kwargs: Any) -> None:
    """An app in external mode: one run of user 'u' with feedback, recorded for workers."""
    mw = PromptOptimizationMiddleware(mode="external", **kwargs)
    model = ScriptedChatModel(responses=email_reply)
    agent = create_agent(model, system_prompt=LONG_BASE, middleware=[mw], store=store)
    result = agent.invoke({"messages": [("user", "Write to Bob.")]}, context=Context(user_id="u"))
    mw.add_feedback(result["trajectory_id"], "Sign as John Doe.")


@pytest.mark.parametrize("spelling", ["new", "old"])
def test_a_worker_applies_the_apps_budgets_and_its_own_settings(spelling):
    store = InMemoryStore()
    strict = SafetySettings(policy=CandidatePolicy(max_dropped_fraction=0.3))
    _external_app(store, storage=StorageSettings(namespace_prefix=("agent_a",)), safety=strict)
    optimizer = ScriptedOptimizerModel(rewrite=_drop_two_lines)
    if spelling == "new":
        worker = PromptWorker(
            store,
            optimizer=OptimizerSettings(model=optimizer),
            storage=StorageSettings(namespace_prefix=("agent_a",)),
        )
    else:
        with pytest.warns(DeprecationWarning, match="namespace_prefix= is deprecated"):
            worker = PromptWorker(store, optimizer_model=optimizer, namespace_prefix=("agent_a",))
    worker.run_once()
    registry = PromptRegistry(store, namespace_prefix=("agent_a",))
    assert registry.current("u").text == LONG_BASE  # the apps' 0.3 budget refused it
    assert "keeps only" in registry.history("u")[0].reason
