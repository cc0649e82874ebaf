"""The README's test example is real: extract it and run it."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_readme_testing_example_passes():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    (example,) = [b for b in blocks if "def test_learns_to_sign" in b]
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md", "exec"), namespace)
    namespace["test_learns_to_sign"]()  # type: ignore[operator]


def test_readme_opens_with_the_two_commands():
    assert README.read_text().startswith("```bash\nmake demo\nmake test\n```")
