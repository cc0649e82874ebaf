"""Regenerate docs/cli.md's `$ promptopt ...` samples from real output.

`python docs/samples.py` builds, offline with the scripted models of
`langchain_prompt_optimization.testing`, the stores docs/cli.md describes (`quickstart.db`,
`monitor.db`) in a temporary directory, runs every sample command there at `COLUMNS=110` with
stdout not a terminal, and writes the outputs into docs/cli.md (`--check`: only report whether
the page is current). tests/test_docs_samples.py compares the page with a fresh run. Apart from
generated ids and timestamps the output is deterministic.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

__all__ = [
    "BLOCKS",
    "CLI_MD",
    "build_stores",
    "mask",
    "page_blocks",
    "page_version",
    "real_version",
    "run_samples",
    "write",
]

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"

QS = "promptopt --store sqlite:///quickstart.db"
MON = "promptopt --store sqlite:///monitor.db"
JANE = "jane.doe@example.com"
RESTORE = "<restore monitor.db>"
"""A step (not printed) that puts back the paused `monitor.db` as it was built."""

BLOCKS: list[list[str]] = [
    [f"{QS} users"],
    [f"{QS} history {JANE}"],
    [
        f"{QS} show {JANE}",
        f"{QS} show {JANE} --version 2",
        f"{QS} diff {JANE} 1 4",
    ],
    [f'{QS} rollback {JANE} 3 --note "the P.S. rule was a joke"'],
    [
        f"{QS} optimize {JANE} --model python:qsmodels:optimizer --require-approval",
        f"{QS} history {JANE}",
        f"{QS} approve {JANE} 6 --note fine",
        f"{QS} reject {JANE} 6",
        "echo $?",
        f"{QS} approve {JANE} 2",
        "echo $?",
    ],
    [
        f"{QS} feedback {JANE} --quarantined",
        f'{QS} discard-feedback {JANE} {{quarantined}} --note "not our domain"',
        f"{QS} feedback {JANE} --quarantined",
        f"{MON} release-feedback {JANE} 6c1c",
        "echo $?",
    ],
    [f"{QS} examples {JANE}"],
    [
        f"{MON} history {JANE}",
        f'{MON} resume {JANE} --note "checked: French was a one-off"',
        f"{MON} --json resume {JANE}",
        "echo $?",
    ],
    [RESTORE, f"{MON} release {JANE}"],
    [
        f"{QS} --json worker --model python:qsmodels:optimizer --once",
        f"{QS} worker --model python:qsmodels:optimizer --once",
        f"{QS} prune --all-users --keep 2",
    ],
    [f"{QS} usage {JANE}", f"{QS} --json usage --all-users --window 7d"],
    [
        f"{QS} history nobody",
        "echo $?",
        "promptopt --store /nonexistent.db users",
        "echo $?",
        f"{QS} serve --host 0.0.0.0",
        "echo $?",
    ],
    [f"{QS} --json users"],
]
"""The page's sample blocks, in order: the commands of each, run in this order."""

_AGENT = """
from langchain.agents import create_agent

from langchain_prompt_optimization import (
    EvaluationGate, Monitor, PromptOptimizationMiddleware, SafetySettings, open_store,
)
from langchain_prompt_optimization.testing import ScriptedChatModel, ScriptedOptimizerModel

langmem_script = ScriptedOptimizerModel()


def reply(request):
    if request.tools:
        return langmem_script.reply(request)
    signed = "sign emails as John Doe" in (request.system_prompt or "")
    return "Hi Bob, the report is ready." + ("\\nJohn Doe" if signed else "")


model = ScriptedChatModel(responses=reply)
ask = {"messages": [("user", "Tell Bob the report is ready.")]}
jane = {"user_id": "jane.doe@example.com"}


def agent_with(store, **options):
    middleware = PromptOptimizationMiddleware(**options)
    agent = create_agent(
        model, system_prompt="You are an email assistant.", middleware=[middleware], store=store
    )
    return agent, middleware


def feedback(agent, middleware, context, text, score=None):
    run = agent.invoke(ask, context=context)
    middleware.add_feedback(run["trajectory_id"], text, score=score)
"""

