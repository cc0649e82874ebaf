"""The README is real: its quickstart runs as written, offline and against an OpenAI-compatible
endpoint; its test examples pass; its table of contents and its links to docs/ resolve."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from langchain_prompt_optimization.testing import (
    LoopbackOpenAIServer,
    ScriptedChatModel,
    ScriptedOptimizerModel,
)

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
STAND_IN = re.compile(r"# --- offline stand-in.*?# --- end of the offline stand-in ---\n", re.S)


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL)


def _quickstart() -> str:
    (block,) = [b for b in _python_blocks(README) if "# --- offline stand-in" in b]
    return block


def _real_provider_line() -> str:
    (block,) = [b for b in _python_blocks(README) if b.startswith('model = "openai:')]
    return block


def _run_script(source: str, cwd: Path, **env: str) -> str:
    script = cwd / "quickstart.py"
    script.write_text(source)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    clean["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _assert_learned(output: str) -> None:
    lines = output.splitlines()
    assert "John Doe" not in lines[0]  # the first answer, before the feedback
    assert "John Doe" in output  # the second answer follows the feedback
    assert "{'system': 2}" in output
    assert "2 active optimized from feedback" in output
    assert "1 inactive base prompt" in output


def test_quickstart_runs_offline_as_written(tmp_path):
    output = _run_script(_quickstart(), tmp_path)
    _assert_learned(output)
    assert (tmp_path / "quickstart.db").exists()  # the explicit store, in the working directory


def test_quickstart_runs_with_the_real_provider_line(tmp_path):
    """The one-line change for a real provider, against a loopback OpenAI-compatible server:
    the agent AND the optimizer (the agent's own model by default) go through ChatOpenAI."""
    source = STAND_IN.sub(lambda _: _real_provider_line(), _quickstart())
    assert "ScriptedChatModel(" not in source
    optimizer = ScriptedOptimizerModel()

    def llm(request):
        if request.tools:  # langmem's structured output, sent as response_format json_schema
            return optimizer.reply(request)
        return "Hi Bob." + ("\nJohn Doe" if "John Doe" in (request.system_prompt or "") else "")

    with LoopbackOpenAIServer({"gpt-4o-mini": ScriptedChatModel(responses=llm)}) as server:
        output = _run_script(
            source,
            tmp_path,
            OPENAI_BASE_URL=server.base_url,
            OPENAI_API_KEY="dummy-loopback-key",  # never a real key: the server is local
        )
    _assert_learned(output)
    assert {body["model"] for body in server.requests} == {"gpt-4o-mini"}
    assert any(body.get("response_format") for body in server.requests)  # the optimizer call


def test_readme_and_docs_test_files_pass_with_the_plugin(tmp_path):
    (readme_test,) = [b for b in _python_blocks(README) if "def test_" in b]
    (docs_test,) = [
        b for b in _python_blocks(DOCS / "testing.md") if "def test_agent_learns_to_look_up" in b
    ]
    (tmp_path / "test_readme_example.py").write_text(readme_test)
    (tmp_path / "test_docs_example.py").write_text(docs_test)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_readme_opens_with_the_two_commands():
    assert README.read_text().startswith("```bash\nmake demo\nmake test\n```")


def test_readme_reads_in_five_minutes():
    assert len(README.read_text().splitlines()) < 400


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)  # no code blocks
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.M):
        anchor, n = _anchor(heading), 1
        while anchor in found:  # GitHub numbers repeated headings
            anchor, n = f"{_anchor(heading)}-{n}", n + 1
        found.add(anchor)
    return found | set(re.findall(r'<a id="([^"]+)"></a>', text))


def _links(path: Path) -> list[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_readme_table_of_contents_matches_its_headings():
    text = README.read_text()
    contents = text[text.index("## Contents") : text.index("## Install")]
    entries = re.findall(r"^- \[(.+?)\]\(#(.+?)\)$", contents, flags=re.M)
    assert len(entries) >= 10
    anchors = _anchors(README)
    for title, anchor in entries:
        assert anchor in anchors, f"TOC entry {title!r} points to missing #{anchor}"
        assert _anchor(title) == anchor, f"TOC entry {title!r} is not its heading's anchor"


def test_every_relative_link_in_readme_and_docs_resolves():
    pages = [README, *sorted(DOCS.glob("*.md"))]
    assert any(link.startswith("docs/") for link in _links(README))
    checked = 0
    for page in pages:
        for link in _links(page):
            if re.match(r"[a-z]+://", link) or link.startswith("mailto:"):
                continue
            target, _, anchor = link.partition("#")
            path = (page.parent / target).resolve() if target else page
            assert path.exists(), f"{page.name} links to missing {link}"
            if anchor and path.suffix == ".md":
                assert anchor in _anchors(path), f"{page.name} links to missing anchor {link}"
            checked += 1
    assert checked > 30


# The two extra feedback items the README's terminal samples come from (its text says so).
_MORE_FEEDBACK = """
for text, score in [
    ("Close every email with 'Best regards'.", 0.5),
    ("Always add a P.S. with a joke.", 0.0),
]:
    run = agent.invoke(ask, context=jane)
    middleware.add_feedback(run["trajectory_id"], text, score=score)
"""


def _terminal_samples() -> list[tuple[str, str]]:
    """`(command, output)` of every `$ promptopt ...` sample in the README's text blocks."""
    samples, blocks, current = [], [], None
    for line in README.read_text().splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current = [] if line.strip() == "```" else ["<other>"]
            else:
                if current[:1] != ["<other>"]:
                    blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    for block in blocks:
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            samples.append((command, output.rstrip("\n")))
    return samples


def test_terminal_samples_are_real_output(tmp_path):
    """The README's `promptopt` samples are what the CLI prints, today, on the store the
    quickstart leaves (plus the two feedback items the text mentions), at 110 columns."""
    _run_script(_quickstart() + _MORE_FEEDBACK, tmp_path)
    samples = _terminal_samples()
    assert [c.split()[3] for c, _ in samples] == ["diff", "rollback"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(PYTHONPATH=str(ROOT / "src"), COLUMNS="110")
    for command, expected in samples:
        args = shlex.split(command)
        assert args[0] == "promptopt"
        done = subprocess.run(
            [sys.executable, "-m", "langchain_prompt_optimization.review.cli", *args[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        printed = "\n".join(line.rstrip() for line in done.stdout.rstrip("\n").splitlines())
        assert printed == expected, f"README sample of `{command}` is stale:\n{printed}"
