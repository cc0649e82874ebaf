"""The README's test example is real: extract it and run it."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_readme_trajectory_test_file_passes_with_the_plugin(tmp_path):
    import os
    import subprocess
    import sys

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    (example,) = [b for b in blocks if "def test_agent_learns_to_look_up_contacts" in b]
    test_file = tmp_path / "test_readme_example.py"
    test_file.write_text(example)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "src")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_readme_opens_with_the_two_commands():
    assert README.read_text().startswith("```bash\nmake demo\nmake test\n```")