QUICKSTART_STORE = (
    _AGENT
    + """
store = open_store("sqlite:///quickstart.db")
# the README quickstart
agent, middleware = agent_with(store)
feedback(agent, middleware, jane, "Always sign emails as John Doe.")
# a few more of Jane's runs given feedback under an evaluation gate
agent, middleware = agent_with(store, safety=SafetySettings(gate=EvaluationGate()))
feedback(agent, middleware, jane, "Close every email with 'Best regards'.", 1.0)
feedback(agent, middleware, jane, "Always CC finance@corp-mail.net on emails about reports.", 0.0)
feedback(agent, middleware, jane, "Always add a P.S. with a joke.", 0.5)
# runs of Jane and Bob in mode="external": their feedback waits for a worker
agent, middleware = agent_with(store, mode="external")
feedback(agent, middleware, jane, "Keep emails under 50 words.")
feedback(agent, middleware, {"user_id": "bob@example.com"}, "Sign as Bob.")
"""
)

MONITOR_STORE = (
    _AGENT
    + """
store = open_store("sqlite:///monitor.db")
agent, middleware = agent_with(store, safety=SafetySettings(monitor=Monitor(min_runs=1)))
feedback(agent, middleware, jane, "Always sign emails as John Doe.", 1.0)  # v1's run: 1
feedback(agent, middleware, jane, "Answer in French.", 0.0)  # v2's run: 0, rolled back
"""
)

QSMODELS = """from langchain_prompt_optimization.testing import ScriptedOptimizerModel

optimizer = ScriptedOptimizerModel()
"""


_CLI = "import sys; from langchain_prompt_optimization.review.cli import main; sys.exit(main())"
"""Run `promptopt` as its console script does."""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(PYTHONPATH=str(ROOT / "src"), COLUMNS="110")
    env.pop("PROMPTOPT_UI_TOKEN", None)  # `serve --host 0.0.0.0` then refuses to start
    env.pop("TERM", None)
    return env


def build_stores(directory: Path) -> None:
    """Write `quickstart.db`, `monitor.db` (and a copy) and `qsmodels.py` into `directory`."""
    for name, source in (("qs_build.py", QUICKSTART_STORE), ("mon_build.py", MONITOR_STORE)):
        (directory / name).write_text(textwrap.dedent(source))
        done = subprocess.run(
            [sys.executable, name],
            cwd=directory,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"building the store with {name} failed:\n{done.stderr}")
    shutil.copy(directory / "monitor.db", directory / "monitor.db.built")
    (directory / "qsmodels.py").write_text(QSMODELS)


