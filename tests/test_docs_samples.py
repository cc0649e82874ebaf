"""docs/cli.md is real: every `$ promptopt ...` sample (and the `VERSION` example) is what the
CLI prints today, on the stores the page describes (built by docs/samples.py), at 110 columns
with stdout a pipe; only generated ids and times are masked."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _samples() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_samples", ROOT / "docs" / "samples.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_cli_sample_is_real_output(tmp_path):
    samples = _samples()
    page = samples.CLI_MD.read_text()
    documented = samples.page_blocks(page)
    # every `$ promptopt` line of the page is in a sample block the script regenerates
    in_blocks = sum(len(re.findall(r"^\$ promptopt ", b, re.M)) for b in documented)
    assert in_blocks == len(re.findall(r"^\$ promptopt ", page, re.M))
    real = samples.run_samples(tmp_path)
    assert len(real) == len(documented)
    for printed, shown in zip(real, documented, strict=True):
        assert samples.mask(shown) == samples.mask(printed), (
            f"docs/cli.md sample is stale (regenerate: python docs/samples.py):\n{printed}"
        )
    # the `VERSION` example is `--json history`'s v3 on the same store
    real_version = json.dumps(samples.real_version(tmp_path), sort_keys=True)
    page_version = json.dumps(samples.page_version(page), sort_keys=True)
    assert samples.mask(page_version) == samples.mask(real_version)


def test_masking_hides_only_generated_ids_and_times():
    """Content hashes, user digests, versions and other short hex stay compared."""
    mask = _samples().mask
    content_hash = "05e4d9611e11f7aa7c1e9ac1fc5032b9ca0b1635d2056cc211c292520fa4fc8a"
    line = (
        "id 3fa0ea89  trajectory 54038717  created 2026-11-30 06:46 "
        "a23f0cd6e40eb6c0922fe6a6-26827a8d916a4b5da0c901a22b34281d "
        '"created_at": "2026-11-30T05:43:49.980861+00:00" v 12 score 0.50 n=1 6c1c feedback '
        + content_hash
    )
    assert mask(line) == (
        "id <id>  trajectory <id>  created <time> a23f0cd6e40eb6c0922fe6a6-<id> "
        '"created_at": "<time>" v 12 score 0.50 n=1 6c1c feedback ' + content_hash
    )
