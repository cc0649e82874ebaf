"""`promptopt`: review and operate learned prompts from a terminal."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from rich.console import Console
from rich.table import Table
from rich.text import Text

from langchain_prompt_optimization.errors import (
    InvalidTransitionError,
    NamespaceBusyError,
    PromptOptimizationError,
    UnknownExampleError,
    UnknownFeedbackError,
    UnknownPromptError,
    UnknownUserError,
    UnknownVersionError,
)
from langchain_prompt_optimization.review.registry import PromptRegistry
from langchain_prompt_optimization.stores import (
    DEFAULT_PREFIX,
    FeedbackItem,
    PromptVersion,
    StoreLayout,
    UserRef,
    drive,
    open_store,
)
from langchain_prompt_optimization.stores.open import STORE_ENV

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.language_models import BaseChatModel

__all__ = ["main"]

logger = logging.getLogger(__name__)

DEFAULT_USER_TOKEN = "-"
"""The USER argument that names the default namespace (runs without a user id)."""

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


class _UsageError(Exception):
    """A configuration or usage problem: exit 2."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"promptopt: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="promptopt",
        description="Review and operate the prompts an agent learned per user.",
        epilog=f"USER is the user id; '{DEFAULT_USER_TOKEN}' is the default namespace. "
        "Exit codes: 0 ok, 1 not found, 2 usage or configuration error, 3 busy (retry).",
    )
    parser.add_argument(
        "--store",
        default=os.environ.get(STORE_ENV),
        help=f"store URI (memory://, sqlite:///path.db, postgresql://...); default ${STORE_ENV}",
    )
    parser.add_argument(
        "--prefix",
        default="/".join(DEFAULT_PREFIX),
        help="namespace prefix, labels joined by '/' (default: prompt_optimization)",
    )
    parser.add_argument(
        "--scope",
        choices=["user", "global"],
        default=None,
        help="the middleware's scope (default: as recorded in the store)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    def command(name: str, help: str, *, prompt: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
        )
        if prompt:
            p.add_argument("--prompt", default="system", help="prompt name (default: system)")
        return p

    command("users", "list users with stored runs or prompts")
    command("history", "versions of a user's prompt, newest first", prompt=True).add_argument(
        "user"
    )
    show = command("show", "one version's text (default: the active one)", prompt=True)
    show.add_argument("user")
    show.add_argument("--version", type=int)
    diff = command("diff", "unified diff between two versions", prompt=True)
    diff.add_argument("user")
    diff.add_argument("a", type=int)
    diff.add_argument("b", type=int)
    for name, help_text in (
        ("approve", "activate a pending version"),
        ("reject", "reject a pending version"),
        ("rollback", "append a new version equal to an earlier one and serve it"),
    ):
        p = command(name, help_text, prompt=True)
        p.add_argument("user")
        p.add_argument("version", type=int)
        p.add_argument("--note", default="", help="reviewer note stored on the version")
    release = command("release", "release a lineage held after an auto-rollback", prompt=True)
    release.add_argument("user")
    release.add_argument("--note", default="", help="reviewer note stored with the release")
    feedback = command("feedback", "a user's feedback items")
    feedback.add_argument("user")
    feedback.add_argument("--all", action="store_true", help="include consumed feedback")
    feedback.add_argument(
        "--held", action="store_true", help="only feedback the firewall held for review"
    )
    for name, help_text in (
        ("release-feedback", "release held feedback: pending again, not screened again"),
        ("discard-feedback", "discard held feedback: kept for the record, never learned"),
    ):
        p = command(name, help_text)
        p.add_argument("user")
        p.add_argument("feedback_id", help="the feedback id (or a unique prefix of it)")
        p.add_argument("--note", default="", help="reviewer note stored on the item")
    command("examples", "the evaluation gate's examples for a user's lineage").add_argument("user")
    optimize = command("optimize", "optimize a user's prompts now from pending feedback")
    optimize.add_argument("user")
    optimize.add_argument(
        "--model",
        required=True,
        help="'provider:model' for init_chat_model, or 'python:module:attr' naming a chat "
        "model (or a factory returning one)",
    )
    optimize.add_argument(
        "--kind", choices=["gradient", "metaprompt", "prompt_memory"], default="prompt_memory"
    )
    prune = command("prune", "delete old trajectories (prompt versions are never deleted)")
    prune.add_argument("user", nargs="?", help="one user; omit with --all-users")
    prune.add_argument("--all-users", action="store_true")
    prune.add_argument("--keep", type=int, default=1000, help="trajectories kept per user")
    worker = command("worker", "process pending optimizations (apps in mode='external')")
    worker.add_argument("--model", required=True, help="as for optimize")
    worker.add_argument(
        "--kind", choices=["gradient", "metaprompt", "prompt_memory"], default="prompt_memory"
    )
    worker.add_argument("--concurrency", type=int, default=1, help="owners in parallel")
    worker.add_argument("--once", action="store_true", help="process pending work, then exit")
    worker.add_argument("--poll", type=float, default=2.0, help="seconds between idle polls")
    worker.add_argument(
        "--lease-seconds", type=float, default=300.0, help="lease time-to-live (seconds)"
    )
    optimize.add_argument(
        "--require-approval",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="store new versions as pending (default: on for --scope global)",
    )
    return parser


