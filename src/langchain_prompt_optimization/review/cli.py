"""`promptopt`: review and operate learned prompts from a terminal.

This module parses the command line and maps errors to exit codes; it imports nothing but
the standard library and `errors`, so `promptopt --help` is instant. The commands are in
`review._commands` and their terminal output in `review._render`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, NoReturn

from langchain_prompt_optimization.errors import (
    InvalidTransitionError,
    NamespaceBusyError,
    PromptOptimizationError,
    TrajectoryNotFoundError,
    UnknownExampleError,
    UnknownFeedbackError,
    UnknownPromptError,
    UnknownUserError,
    UnknownVersionError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

logger = logging.getLogger(__name__)

DEFAULT_USER_TOKEN = "-"
"""The USER argument that names the default namespace (runs without a user id)."""

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


STORE_ENV = "PROMPTOPT_STORE"
"""The environment variable naming the store (`stores.open.STORE_ENV`; kept here so parsing
the command line imports no store code)."""

DEFAULT_PREFIX_TEXT = "prompt_optimization"
"""`stores.DEFAULT_PREFIX` joined by '/' (kept here for the same reason)."""


class CliUsageError(Exception):
    """A configuration or usage problem: exit 2."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"promptopt: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    """The command line: global options, then one subcommand per group below."""
    parser = _ArgumentParser(
        prog="promptopt",
        description="Review and operate the prompts an agent learned per user.",
        epilog=f"USER is the user id; '{DEFAULT_USER_TOKEN}' is the default namespace. "
        "Exit codes: 0 ok, 1 not found, 2 usage or configuration error, 3 busy (retry).",
    )
    parser.add_argument(
        "--store",
        default=None,
        help=(
            "store URI (memory://, sqlite:///path.db, postgresql://..., http(s)://host:port "
            f"of a LangGraph server); default ${STORE_ENV}"
        ),
    )
    parser.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX_TEXT,
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
    _add_history_commands(sub)
    _add_review_commands(sub)
    _add_feedback_commands(sub)
    _add_operation_commands(sub)
    _add_serve_command(sub)
    return parser


