"""Personal-data detectors side by side: coverage, false positives, hostile input, weight.

Candidates: langchain's `PIIMiddleware` detectors (the baseline), Presidio's predefined
pattern recognizers (`presidio-analyzer`, no NER model: a selection for the formats, and
all of them), the `detect-secrets` plugins (keys and tokens), Presidio and detect-secrets
together, and this package's `find_pii`. Measured on the tuning corpus `tests/pii_corpus.py`
(every format, at least two examples each, and benign look-alikes):

- formats covered: a sample counts when every personal value in it is inside a detected
  span (what redaction would remove); a format counts when all its samples do.
- false positives: benign items with any detection.
- hostile input: seconds at 100 KB and 1 MB of a repeated unit, and their ratio (linear is
  about 10x).
- weight: import time in a fresh interpreter and installed size with dependencies.

Presidio and detect-secrets are optional here: a candidate whose package is not installed is
reported as such. Run: `python -m benchmarks.pii_detectors` (add `--hostile-small 20000` for
a quick run). Presidio pulls in spaCy; measure it in a separate environment
(`pip install presidio-analyzer detect-secrets`) that can also import this package.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import inspect
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware.pii import (
    detect_credit_card,
    detect_email,
    detect_ip,
    detect_mac_address,
    detect_url,
)
from tests.pii_corpus import BENIGN, FORMATS

from langchain_prompt_optimization.optimizer.privacy import find_pii

if TYPE_CHECKING:
    from collections.abc import Callable

Spans = list[tuple[int, int]]

HOSTILE_UNITS = ("1-", "0 ", "a.", "x.com ", "eyJa.", "one ")
"""Repeated units for the hostile-input timing (digits, separators, dots, token prefixes)."""

PRESIDIO_SELECTED = (
    "CreditCardRecognizer",
    "EmailRecognizer",
    "IbanRecognizer",
    "IpRecognizer",
    "PhoneRecognizer",
    "UkNinoRecognizer",
    "EsNifRecognizer",
    "EsNieRecognizer",
    "UsSsnRecognizer",
    "UsPassportRecognizer",
    "UkPassportRecognizer",
    "EsPassportRecognizer",
    "DePassportRecognizer",
    "DateRecognizer",
)
"""Presidio's recognizers for the corpus's formats (its date recognizer stands in for dates
of birth; Presidio has no pattern recognizer for addresses, keys, JWTs or Chinese ids)."""


def _langchain(text: str) -> Spans:
    spans: Spans = []
    for detector in (detect_email, detect_credit_card, detect_ip, detect_mac_address, detect_url):
        spans += [(m["start"], m["end"]) for m in detector(text)]
    return spans


def _ours(text: str) -> Spans:
    return [(m["start"], m["end"]) for m in find_pii(text)]


def _presidio(selected: bool) -> Callable[[str], Spans] | None:
    if importlib.util.find_spec("presidio_analyzer") is None:
        return None
    import presidio_analyzer.predefined_recognizers as predefined
    import tldextract
    from presidio_analyzer import LocalRecognizer
    from presidio_analyzer.predefined_recognizers.generic import email_recognizer

    # Its email check reads the public suffix list from the network: use the snapshot.
    offline = tldextract.TLDExtract(suffix_list_urls=())
    email_recognizer.tldextract = SimpleNamespace(extract=offline)  # type: ignore[attr-defined]

    recognizers = []
    for name, cls in vars(predefined).items():
        if not inspect.isclass(cls) or not issubclass(cls, LocalRecognizer):
            continue
        if re.search(r"\.(ner|nlp_engine_recognizers|third_party)\.", cls.__module__):
            continue  # these need a spaCy/transformers model
        if selected and name not in PRESIDIO_SELECTED:
            continue
        with contextlib.suppress(Exception):  # a recognizer that needs configuration
            recognizers.append(cls())

    def detect(text: str) -> Spans:
        spans: Spans = []
        for recognizer in recognizers:
            results = recognizer.analyze(text, recognizer.supported_entities, None)
            spans += [(r.start, r.end) for r in results if r.score > 0]
        return spans

    return detect


def _detect_secrets() -> Callable[[str], Spans] | None:
    if importlib.util.find_spec("detect_secrets") is None:
        return None
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.keyword import KeywordDetector

    # The regex plugins (token formats) and the keyword plugin (`password = ...`). The
    # entropy plugins are left out: on free text they flag every word (41 of 41 benign
    # items when tried), which is not a fair reading of the tool.
    # A regex plugin's `analyze_string` yields its pattern's first group (`ghp` for a
    # GitHub token): the spans are read from its patterns (`denylist`) instead.
    classes = get_mapping_from_secret_type_to_class().values()
    patterns = [
        regex for cls in classes if issubclass(cls, RegexBasedDetector) for regex in cls().denylist
    ]
    keyword = KeywordDetector()

    def detect(text: str) -> Spans:
        spans: Spans = []
        for regex in patterns:
            spans += [(m.start(), m.end()) for m in regex.finditer(text)]
        for line in text.splitlines():
            for plugin in (keyword,):
                for value in set(plugin.analyze_string(line)):
                    start = text.find(value) if value else -1
                    while start >= 0:
                        spans.append((start, start + len(value)))
                        start = text.find(value, start + 1)
        return spans

    return detect


def _union(*detectors: Callable[[str], Spans] | None) -> Callable[[str], Spans] | None:
    if any(d is None for d in detectors):
        return None
    return lambda text: [span for d in detectors if d is not None for span in d(text)]


def candidates() -> dict[str, Callable[[str], Spans] | None]:
    """Each candidate's detector, or None when its package is not installed."""
    presidio = _presidio(selected=True)
    secrets = _detect_secrets()
    return {
        "langchain PIIMiddleware": _langchain,
        "presidio (14 selected)": presidio,
        "presidio (all pattern)": _presidio(selected=False),
        "detect-secrets (regex, keyword)": secrets,
        "presidio + detect-secrets": _union(presidio, secrets),
        "ours (find_pii)": _ours,
    }