def _user(token: str) -> str | None:
    return None if token == DEFAULT_USER_TOKEN else token


def _prefix(value: str) -> tuple[str, ...]:
    return tuple(part for part in value.split("/") if part)


def version_json(version: PromptVersion) -> dict[str, Any]:
    """The documented JSON shape of a version."""
    return {
        "prompt": version.prompt,
        "version": version.version,
        "status": version.status,
        "text": version.text,
        "created_at": version.created_at.isoformat(),
        "reason": version.reason,
        "parent": version.parent,
        "feedback_ids": list(version.feedback_ids),
        "optimizer_kind": version.optimizer_kind,
        "content_hash": version.content_hash,
        "base_hash": version.base_hash,
        "usage": version.usage,
        "review": version.review,
        "scores": version.scores,
        "hold": version.hold,
    }


def feedback_json(item: FeedbackItem) -> dict[str, Any]:
    """The documented JSON shape of a feedback item."""
    data = item.to_json()
    data.pop("user_label", None)
    return data


def _load_model(spec: str) -> BaseChatModel:
    if spec.startswith("python:"):
        module_name, _, attr = spec[len("python:") :].rpartition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError, ValueError) as exc:
            msg = f"cannot load model {spec!r}: {exc}"
            raise _UsageError(msg) from None
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


@dataclass
class _Output:
    console: Console
    as_json: bool

    def emit(self, data: Any, render: Any) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        else:
            render()


def _shown(user: str | None) -> str:
    return user if user is not None else "(default namespace)"


def _status_style(status: str) -> str:
    return {
        "active": "bold green",
        "pending": "yellow",
        "rejected": "red",
        "failed": "red",
        "superseded": "dim",
        "inactive": "dim",
    }.get(status, "")


