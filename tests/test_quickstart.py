"""The quickstart example runs offline and continues its history across runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parent.parent / "examples" / "quickstart.py"


def _run(store_uri: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PROMPTOPT_STORE"] = store_uri
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quickstart_learns_and_continues(tmp_path):
    uri = f"sqlite:///{tmp_path / 'demo.db'}"
    first = _run(uri)
    assert "OFFLINE: scripted models" in first
    assert "v1 -> v2" in first
    assert "+Always sign emails as John Doe." in first
    assert "the new answer follows the feedback" in first
    assert first.rstrip().endswith(f"promptopt --store {uri} serve")  # the dashboard on it
    second = _run(uri)
    assert "v2 -> v3" in second
    assert "v3   active" in second
    assert "v1   inactive" in second
