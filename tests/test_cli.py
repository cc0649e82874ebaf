"""The promptopt console script, run as a subprocess: --json, human output, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_prompt_optimization import open_store

from .conftest import BASE_PROMPT, SIGN_RULE, make_harness

ROOT = Path(__file__).parent.parent
PROMPTOPT = Path(sys.executable).parent / "promptopt"
USER = "jane.doe@example.com"


def run(*args: str, store: str | None = None, env: dict[str, str] | None = None):
    command = [str(PROMPTOPT)]
    if store is not None:
        command += ["--store", store]
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    full_env = {**os.environ, "PYTHONPATH": path, "COLUMNS": "200", **(env or {})}
    full_env.pop("PROMPTOPT_STORE", None) if env is None or "PROMPTOPT_STORE" not in env else None
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=120
    )


@pytest.fixture
def store_uri(tmp_path):
    """A SQLite store where Jane learned v2 and has a pending candidate v3."""
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(uri)
    h = make_harness(store)
    h.middleware.add_feedback(h.ask(USER)["trajectory_id"], "Sign as John Doe.", score=0.5)
    careful = make_harness(
        store, require_approval=True, rewrite=lambda cur, text: f"{cur}\nBe brief."
    )
    careful.middleware.add_feedback(careful.ask(USER)["trajectory_id"], "Be brief.")
    external = make_harness(store, mode="external")
    external.middleware.add_feedback(external.ask("bob")["trajectory_id"], "Sign as John Doe.")
    store.conn.close()  # type: ignore[attr-defined]
    return uri


def as_json(done) -> object:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_console_script_is_installed():
    assert PROMPTOPT.exists()
    assert run("--help").returncode == 0


def test_users(store_uri):
    assert as_json(run("users", "--json", store=store_uri)) == {"users": [USER, "bob"]}
    human = run("users", store=store_uri)
    assert human.returncode == 0
    assert USER in human.stdout
    assert "┃" in human.stdout or "|" in human.stdout


def test_history_and_global_json_flag(store_uri):
    data = as_json(run("--json", "history", USER, store=store_uri))
    assert data["user_id"] == USER
    assert [(v["version"], v["status"]) for v in data["versions"]] == [
        (3, "pending"),
        (2, "active"),
        (1, "inactive"),
    ]
    v2 = data["versions"][1]
    assert set(v2) >= {
        "prompt", "version", "status", "text", "created_at", "reason", "parent",
        "feedback_ids", "optimizer_kind", "content_hash", "base_hash", "usage", "review",
    }  # fmt: skip
    human = run("history", USER, store=store_uri)
    assert "pending" in human.stdout
    assert "optimized from feedback" in human.stdout


def test_show_active_and_a_version(store_uri):
    assert as_json(run("show", USER, "--json", store=store_uri))["text"] == (
        f"{BASE_PROMPT}\n{SIGN_RULE}"
    )
    assert as_json(run("show", USER, "--version", "1", "--json", store=store_uri))["text"] == (
        BASE_PROMPT
    )
    human = run("show", USER, "--prompt", "system", store=store_uri)
    assert SIGN_RULE in human.stdout
    assert "active" in human.stdout


def test_diff(store_uri):
    data = as_json(run("diff", USER, "1", "2", "--json", store=store_uri))
    assert f"+{SIGN_RULE}" in data["diff"]
    human = run("diff", USER, "1", "2", store=store_uri)
    assert f"+{SIGN_RULE}" in human.stdout
    assert "--- system v1" in human.stdout


def test_approve_then_rollback_then_reject(store_uri):
    approved = as_json(run("approve", USER, "3", "--note", "ok", "--json", store=store_uri))
    assert approved["status"] == "active"
    assert approved["review"]["note"] == "ok"
    rolled = as_json(run("rollback", USER, "2", "--json", store=store_uri))
    assert (rolled["version"], rolled["status"]) == (4, "active")
    assert rolled["text"] == f"{BASE_PROMPT}\n{SIGN_RULE}"
    human = run("rollback", USER, "1", store=store_uri)
    assert human.returncode == 0
    assert "v5" in human.stdout
    bad = run("reject", USER, "5", store=store_uri)
    assert bad.returncode == 2
    assert "only pending" in bad.stderr


def test_reject(store_uri):
    rejected = as_json(run("reject", USER, "3", "--json", store=store_uri))
    assert rejected["status"] == "rejected"
    assert as_json(run("show", USER, "--json", store=store_uri))["version"] == 2


def test_feedback(store_uri):
    assert as_json(run("feedback", USER, "--json", store=store_uri))["feedback"] == []
    items = as_json(run("feedback", USER, "--all", "--json", store=store_uri))["feedback"]
    assert [(fb["status"], fb["score"]) for fb in items] == [("consumed", 0.5), ("consumed", None)]
    assert all(fb["trajectory_id"] for fb in items)
    pending = as_json(run("feedback", "bob", "--json", store=store_uri))["feedback"]
    assert [fb["status"] for fb in pending] == ["pending"]
    assert "Sign as John Doe." in run("feedback", "bob", store=store_uri).stdout


def test_optimize_with_a_model(store_uri):
    model = "python:tests.cli_models:optimizer"
    data = as_json(run("optimize", "bob", "--model", model, "--json", store=store_uri))
    assert data["status"] == "optimized"
    assert data["versions"]["system"]["text"].endswith(SIGN_RULE)
    assert data["versions"]["system"]["status"] == "active"
    again = run("optimize", "bob", "--model", model, store=store_uri)
    assert again.returncode == 0
    assert "no_feedback" in again.stdout


def test_store_from_environment(store_uri):
    done = run("users", "--json", env={"PROMPTOPT_STORE": store_uri})
    assert as_json(done)["users"][0] == USER


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["history", "nobody"], 1, "no prompts or runs are stored for user 'nobody'"),
        (["show", USER, "--version", "42"], 1, "has no version 42"),
        (["diff", USER, "1", "42"], 1, "has no version 42"),
        (["history", USER, "--prompt", "nope"], 1, "not managed"),
        (["approve", USER, "2"], 2, "only pending versions"),
        (["optimize", USER, "--model", "python:tests.nothing:here"], 2, "cannot load model"),
        (["optimize", "nobody", "--model", "python:tests.cli_models:optimizer"], 1, "nobody"),
        (["frobnicate"], 2, "invalid choice"),
        (["history"], 2, "required"),
    ],
)
def test_errors_are_one_clear_line(store_uri, args, code, message):
    done = run(*args, store=store_uri)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("not-a-uri", "malformed store URI"),
        ("ftp://x", "unknown store URI scheme"),
        ("sqlite:///does/not/exist.db", "no SQLite store"),
        ("postgresql://bob:s3cret@127.0.0.1:1/none", "cannot open PostgreSQL store"),
        (None, "no store"),
    ],
)
def test_bad_store_uris_exit_2_without_traceback(store, message):
    done = run("users", store=store)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_markup_like_text_is_shown_verbatim(tmp_path):
    uri = f"sqlite:///{tmp_path / 'markup.db'}"
    store = open_store(uri)
    h = make_harness(store)
    h.middleware.add_feedback(h.ask("x[/]y")["trajectory_id"], "Use [red]placeholders[/red]")
    store.conn.close()  # type: ignore[attr-defined]
    users = run("users", store=uri)
    assert users.returncode == 0, users.stderr
    assert "x[/]y" in users.stdout
    feedback = run("feedback", "x[/]y", "--all", store=uri)
    assert feedback.returncode == 0, feedback.stderr
    assert "[red]placeholders[/red]" in feedback.stdout
    assert run("history", "x[/]y", store=uri).returncode == 0


def test_prune(store_uri):
    data = as_json(run("prune", "bob", "--keep", "0", "--json", store=store_uri))
    assert data == {"deleted": 0}  # bob's only run has pending feedback: kept
    data = as_json(run("prune", "--all-users", "--keep", "0", "--json", store=store_uri))
    assert data["deleted"] == 2  # Jane's two runs; versions stay
    assert as_json(run("history", USER, "--json", store=store_uri))["versions"]
    bad = run("prune", store=store_uri)
    assert bad.returncode == 2
    assert "USER or --all-users" in bad.stderr


def _piped(*args: str, store: str) -> subprocess.CompletedProcess[str]:
    """`promptopt ... | cat`: stdout is a pipe and `$COLUMNS` is unset (80 columns)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PROMPTOPT_STORE")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [str(PROMPTOPT), "--store", store, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["feedback", USER, "--quarantined"], f"no quarantined feedback for {USER}"),
        (["feedback", USER], f"no pending feedback for {USER}"),
        (["examples", USER], f"no evaluation examples for {USER}"),
    ],
)
def test_empty_lists_print_one_plain_line_when_piped(store_uri, args, line):
    done = _piped(*args, store=store_uri)
    assert done.returncode == 0, done.stderr
    assert done.stdout == line + "\n"


