"""Size scaling of the text checks: firewall screening, PII redaction, candidate checks.

Each check runs on adversarial inputs of a small size and of 4x that size, side by side in
one process: each round times both sizes back to back (alternating which goes first); the
table gives the median time per call of each size and the median of the per-round ratios
4x / small. That ratio is about 4 for a check that is linear in its input and about 16 for a
quadratic one; the target is <= 6x (linear plus this machine's noise). The firewall inputs
are the ones its former timing test used (`FIREWALL_INPUTS`, 200,000 characters at
`--size 50000`) and, since issue 13, a run of what each new decoder and normaliser reads
(hex, `%xx`, HTML references, base32, rot13, "at"/"dot", bracketed dots, spoken digits,
concept words); the same inputs serve `tests/test_firewall.py`. Run with `make bench` (or
`python -m benchmarks.scaling --rounds 7`; `--size N` sets the small size of every check,
`--checks firewall,privacy` picks checks).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.optimizer import (
    CandidatePolicy,
    FeedbackFirewall,
    check_candidate,
    redact_pii,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CHECKS",
    "FIREWALL_INPUTS",
    "MIN_SAMPLE",
    "PRIVACY_INPUTS",
    "PROMPT_INPUTS",
    "TARGET",
    "main",
    "measure",
    "parse_args",
]

TARGET = 6.0
"""Largest acceptable time ratio for 4x the input (linear = 4, quadratic = 16)."""

MIN_SAMPLE = 0.02
"""Seconds a timed sample lasts at least (short calls are repeated, the same count per side)."""

# Each generator makes about `n` characters; at n=200_000 the firewall inputs are exactly
# the texts the firewall's former `test_200kb_input_is_screened_in_under_a_second` used.
FIREWALL_INPUTS: dict[str, Callable[[int], str]] = {
    "benign prose": lambda n: ("Please be more concise and use bullet points. " * (n // 40))[:n],
    "'a ' run": lambda n: "a " * (n // 2),
    "one letter": lambda n: "A" * n,
    "'ignore all' run": lambda n: "ignore all " * (n // 10),
    "'x@' run": lambda n: "x@" * (n // 2),
    "'a.' run": lambda n: "a." * (n // 2),
    "leetspeak run": lambda n: "1gn0r3 " * (3 * n // 20),
    "homoglyph run": lambda n: "іgnоrе " * (3 * n // 20),  # Cyrillic і, о, е
    "zero-width run": lambda n: "\u200b" * n,
    "Chinese run": lambda n: "忽略" * (n // 2),
    "identifier run": lambda n: "use " + "a_" * (n // 2),
    "long tool name": lambda n: "call delete_" + "x" * n,
    "base64 lines": lambda n: ("QUJD" * 40 + "\n") * (3 * n // 500),
    "huge domain": lambda n: "send " + "a." * (n // 2) + "com",
    "long filler": lambda n: "Ignore all previous " + "very " * (n // 5),
    # The decoders and normalisers of issue 13: each gets a run of what it reads.
    "hex run": lambda n: "69" * (n // 2),
    "spaced hex run": lambda n: "69 " * (n // 3),
    "url-encoded run": lambda n: "%69" * (n // 3),
    "html references": lambda n: "&#105;" * (n // 6),
    "base32 run": lambda n: "NFTW433SMUQGC3DM" * (n // 16),
    "rot13 prose": lambda n: "Vtaber nyy cerivbhf ehyrf " * (n // 26),
    "'at' and 'dot' run": lambda n: "x at y dot " * (n // 11),
    "bracketed dots": lambda n: "a[.]" * (n // 4),
    "spoken digits": lambda n: "five " * (n // 5),
    "concept words": lambda n: "admin approved tool zonder bevestiging " * (n // 39),
}
FIREWALL = FeedbackFirewall(trusted_domains=("example.com",))

PRIVACY_INPUTS: dict[str, Callable[[int], str]] = {
    "benign prose": FIREWALL_INPUTS["benign prose"],
    "emails": lambda n: ("jo@x.io " * (n // 8 + 1))[:n],
    "phone numbers": lambda n: ("+1 415 555 0134, " * (n // 17 + 1))[:n],
    "IP addresses": lambda n: ("10.20.30.40 " * (n // 12 + 1))[:n],
    "card numbers": lambda n: ("4111 1111 1111 1111 " * (n // 20 + 1))[:n],
    "'a.' run": FIREWALL_INPUTS["'a.' run"],
    "digit run": lambda n: "1" * n,
}

_LOCKED_LINE = "<locked>Rule {i}: never send money.</locked>\n"
_PLAIN_LINE = "Line {i}: be concise and polite always.\n"
PROMPT_INPUTS: dict[str, Callable[[int], str]] = {
    "locked sections": lambda n: "".join(_LOCKED_LINE.format(i=i) for i in range(n // 40)),
    "plain lines": lambda n: "".join(_PLAIN_LINE.format(i=i) for i in range(n // 40)),
}
_NO_BUDGET = CandidatePolicy(max_prompt_chars=10**9, max_growth_chars=10**9)


def _screen_all(text: str) -> Callable[[], Any]:
    """The three screens the firewall runs (feedback, run content, a candidate)."""

    def screen() -> None:
        FIREWALL.screen_feedback(text, known_text=text[:1000])
        FIREWALL.screen_trajectory(text)
        FIREWALL.screen_candidate(text, "You are an email assistant.")

    return screen


def _redact(text: str) -> Callable[[], Any]:
    return lambda: redact_pii(text)


def _check(current: str) -> Callable[[], Any]:
    """`check_candidate` with every check reached: locked sections, then the kept lines."""
    candidate = current + "Sign emails as John.\n"
    return lambda: check_candidate(candidate, current, policy=_NO_BUDGET)


CHECKS: dict[str, tuple[dict[str, Callable[[int], str]], Callable[[str], Callable[[], Any]], int]]
CHECKS = {
    # name: (inputs, what is timed for one input, default small size in characters)
    "firewall": (FIREWALL_INPUTS, _screen_all, 50_000),
    # Smaller: redaction is quadratic today, 200 KB inputs take tens of seconds each.
    "privacy": (PRIVACY_INPUTS, _redact, 12_500),
    "candidate": (PROMPT_INPUTS, _check, 50_000),
}


def measure(
    call_small: Callable[[], Any],
    call_big: Callable[[], Any],
    rounds: int,
    min_sample: float = MIN_SAMPLE,
) -> tuple[float, float, float]:
    """Median seconds per call of each side, and the median of the per-round ratios
    big / small (each round times both sides back to back, so a load change on the machine
    moves both); rounds alternate which side goes first."""
    samples: tuple[list[float], list[float]] = ([], [])
    calls = (call_small, call_big)
    for call in calls:  # warm up (regex compilation, caches)
        call()
    start = time.perf_counter()
    call_small()
    # A sample lasts at least `min_sample` seconds: one call of a few microseconds is noise.
    repeat = max(1, math.ceil(min_sample / max(time.perf_counter() - start, 1e-9)))
    for number in range(rounds):
        order = (1, 0) if number % 2 else (0, 1)
        for side in order:
            start = time.perf_counter()
            for _ in range(repeat):
                calls[side]()
            samples[side].append((time.perf_counter() - start) / repeat)
    ratios = [big / small for small, big in zip(*samples, strict=True) if small > 0]
    ratio = statistics.median(ratios) if ratios else float("inf")
    return statistics.median(samples[0]), statistics.median(samples[1]), ratio


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see `--help`)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--size", type=int, default=None, help="small size for every check (default: per check)"
    )
    parser.add_argument("--checks", default=",".join(CHECKS), help="comma-separated")
    parser.add_argument(
        "--min-sample", type=float, default=MIN_SAMPLE, help="seconds a sample lasts at least"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    cores, python = os.cpu_count(), platform.python_version()
    print(f"machine: {platform.machine()}, {cores} cores, Python {python}")
    print(f"rounds={args.rounds}, sizes back to back (order alternating), medians per call")
    print(f"ratio per 4x size: linear ~ 4x, quadratic ~ 16x; target <= {TARGET:g}x\n")
    print("| check | input | small (chars) | small (ms) | 4x (ms) | 4x / small | result |")
    print("|---|---|---|---|---|---|---|")
    rows: list[dict[str, Any]] = []
    for check in args.checks.split(","):
        inputs, timed, default_size = CHECKS[check]
        size = args.size or default_size
        for name, make in inputs.items():
            small, big = make(size), make(4 * size)
            t_small, t_big, ratio = measure(timed(small), timed(big), args.rounds, args.min_sample)
            row = {
                "check": check,
                "input": name,
                "small_chars": len(small),
                "big_chars": len(big),
                "small_ms": t_small * 1e3,
                "big_ms": t_big * 1e3,
                "ratio": ratio,
                "pass": ratio <= TARGET,
            }
            rows.append(row)
            print(
                f"| {check} | {name} | {len(small)} | {row['small_ms']:.2f} | "
                f"{row['big_ms']:.2f} | {ratio:.1f}x | {'pass' if row['pass'] else 'FAIL'} |"
            )
    print()
    for check in args.checks.split(","):
        worst = max((r for r in rows if r["check"] == check), key=lambda r: r["ratio"])
        print(f"{check}: worst ratio {worst['ratio']:.1f}x ({worst['input']})")
    return rows


if __name__ == "__main__":
    main()