def _command(
    sub: argparse._SubParsersAction[_ArgumentParser],
    name: str,
    help: str,
    *,
    prompt: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand with `--json` (and `--prompt NAME` when it reads one prompt)."""
    p = sub.add_parser(name, help=help)
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    if prompt:
        p.add_argument("--prompt", default="system", help="prompt name (default: system)")
    return p


def _add_history_commands(sub: argparse._SubParsersAction[_ArgumentParser]) -> None:
    """Read-only: users, a prompt's history, one version, a diff."""
    _command(sub, "users", "list users with stored runs or prompts")
    history = _command(sub, "history", "versions of a user's prompt, newest first", prompt=True)
    history.add_argument("user")
    show = _command(sub, "show", "one version's text (default: the active one)", prompt=True)
    show.add_argument("user")
    show.add_argument("--version", type=int)
    diff = _command(sub, "diff", "unified diff between two versions", prompt=True)
    diff.add_argument("user")
    diff.add_argument("a", type=int)
    diff.add_argument("b", type=int)


def _add_review_commands(sub: argparse._SubParsersAction[_ArgumentParser]) -> None:
    """Review decisions on versions and paused lineages."""
    for name, help_text in (
        ("approve", "activate a pending version"),
        ("reject", "reject a pending version"),
        ("rollback", "append a new version equal to an earlier one and serve it"),
    ):
        p = _command(sub, name, help_text, prompt=True)
        p.add_argument("user")
        p.add_argument("version", type=int)
        p.add_argument("--note", default="", help="reviewer note stored on the version")
    for name, help_text in (
        ("resume", "resume a lineage paused after an auto-rollback"),
        ("release", "deprecated alias of resume"),
    ):
        p = _command(sub, name, help_text, prompt=True)
        p.add_argument("user")
        p.add_argument("--note", default="", help="reviewer note stored with the resume")


def _add_feedback_commands(sub: argparse._SubParsersAction[_ArgumentParser]) -> None:
    """What lineages learn from: feedback items, quarantine decisions, gate examples."""
    feedback = _command(sub, "feedback", "a user's feedback items")
    feedback.add_argument("user")
    feedback.add_argument("--all", action="store_true", help="include consumed feedback")
    feedback.add_argument(
        "--quarantined", action="store_true", help="only feedback the firewall quarantined"
    )
    feedback.add_argument("--held", action="store_true", help=argparse.SUPPRESS)
    feedback.add_argument(
        "--trajectory",
        default=None,
        help="only feedback on this run: a unique prefix of its full trajectory id, or of the "
        "id's run part (the part after '-', which the CLI prints as 8 characters)",
    )
    for name, help_text in (
        ("release-feedback", "release quarantined feedback: pending again, not screened again"),
        ("discard-feedback", "discard quarantined feedback: kept for the record, never learned"),
    ):
        p = _command(sub, name, help_text)
        p.add_argument("user")
        p.add_argument("feedback_id", help="the feedback id (or a unique prefix of it)")
        p.add_argument("--note", default="", help="reviewer note stored on the item")
    examples = _command(sub, "examples", "the evaluation gate's examples for a user's lineage")
    examples.add_argument("user")


def _add_operation_commands(sub: argparse._SubParsersAction[_ArgumentParser]) -> None:
    """Operations: optimize now, prune, run a worker."""
    kinds = ["gradient", "metaprompt", "prompt_memory"]
    optimize = _command(sub, "optimize", "optimize a user's prompts now from pending feedback")
    optimize.add_argument("user")
    optimize.add_argument(
        "--model",
        required=True,
        help="'provider:model' for init_chat_model, or 'python:module:attr' naming a chat "
        "model (or a factory returning one)",
    )
    optimize.add_argument("--kind", choices=kinds, default="prompt_memory")
    optimize.add_argument(
        "--require-approval",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="store new versions as pending (default: on for --scope global)",
    )
    usage = _command(
        sub, "usage", "model calls and tokens optimizations spent per window (what Budget counts)"
    )
    usage.add_argument("user", nargs="?", help="one user's lineage; omit with --all-users")
    usage.add_argument("--all-users", action="store_true", help="every lineage, per user")
    usage.add_argument(
        "--window", default="1d", help="window: '1h', '12h', '1d', '7d' ... (default 1d, UTC)"
    )
    prune = _command(sub, "prune", "delete old trajectories (prompt versions are never deleted)")
    prune.add_argument("user", nargs="?", help="one user; omit with --all-users")
    prune.add_argument("--all-users", action="store_true")
    prune.add_argument("--keep", type=int, default=1000, help="trajectories kept per user")
    worker = _command(sub, "worker", "process pending optimizations (apps in mode='external')")
    worker.add_argument("--model", required=True, help="as for optimize")
    worker.add_argument("--kind", choices=kinds, default="prompt_memory")
    worker.add_argument("--concurrency", type=int, default=1, help="owners in parallel")
    worker.add_argument("--once", action="store_true", help="process pending work, then exit")
    worker.add_argument("--poll", type=float, default=2.0, help="seconds between idle polls")
    worker.add_argument(
        "--lease-seconds", type=float, default=300.0, help="lease time-to-live (seconds)"
    )
    worker.add_argument(
        "--evaluator",
        action="append",
        default=[],
        metavar="SPEC",
        help="python:module:attr naming an evaluator for the runs apps queued "
        "(EvaluatorSettings(queue_for_workers=True)); repeat for several",
    )


UI_TOKEN_ENV = "PROMPTOPT_UI_TOKEN"
"""The dashboard token's environment variable (`review.dashboard.access.TOKEN_ENV`; kept
here so parsing the command line imports no dashboard code)."""


def _add_serve_command(sub: argparse._SubParsersAction[_ArgumentParser]) -> None:
    """The review dashboard in a browser (extra `[ui]`)."""
    serve = sub.add_parser(
        "serve",
        help="the review dashboard in a browser (needs the 'ui' extra)",
        description="Serve the review dashboard. Reading is open on a loopback address; "
        "actions (approve, reject, roll back, resume, release or discard feedback) need the "
        f"token: --token, ${UI_TOKEN_ENV}, or one generated and printed at start.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    serve.add_argument(
        "--token",
        default=None,
        help=f"token that allows actions (default: ${UI_TOKEN_ENV}, else a generated one); "
        "required to bind a non-loopback address",
    )
    serve.add_argument("--read-only", action="store_true", help="serve no action at all")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `promptopt` console script.

    Returns:
        The exit code: 0 ok, 1 not found, 2 usage or configuration error, 3 busy.
    """
    args = _parser().parse_args(argv)
    _renamed_options(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from langchain_prompt_optimization.review._commands import run_command

        return run_command(args)
    except (
        UnknownUserError,
        UnknownVersionError,
        UnknownPromptError,
        UnknownFeedbackError,
        UnknownExampleError,
        TrajectoryNotFoundError,
    ) as exc:
        return _fail(str(exc), EXIT_NOT_FOUND)
    except NamespaceBusyError as exc:
        return _fail(str(exc), EXIT_BUSY)
    except (InvalidTransitionError, CliUsageError, ValueError, TypeError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except PromptOptimizationError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except Exception as exc:
        return _fail(f"store error: {type(exc).__name__}: {exc}", EXIT_USAGE)


def _renamed_options(args: argparse.Namespace) -> None:
    """Map the names used before the rename (kept one release) to the new ones, with a
    one-line deprecation notice on stderr."""
    if args.command == "release":
        sys.stderr.write("promptopt: 'release' is deprecated; use 'promptopt resume'\n")
        args.command = "resume"
    if getattr(args, "held", False):
        sys.stderr.write("promptopt: '--held' is deprecated; use '--quarantined'\n")
        args.quarantined = True


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"promptopt: {message}\n")
    return code


if __name__ == "__main__":
    # `python -m ...review.cli`: run the imported module's `main`, so the exception classes
    # `_commands` raises are the ones caught (this file, as `__main__`, has its own copies).
    from langchain_prompt_optimization.review.cli import main as _main

    sys.exit(_main())