def _covered(text: str, value: str, spans: Spans) -> bool:
    """Every occurrence of `value` lies inside the union of `spans`."""
    start = text.find(value)
    while start >= 0:
        end = start + len(value)
        covered = [False] * len(value)
        for s, e in spans:
            for i in range(max(s, start), min(e, end)):
                covered[i - start] = True
        if not all(ch.isspace() or ok for ch, ok in zip(value, covered, strict=True)):
            return False
        start = text.find(value, start + 1)
    return True


def coverage(detect: Callable[[str], Spans]) -> dict[str, tuple[int, int]]:
    """Per format: (samples fully covered, samples)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample in FORMATS:
        spans = detect(sample.text)
        out[sample.format][1] += 1
        if all(_covered(sample.text, value, spans) for value in sample.values):
            out[sample.format][0] += 1
    return {name: (ok, total) for name, (ok, total) in out.items()}


def false_positives(detect: Callable[[str], Spans]) -> list[str]:
    """Benign items in which anything is detected, with what was detected."""
    out = []
    for text in BENIGN:
        spans = detect(text)
        if spans:
            out.append(f"{text!r}: {sorted({text[s:e] for s, e in spans})}")
    return out


def _seconds(detect: Callable[[str], Spans], text: str) -> float:
    start = time.perf_counter()
    detect(text)
    return time.perf_counter() - start


def hostile(
    detect: Callable[[str], Spans], small: int, rounds: int, budget: float
) -> tuple[float, float, str, int]:
    """Worst (ratio, large seconds, unit, large size) over `HOSTILE_UNITS` at `small` and
    10x `small` characters. Where a detector would take over `budget` seconds at the small
    size if it were linear from a tenth of it, both sizes are divided by 10 (down to 1,000
    characters): a superlinear detector is still measured, without waiting hours."""
    worst = (0.0, 0.0, "", small * 10)
    for unit in HOSTILE_UNITS:
        low_size = small
        while (
            low_size > 1_000
            and _seconds(detect, unit * (low_size // 10 // len(unit))) * 10 > budget
        ):
            low_size //= 10
        times: tuple[list[float], list[float]] = ([], [])
        texts = [unit * (size // len(unit)) for size in (low_size, low_size * 10)]
        for number in range(rounds if low_size == small else 1):  # sized down: one round
            for index in (0, 1) if number % 2 == 0 else (1, 0):
                times[index].append(_seconds(detect, texts[index]))
        low, high = statistics.median(times[0]), statistics.median(times[1])
        ratio = high / low if low > 0 else float("nan")
        if ratio > worst[0]:
            worst = (ratio, high, unit, low_size * 10)
    return worst


_MODULES = {
    "langchain PIIMiddleware": ("langchain.agents.middleware.pii", None),
    "presidio (14 selected)": ("presidio_analyzer.predefined_recognizers", "presidio-analyzer"),
    "presidio (all pattern)": ("presidio_analyzer.predefined_recognizers", "presidio-analyzer"),
    "detect-secrets (regex, keyword)": ("detect_secrets.core.scan", "detect-secrets"),
    "presidio + detect-secrets": (None, None),
    "ours (find_pii)": ("langchain_prompt_optimization.optimizer.privacy", None),
}


def import_seconds(module: str) -> float:
    """Seconds to import `module` in a fresh interpreter, less the interpreter's start."""

    def run(code: str) -> float:
        samples = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    return max(0.0, run(f"import {module}") - run("pass"))


