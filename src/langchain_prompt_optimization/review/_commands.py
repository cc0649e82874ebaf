"""What each `promptopt` command does: open the store, call the registry, output the result.

Each command hands its result to the JSON writer or to `_render`.

Imported only once the command line is parsed (so `promptopt --help` loads none of this), and
it imports only the store layer and the registry: the optimizer (LangChain's agent stack,
langmem, agentevals) is imported by `optimize` and `worker` alone.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from langchain_prompt_optimization.errors import UnknownUserError
from langchain_prompt_optimization.review import _render
from langchain_prompt_optimization.review.cli import DEFAULT_USER_TOKEN, EXIT_BUSY, EXIT_OK
from langchain_prompt_optimization.review.cli import CliUsageError as _UsageError
from langchain_prompt_optimization.review.registry import PromptRegistry
from langchain_prompt_optimization.stores import StoreLayout, UserRef, drive, open_store
from langchain_prompt_optimization.stores.open import STORE_ENV

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from langchain_core.language_models import BaseChatModel

__all__ = ["READ_COMMANDS", "run_command"]

READ_COMMANDS = frozenset({"users", "history", "show", "diff", "feedback", "examples", "usage"})
"""Commands that only read: they open the store read-only (a read-only SQLite file works)."""


@dataclass
class _Output:
    console: Console
    as_json: bool

    def emit(self, data: Any, render: Callable[[], None]) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        else:
            render()


def _user(token: str) -> str | None:
    return None if token == DEFAULT_USER_TOKEN else token


def _prefix(value: str) -> tuple[str, ...]:
    return tuple(part for part in value.split("/") if part)


def _load_python(spec: str, what: str) -> Any:
    """The object a `python:module:attr` spec names."""
    module_name, _, attr = spec[len("python:") :].rpartition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        msg = f"cannot load {what} {spec!r}: {exc}"
        raise _UsageError(msg) from None


def _load_evaluator(spec: str) -> Any:
    """`--evaluator python:module:attr`: an evaluator (a callable) defined in a module."""
    if not spec.startswith("python:"):
        msg = f"--evaluator takes python:module:attr naming an evaluator; got {spec!r}"
        raise _UsageError(msg)
    evaluator = _load_python(spec, "evaluator")
    if not callable(evaluator):
        msg = f"{spec!r} is not callable"
        raise _UsageError(msg)
    return evaluator


def _load_model(spec: str) -> BaseChatModel:
    if spec.startswith("python:"):
        target = _load_python(spec, "model")
        from langchain_core.language_models import BaseChatModel

        model = target if isinstance(target, BaseChatModel) else target()
        if not isinstance(model, BaseChatModel):
            msg = f"{spec!r} is not a chat model"
            raise _UsageError(msg)
        return model
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(spec)
    except Exception as exc:
        msg = f"cannot create model {spec!r}: {exc}"
        raise _UsageError(msg) from None


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; errors propagate to `cli.main`, which maps them to exit codes."""
    out = _Output(Console(highlight=False, soft_wrap=True), bool(args.json))
    store_uri = args.store or None
    if not store_uri:
        import os

        store_uri = os.environ.get(STORE_ENV)
    if not store_uri:
        msg = f"no store: pass --store URI or set ${STORE_ENV}"
        raise _UsageError(msg)
    if args.command == "serve":
        return _serve(args, store_uri)
    try:
        store = open_store(store_uri, create=False, read_only=args.command in READ_COMMANDS)
        registry = PromptRegistry(store, namespace_prefix=_prefix(args.prefix), scope=args.scope)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    command = args.command
    if command == "worker":
        return _worker(args, store, out)
    if command == "prune":
        return _prune(args, registry, out)
    if command == "usage":
        return _usage(args, registry, out)
    if command == "users":
        users = registry.users()
        out.emit({"users": users}, lambda: _render.print_users(out.console, users))
        return EXIT_OK
    user = _user(args.user)
    if command == "optimize":
        return _optimize(args, store, user, out)
    _USER_COMMANDS[command](args, registry, user, out)
    return EXIT_OK