def test_table_title_wider_than_the_table_is_printed_whole(tmp_path):
    uri = f"sqlite:///{tmp_path / 'long.db'}"
    store = open_store(uri)
    user = "jane.with.a.rather.long.address.for.this.test@mail.example.com"
    h = make_harness(store, mode="external")
    h.middleware.add_feedback(h.ask(user)["trajectory_id"], "ok")
    store.conn.close()  # type: ignore[attr-defined]
    done = _piped("feedback", user, store=uri)
    assert done.returncode == 0, done.stderr
    title, border, *_ = done.stdout.splitlines()
    assert title == f"feedback of {user}"
    assert border.startswith("┏")
    assert len(border) < len(title)  # the table fits 80 columns; its title is wider


def test_feedback_trajectory_help_names_both_accepted_forms():
    done = run("feedback", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "--trajectory TRAJECTORY" in text
    assert "prefix of its full trajectory id, or of the id's run part" in text


BAD_STORE_USERS = ("--store", "/nonexistent.db", "users")


def test_python_dash_m_maps_errors_like_the_console_script():
    """`python -m ...review.cli` reports a usage error as the console script does (not as a
    `store error: CliUsageError`: the module run as `__main__` has its own exception classes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PROMPTOPT_STORE", None)
    done = subprocess.run(
        [sys.executable, "-m", "langchain_prompt_optimization.review.cli", *BAD_STORE_USERS],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("promptopt: malformed store URI '/nonexistent.db'")