def _last_line(text: str, width: int = 60) -> str:
    line = next((ln for ln in reversed(text.splitlines()) if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _gate_scores(v: PromptVersion) -> str:
    """`candidate/active (examples)` when the evaluation gate scored the version."""
    scores = v.scores or {}
    if "candidate" not in scores:
        return ""
    return f"{scores['candidate']:.2f}/{scores['active']:.2f} ({scores.get('examples', 0)})"


def _history_table(
    user: str | None,
    prompt: str,
    versions: list[PromptVersion],
    scores: list[dict[str, Any]] | None = None,
    hold: str | None = None,
) -> Table:
    table = Table(
        title=Text(f"{prompt} prompt of {_shown(user)}"),
        caption=Text(f"HELD for review: {hold}", style="bold yellow") if hold else None,
    )
    for column in ("v", "status", "created", "parent", "feedback", "score", "gate"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason")
    table.add_column("last line")
    by_version = {entry["version"]: entry for entry in scores or ()}
    for v in versions:
        entry = by_version.get(v.version)
        table.add_row(
            str(v.version),
            Text(v.status, style=_status_style(v.status)),
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            "" if v.parent is None else str(v.parent),
            str(len(v.feedback_ids)),
            "" if entry is None else f"{entry['mean']:.2f} n={entry['n']}",
            _gate_scores(v),
            Text(v.reason),
            Text(_last_line(v.text)),
        )
    return table


def _render_version(console: Console, v: PromptVersion) -> None:
    console.print(
        Text.assemble(
            (f"{v.prompt} v{v.version} ", "bold"),
            (v.status, _status_style(v.status)),
            f"  {v.reason}",
        )
    )
    if _gate_scores(v):
        console.print(
            f"evaluation gate: candidate/active {_gate_scores(v)} examples, "
            f"{(v.scores or {}).get('method', '')}"
        )
    console.print(Text(v.text), highlight=False, markup=False)


def _render_diff(console: Console, diff: str) -> None:
    if not diff:
        console.print("(no difference)")
        return
    for line in diff.splitlines():
        style = (
            "bold"
            if line.startswith(("---", "+++"))
            else "green"
            if line.startswith("+")
            else "red"
            if line.startswith("-")
            else "cyan"
            if line.startswith("@@")
            else ""
        )
        console.print(Text(line, style=style), highlight=False, markup=False)


def _run(args: argparse.Namespace, out: _Output) -> int:
    if not args.store:
        msg = f"no store: pass --store URI or set ${STORE_ENV}"
        raise _UsageError(msg)
    try:
        store = open_store(args.store, create=False)
        registry = PromptRegistry(store, namespace_prefix=_prefix(args.prefix), scope=args.scope)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    console = out.console
    command = args.command

    if command == "worker":
        return _worker(args, store, out)
    if command == "prune":
        if (args.user is None) == (not args.all_users):
            msg = "prune needs USER or --all-users (not both)"
            raise _UsageError(msg)
        target = None if args.user is None else _user(args.user)
        deleted = registry.prune(target, keep=args.keep, all_users=args.all_users)
        out.emit(
            {"deleted": deleted},
            lambda: console.print(f"deleted {deleted} trajectory(ies)"),
        )
        return EXIT_OK
    if command == "users":
        users = registry.users()

        def render_users() -> None:
            table = Table(title="users")
            table.add_column("user id")
            for u in users:
                label = u if u is not None else f"{DEFAULT_USER_TOKEN} (default namespace)"
                table.add_row(Text(label))
            console.print(table)

        out.emit({"users": users}, render_users)
        return EXIT_OK

    user = _user(args.user)
    if command == "history":
        versions = registry.history(user, args.prompt)
        scores = registry.scores(user, args.prompt)
        hold = registry.hold(user, args.prompt)
        out.emit(
            {
                "user_id": user,
                "prompt": args.prompt,
                "versions": [version_json(v) for v in versions],
                "scores": scores,
                "hold": hold,
            },
            lambda: console.print(_history_table(user, args.prompt, versions, scores, hold)),
        )
    elif command == "release":
        released = registry.release(user, args.prompt, note=args.note)
        out.emit(
            {"user_id": user, "prompt": args.prompt, "released": released},
            lambda: console.print(
                Text(f"{args.prompt} of {_shown(user)} released (was held: {released})")
            ),
        )
    elif command == "show":
        version = (
            registry.current(user, args.prompt)
            if args.version is None
            else registry.version(user, args.version, args.prompt)
        )
        out.emit(version_json(version), lambda: _render_version(console, version))
    elif command == "diff":
        diff = registry.diff(user, args.a, args.b, args.prompt)
        out.emit(
            {"user_id": user, "prompt": args.prompt, "from": args.a, "to": args.b, "diff": diff},
            lambda: _render_diff(console, diff),
        )
    elif command in ("approve", "reject", "rollback"):
        action = {
            "approve": registry.approve,
            "reject": registry.reject,
            "rollback": registry.rollback,
        }[command]
        version = action(user, args.version, args.prompt, note=args.note)
        out.emit(version_json(version), lambda: _render_version(console, version))
    elif command == "feedback":
        items = registry.feedback(
            user, pending_only=not args.all, status="held" if args.held else None
        )

        def render_feedback() -> None:
            table = Table(title=Text(f"feedback of {_shown(user)}"))
            for column in ("id", "trajectory", "status", "score", "source", "feedback"):
                table.add_column(column)
            for fb in items:
                text = fb.feedback if isinstance(fb.feedback, str) else json.dumps(fb.feedback)
                if fb.hold_reason:
                    text = f"{text}\n[{fb.hold_reason}]"
                score = "" if fb.score is None else f"{fb.score:g}"
                table.add_row(
                    fb.id[:8], fb.trajectory_id[-8:], fb.status, score, fb.source, Text(text)
                )
            console.print(table)

        out.emit(
            {"user_id": user, "feedback": [feedback_json(fb) for fb in items]}, render_feedback
        )
    elif command in ("release-feedback", "discard-feedback"):
        held = registry.feedback(user, status="held")
        matches = [fb.id for fb in held if fb.id.startswith(args.feedback_id)]
        target = matches[0] if len(matches) == 1 else args.feedback_id
        change = (
            registry.release_feedback
            if command == "release-feedback"
            else registry.discard_feedback
        )
        item = change(user, target, note=args.note)
        out.emit(
            feedback_json(item),
            lambda: console.print(f"feedback {item.id} is now {item.status}"),
        )
    elif command == "examples":
        examples = registry.examples(user)

        def render_examples() -> None:
            table = Table(title=Text(f"evaluation examples of {_shown(user)}"))
            for column in ("id", "source", "created", "messages", "note"):
                table.add_column(column)
            for e in examples:
                created = e.created_at.strftime("%Y-%m-%d %H:%M")
                table.add_row(e.id, e.source, created, str(len(e.messages)), Text(e.note))
            console.print(table)

        out.emit({"user_id": user, "examples": [e.to_json() for e in examples]}, render_examples)
    elif command == "optimize":
        return _optimize(args, store, registry, user, out)
    return EXIT_OK


def _worker(args: argparse.Namespace, store: Any, out: _Output) -> int:
    from langchain_prompt_optimization.optimizer import OptimizerSettings, PromptWorker
    from langchain_prompt_optimization.stores.settings import StorageSettings

    try:
        worker = PromptWorker(
            store,
            optimizer=OptimizerSettings(model=_load_model(args.model), kind=args.kind),
            storage=StorageSettings(namespace_prefix=_prefix(args.prefix)),
            concurrency=args.concurrency,
            poll_interval=args.poll,
            lease_seconds=args.lease_seconds,
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


def _optimize(
    args: argparse.Namespace, store: Any, registry: PromptRegistry, user: str | None, out: _Output
) -> int:
    from langchain_prompt_optimization.optimizer import OptimizationEngine
    from langchain_prompt_optimization.optimizer.run import OptimizerSettings as RunSettings

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
        "versions": {name: version_json(v) for name, v in outcome.versions.items()},
        "feedback_ids": list(outcome.feedback_ids),
        "error": outcome.error,
    }

    def render() -> None:
        out.console.print(f"optimization: [bold]{outcome.status}[/bold]")
        if outcome.error:
            out.console.print(f"error: {outcome.error}", markup=False)
        for v in outcome.versions.values():
            _render_version(out.console, v)

    out.emit(data, render)
    return EXIT_BUSY if outcome.status == "busy" else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `promptopt` console script.

    Returns:
        The exit code: 0 ok, 1 not found, 2 usage or configuration error, 3 busy.
    """
    args = _parser().parse_args(argv)
    as_json = bool(args.json)
    out = _Output(Console(highlight=False, soft_wrap=True), as_json)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return _run(args, out)
    except (
        UnknownUserError,
        UnknownVersionError,
        UnknownPromptError,
        UnknownFeedbackError,
        UnknownExampleError,
    ) as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    except NamespaceBusyError as exc:
        return _fail(str(exc), EXIT_BUSY)
    except (InvalidTransitionError, _UsageError, ValueError, TypeError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except PromptOptimizationError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except Exception as exc:
        return _fail(f"store error: {type(exc).__name__}: {exc}", EXIT_USAGE)


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"promptopt: {message}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