def _serve(args: argparse.Namespace, store_uri: str) -> int:
    try:
        from langchain_prompt_optimization.review.dashboard import serve
    except ImportError as exc:
        msg = (
            f"promptopt serve needs the 'ui' extra ({exc.name} is missing): "
            "pip install 'langchain-prompt-optimization[ui]'"
        )
        raise _UsageError(msg) from None
    try:
        serve(
            store_uri,
            host=args.host,
            port=args.port,
            token=args.token,
            read_only=args.read_only,
            namespace_prefix=_prefix(args.prefix),
            scope=args.scope,
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    return EXIT_OK


def _prune(args: argparse.Namespace, registry: PromptRegistry, out: _Output) -> int:
    if (args.user is None) == (not args.all_users):
        msg = "prune needs USER or --all-users (not both)"
        raise _UsageError(msg)
    target = None if args.user is None else _user(args.user)
    deleted = registry.prune(target, keep=args.keep, all_users=args.all_users)
    out.emit({"deleted": deleted}, lambda: out.console.print(f"deleted {deleted} trajectory(ies)"))
    return EXIT_OK


def _usage(args: argparse.Namespace, registry: PromptRegistry, out: _Output) -> int:
    if (args.user is None) == (not args.all_users):
        msg = "usage needs USER or --all-users (not both)"
        raise _UsageError(msg)
    user = None if args.user is None else _user(args.user)
    report = registry.budget_usage(
        user, window=args.window, per="global" if args.all_users else "user"
    )
    out.emit(report.to_json(), lambda: _render.print_usage(out.console, report))
    return EXIT_OK


def _history(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    versions = registry.history(user, args.prompt)
    scores = registry.scores(user, args.prompt)
    paused = registry.paused(user, args.prompt)
    out.emit(
        {
            "user_id": user,
            "prompt": args.prompt,
            "versions": [_render.version_json(v) for v in versions],
            "scores": scores,
            "paused": paused,
            "hold": paused,  # deprecated: the name before the rename, kept one release
        },
        lambda: _render.print_history(out.console, user, args.prompt, versions, scores, paused),
    )


def _resume(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    reason = registry.resume(user, args.prompt, note=args.note)
    out.emit(
        # "released": deprecated, the name before the rename, kept one release
        {"user_id": user, "prompt": args.prompt, "resumed": reason, "released": reason},
        lambda: out.console.print(
            Text(f"{args.prompt} of {_render.shown(user)} resumed (was paused: {reason})")
        ),
    )


def _show(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    version = (
        registry.current(user, args.prompt)
        if args.version is None
        else registry.version(user, args.version, args.prompt)
    )
    out.emit(_render.version_json(version), lambda: _render.render_version(out.console, version))


def _diff(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    diff = registry.diff(user, args.a, args.b, args.prompt)
    out.emit(
        {"user_id": user, "prompt": args.prompt, "from": args.a, "to": args.b, "diff": diff},
        lambda: _render.render_diff(out.console, diff),
    )


def _review(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    action = {
        "approve": registry.approve,
        "reject": registry.reject,
        "rollback": registry.rollback,
    }[args.command]
    version = action(user, args.version, args.prompt, note=args.note)
    out.emit(_render.version_json(version), lambda: _render.render_version(out.console, version))


def _feedback(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    items = registry.feedback(
        user,
        pending_only=not args.all,
        status="quarantined" if args.quarantined else None,
        trajectory_id=args.trajectory,
    )
    out.emit(
        {"user_id": user, "feedback": [_render.feedback_json(fb) for fb in items]},
        lambda: _render.print_feedback(out.console, user, items, _listed(args)),
    )


def _review_feedback(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    change = (
        registry.release_feedback
        if args.command == "release-feedback"
        else registry.discard_feedback
    )
    item = change(user, args.feedback_id, note=args.note)  # a unique prefix is accepted
    out.emit(
        _render.feedback_json(item),
        lambda: out.console.print(f"feedback {item.id} is now {item.status}"),
    )


def _listed(args: argparse.Namespace) -> str:
    """What `promptopt feedback` listed, as `print_feedback` names it."""
    if args.quarantined:
        return "quarantined"
    return "" if args.all else "pending"


def _examples(
    args: argparse.Namespace, registry: PromptRegistry, user: str | None, out: _Output
) -> None:
    examples = registry.examples(user)
    out.emit(
        {"user_id": user, "examples": [e.to_json() for e in examples]},
        lambda: _render.print_examples(out.console, user, examples),
    )


_USER_COMMANDS: dict[
    str, Callable[[argparse.Namespace, PromptRegistry, str | None, _Output], None]
] = {
    "history": _history,
    "resume": _resume,
    "show": _show,
    "diff": _diff,
    "approve": _review,
    "reject": _review,
    "rollback": _review,
    "feedback": _feedback,
    "release-feedback": _review_feedback,
    "discard-feedback": _review_feedback,
    "examples": _examples,
}


def _worker(args: argparse.Namespace, store: Any, out: _Output) -> int:
    from langchain_prompt_optimization.optimizer.settings import OptimizerSettings
    from langchain_prompt_optimization.optimizer.worker import PromptWorker
    from langchain_prompt_optimization.stores.settings import StorageSettings

    try:
        worker = PromptWorker(
            store,
            optimizer=OptimizerSettings(model=_load_model(args.model), kind=args.kind),
            storage=StorageSettings(namespace_prefix=_prefix(args.prefix)),
            concurrency=args.concurrency,
            poll_interval=args.poll,
            lease_seconds=args.lease_seconds,
            evaluators=[_load_evaluator(spec) for spec in args.evaluator] or None,
        )
    except (TypeError, ValueError) as exc:
        raise _UsageError(str(exc)) from None
    if args.once:
        done = worker.run_once()
        out.emit(
            {"optimized": done},
            lambda: out.console.print(f"optimized {done} namespace(s)"),
        )
        return EXIT_OK
    logging.getLogger("langchain_prompt_optimization").setLevel(logging.INFO)
    worker.run_forever()  # logs "worker ... started" once its signal handlers are in place
    return EXIT_OK


def _optimize(args: argparse.Namespace, store: Any, user: str | None, out: _Output) -> int:
    from langchain_prompt_optimization.optimizer.engine import OptimizationEngine
    from langchain_prompt_optimization.optimizer.run import RunSettings

    model = _load_model(args.model)
    require_approval = args.require_approval  # None: the policy recorded in the store
    layout = StoreLayout(_prefix(args.prefix))
    ref = UserRef.of(user)
    config = drive(layout.read_config(), store)
    scope = args.scope or config.scope
    if scope == "user" and not drive(layout.is_known_user(ref), store):
        raise UnknownUserError(user)
    owner = UserRef.global_lineage() if scope == "global" else ref
    engine = OptimizationEngine(
        layout=layout,
        settings=RunSettings(kind=args.kind, require_approval=require_approval),
        mode="inline",
        optimize_every=1,
    )
    outcome = engine.optimize(store, owner, model, {})
    data = {
        "user_id": user,
        "status": outcome.status,
        "versions": {name: _render.version_json(v) for name, v in outcome.versions.items()},
        "feedback_ids": list(outcome.feedback_ids),
        "error": outcome.error,
        "usage": outcome.usage,
    }

    def render() -> None:
        out.console.print(f"optimization: [bold]{outcome.status}[/bold]")
        if outcome.error:
            out.console.print(f"error: {outcome.error}", markup=False)
        for v in outcome.versions.values():
            _render.render_version(out.console, v)

    out.emit(data, render)
    return EXIT_BUSY if outcome.status == "busy" else EXIT_OK