def installed_mb(distribution: str) -> float:
    """Megabytes on disk of `distribution` and every distribution it requires."""
    seen: set[str] = set()
    todo = [distribution]
    total = 0
    while todo:
        name = re.split(r"[ ;<>=!~\[(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            with contextlib.suppress(OSError):
                total += os.path.getsize(str(file.locate()))
        todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return total / 1e6


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hostile-small", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--budget", type=float, default=2.0, help="seconds at the small size before sizing down"
    )
    parser.add_argument("--no-weight", action="store_true", help="skip import/size figures")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"corpus: {len(FORMATS)} samples of {len({s.format for s in FORMATS})} formats, "
          f"{len(BENIGN)} benign items (tests/pii_corpus.py)\n")  # fmt: skip
    found = candidates()
    names = [name for name, detect in found.items() if detect is not None]
    for name, detect in found.items():
        if detect is None:
            print(f"- {name}: not installed")
    results: dict[str, Any] = {}
    for name in names:
        detect = found[name]
        assert detect is not None
        results[name] = {"coverage": coverage(detect), "fp": false_positives(detect)}
    formats = list(dict.fromkeys(s.format for s in FORMATS))
    print("| format | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for fmt in formats:
        cells = []
        for name in names:
            ok, total = results[name]["coverage"][fmt]
            cells.append("yes" if ok == total else f"{ok}/{total}" if ok else "no")
        print(f"| {fmt} | " + " | ".join(cells) + " |")
    summary = ["formats covered", "samples covered", "benign with a detection"]
    rows: dict[str, list[str]] = {row: [] for row in summary}
    for name in names:
        cov = results[name]["coverage"].values()
        rows["formats covered"].append(f"{sum(ok == t for ok, t in cov)}/{len(formats)}")
        rows["samples covered"].append(f"{sum(ok for ok, _ in cov)}/{len(FORMATS)}")
        rows["benign with a detection"].append(f"{len(results[name]['fp'])}/{len(BENIGN)}")
    small = args.hostile_small
    rows[f"hostile: worst ratio for 10x input ({small:,} to {small * 10:,})"] = []
    rows["hostile: seconds at the larger size"] = []
    for name in names:
        detect = found[name]
        assert detect is not None
        ratio, seconds, unit, size = hostile(detect, small, args.rounds, args.budget)
        results[name]["hostile"] = (ratio, seconds, unit, size)
        note = "" if size == small * 10 else f", at {size // 10:,} to {size:,}"
        rows[f"hostile: worst ratio for 10x input ({small:,} to {small * 10:,})"].append(
            f"{ratio:.1f}x (`{unit}`{note})"
        )
        rows["hostile: seconds at the larger size"].append(f"{seconds:.2f}{note and ' *'}")
    if not args.no_weight:
        rows["import (s, fresh interpreter)"] = []
        rows["installed with dependencies (MB)"] = []
        for name in names:
            module, dist = _MODULES[name]
            rows["import (s, fresh interpreter)"].append(
                f"{import_seconds(module):.2f}" if module else "(sum)"
            )
            rows["installed with dependencies (MB)"].append(
                f"{installed_mb(dist):.0f}" if dist else "-" if module else "(sum)"
            )
    print("\n| | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for row, cells in rows.items():
        print(f"| {row} | " + " | ".join(cells) + " |")
    for name in names:
        if results[name]["fp"]:
            print(f"\nfalse positives, {name}:")
            for line in results[name]["fp"]:
                print(f"  {line}")
    return results


if __name__ == "__main__":
    main()
