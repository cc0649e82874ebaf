"""Hostile input against every screening and redaction function: size-scaling ratios.

Each function gets the same pattern at a small and a 10x larger size (default 100 KB and
1 MB): `a.` repeated, `x.com ` repeated, `1-` repeated, unclosed `<locked>` tags, deep
nesting (`{"a": ` repeated as text; a list nested that deep for the JSON check), `eyJa.`
(token prefixes and dots) and `one ` (digit words). Every personal-data detector is measured
on its own as well as through `find_pii`. A function
linear in its input takes about 10x as long on the larger size; the target is at most 15x
(the regexes replaced in issue 12 took 85-100x per 10x). Rounds are interleaved (small,
large, small, ...) and the table reports medians. Run with `make bench` (or
`python -m benchmarks.hostile_inputs --rounds 3 --small 100000`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import time
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.limits import check_json
from langchain_prompt_optimization.middleware.feedback import validate_feedback
from langchain_prompt_optimization.optimizer import pii_detectors
from langchain_prompt_optimization.optimizer.checks import locked_sections
from langchain_prompt_optimization.optimizer.firewall import FeedbackFirewall
from langchain_prompt_optimization.optimizer.privacy import (
    detect_email,
    detect_phone,
    find_pii,
    redact_pii,
)

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET = 15.0
PATTERNS = {
    "a.": "a.",
    "x.com": "x.com ",
    "1-": "1-",
    "<locked>": "<locked>",
    "nested": '{"a": ',
    "eyJa.": "eyJa.",  # token prefixes and dots (keys, JWTs)
    "one ": "one ",  # digit words (spelled-out phone numbers)
}
_FIREWALL = FeedbackFirewall()


def _refused(fn: Callable[[], object]) -> None:
    with contextlib.suppress(TypeError, ValueError):
        fn()


def _nested(depth: int) -> list[Any]:
    root: list[Any] = []
    current = root
    for _ in range(depth):
        child: list[Any] = []
        current.append(child)
        current = child
    return root


FUNCTIONS: dict[str, Callable[[str], object]] = {
    "firewall.screen_feedback": _FIREWALL.screen_feedback,
    "firewall.screen_trajectory": _FIREWALL.screen_trajectory,
    "firewall.screen_candidate": lambda text: _FIREWALL.screen_candidate(text, "You help."),
    "redact_pii": redact_pii,
    "find_pii": find_pii,
    "detect_email": detect_email,
    "detect_phone": detect_phone,
    **{f"pii_detectors.{name}": getattr(pii_detectors, name) for name in pii_detectors.__all__},
    "locked_sections": locked_sections,
    "validate_feedback": lambda text: _refused(lambda: validate_feedback(text, None)),
}
"""Text functions; each gets every pattern."""


def _json_walk(size: int) -> Callable[[], object]:
    """The feedback JSON check without its limits: the cost of the walk itself."""
    value = _nested(size // 2)  # "[" and "]" per level: about `size` characters as JSON
    return lambda: check_json(value, "feedback", max_depth=size, max_size=size * 2)


def _deep_refused(size: int) -> Callable[[], object]:
    """Feedback nested `size // 2` deep, refused by `validate_feedback` at its depth limit."""
    value = {"a": _nested(size // 2)}
    return lambda: _refused(lambda: validate_feedback(value, None))


def _case_keys() -> list[tuple[str, str]]:
    keys = [(fn_name, pattern) for fn_name in FUNCTIONS for pattern in PATTERNS]
    return [
        *keys,
        ("check_json (no limits)", "nested"),
        ("validate_feedback (refuses)", "nested dict"),
    ]


def _case(key: tuple[str, str], size: int) -> Callable[[], object]:
    """One function on one pattern of `size` characters, ready to time (its input is built
    here, not in the timed call)."""
    if key == ("check_json (no limits)", "nested"):
        return _json_walk(size)
    if key == ("validate_feedback (refuses)", "nested dict"):
        return _deep_refused(size)
    fn, unit = FUNCTIONS[key[0]], PATTERNS[key[1]]
    text = unit * (size // len(unit))
    return lambda: fn(text)


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(small: int, rounds: int, factor: int = 10) -> list[dict[str, Any]]:
    """Median seconds per call at `small` and `small * factor` characters, and their ratio.

    Each case's two inputs are built just before its rounds and dropped after them, so a
    call reads a text that is in memory and recently written (building every case's text up
    front kept hundreds of megabytes alive, and the 1 MB calls read as 100x slower than the
    100 KB ones on a busy machine, whatever the function)."""
    sizes = (small, small * factor)
    samples: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for key in _case_keys():
        built = [_case(key, size) for size in sizes]
        low: list[float] = []
        high: list[float] = []
        for number in range(rounds):
            order = [0, 1] if number % 2 == 0 else [1, 0]  # alternate who goes first
            for index in order:
                (low, high)[index].append(_time(built[index]))
        samples[key] = (low, high)
    rows = []
    for (fn_name, pattern), (low, high) in samples.items():
        small_s, large_s = statistics.median(low), statistics.median(high)
        rows.append(
            {
                "function": fn_name,
                "pattern": pattern,
                "small_s": small_s,
                "large_s": large_s,
                "ratio": large_s / small_s if small_s > 0 else float("nan"),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=100_000, help="small size, characters")
    parser.add_argument("--factor", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    large = args.small * args.factor
    print(f"sizes {args.small:,} and {large:,} characters, rounds={args.rounds}, interleaved, "
          f"medians; target ratio <= {TARGET:.0f}x for {args.factor}x input\n")  # fmt: skip
    rows = measure(args.small, args.rounds, args.factor)
    print(f"| function | pattern | {args.small:,} (ms) | {large:,} (ms) | ratio |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['function']} | `{row['pattern']}` | {row['small_s'] * 1e3:.2f} | "
            f"{row['large_s'] * 1e3:.2f} | {row['ratio']:.1f}x |"
        )
    worst = max(rows, key=lambda row: row["ratio"])
    print(f"\nworst ratio: {worst['ratio']:.1f}x ({worst['function']}, `{worst['pattern']}`)")
    return rows


if __name__ == "__main__":
    main()