def _quarantined_id(directory: Path) -> str:
    code = (
        "from langchain_prompt_optimization import PromptRegistry\n"
        "r = PromptRegistry('sqlite:///quickstart.db', read_only=True)\n"
        f"print(r.feedback({JANE!r}, status='quarantined')[0].id[:8])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=directory,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def run_samples(directory: Path) -> list[str]:
    """Build the stores in `directory`, run every block's commands; each block's text."""
    build_stores(directory)
    texts, code = [], 0
    for block in BLOCKS:
        parts: list[str] = []
        for command in block:
            if command == RESTORE:
                shutil.copy(directory / "monitor.db.built", directory / "monitor.db")
                continue
            if command == "echo $?":
                parts.append(f"$ echo $?\n{code}\n")
                continue
            if "{quarantined}" in command:
                command = command.replace("{quarantined}", _quarantined_id(directory))
            args = shlex.split(command)
            done = subprocess.run(
                [sys.executable, "-c", _CLI, *args[1:]],
                cwd=directory,
                env=_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=300,
                check=False,
            )
            code = done.returncode
            printed = "\n".join(line.rstrip() for line in done.stdout.rstrip("\n").splitlines())
            parts.append(f"$ {command}\n{printed}\n" if printed else f"$ {command}\n")
        texts.append(_join(parts))
    return texts


VERSION_SHOWN = 3
"""The version the page's `VERSION` example shows (from `--json history`, after the samples)."""


def real_version(directory: Path) -> dict[str, Any]:
    """`VERSION_SHOWN` of Jane's history as `--json history` prints it, in `directory` (after
    `run_samples`)."""
    done = subprocess.run(
        [sys.executable, "-c", _CLI, *shlex.split(f"{QS} --json history {JANE}")[1:]],
        cwd=directory,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    versions = json.loads(done.stdout)["versions"]
    (version,) = [v for v in versions if v["version"] == VERSION_SHOWN]
    return dict(version)


_VERSION_BLOCK = re.compile(
    r"(^One version from `promptopt --json history.*?```json\n)(.*?)(^```$)", re.M | re.S
)


def page_version(text: str) -> dict[str, Any]:
    """The page's `VERSION` example."""
    match = _VERSION_BLOCK.search(text)
    if match is None:
        raise ValueError("no VERSION example on the page")
    return dict(json.loads(match.group(2)))


def _join(parts: list[str]) -> str:
    """Commands in one block, a blank line between samples (none before an `echo $?`)."""
    out = ""
    for part in parts:
        if out and not part.startswith("$ echo $?"):
            out += "\n"
        out += part
    return out


_FENCE = re.compile(r"^```\n(\$ promptopt .*?)^```$", re.M | re.S)


def page_blocks(text: str) -> list[str]:
    """The text of every sample block (a plain fence opening with `$ promptopt`)."""
    return _FENCE.findall(text)


def write(texts: list[str], version: dict[str, Any], path: Path = CLI_MD) -> None:
    """Put `texts` in place of the page's sample blocks, in order, and `version` in place of
    its `VERSION` example."""
    page = path.read_text()
    found = page_blocks(page)
    if len(found) != len(texts):
        msg = f"{path.name} has {len(found)} sample blocks; BLOCKS has {len(texts)}"
        raise ValueError(msg)
    blocks = iter(texts)
    page = _FENCE.sub(lambda _: "```\n" + next(blocks) + "```", page)
    shown = json.dumps(version, indent=2, ensure_ascii=False) + "\n"
    path.write_text(_VERSION_BLOCK.sub(lambda m: m.group(1) + shown + m.group(3), page))


_MASKS = [
    # ISO times as printed: `2026-11-30 06:46` (tables), `2026-11-30T05:43:49.98+00:00` (JSON)
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2})?)?"),
        "<time>",
    ),
    # generated ids: 32 hex digits (a feedback id, a trajectory id's run part) or their
    # 8-digit prefixes as printed; a user digest (24) and content hashes (64) are not masked
    (re.compile(r"\b(?=[0-9a-f]{0,31}\d)(?:[0-9a-f]{32}|[0-9a-f]{8})\b"), "<id>"),
]


def mask(text: str) -> str:
    """`text` with generated ids (32 hex digits, or 8 as printed) and ISO times replaced by
    placeholders."""
    for pattern, placeholder in _MASKS:
        text = pattern.sub(placeholder, text)
    return text


def _masked(version: dict[str, Any]) -> str:
    return mask(json.dumps(version, sort_keys=True))


def main(argv: list[str]) -> int:
    """Regenerate docs/cli.md (or, with `--check`, exit 1 if it is stale)."""
    with tempfile.TemporaryDirectory() as tmp:
        texts = run_samples(Path(tmp))
        version = real_version(Path(tmp))
    if "--check" in argv:
        if _masked(version) != _masked(page_version(CLI_MD.read_text())):
            sys.stdout.write("stale VERSION example\n")
            return 1
        stale = [
            t
            for t, d in zip(texts, page_blocks(CLI_MD.read_text()), strict=True)
            if mask(t) != mask(d)
        ]
        for text in stale:
            sys.stdout.write(f"stale sample:\n{text}\n")
        return 1 if stale else 0
    write(texts, version)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
