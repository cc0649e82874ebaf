"""`promptopt` start-up: `--help` and `users` against importing the SQLite store (issue 11, item 4).

Each sample is one fresh Python process, timed from start to exit:

- `baseline`: `python -c "import langgraph.store.sqlite"`, the floor for any command that
  reads a SQLite store;
- `help`: `promptopt --help`;
- `users`: `promptopt --store sqlite:///... users` on a store of `--users` users (default 50).

`promptopt` is run as its console script does (`from ...review.cli import main`), with this
checkout's `src/` first on `PYTHONPATH` and its bytecode cached in a temporary
`PYTHONPYCACHEPREFIX` (as for an installed package; `PYTHONDONTWRITEBYTECODE` is cleared for
the children, else every run would compile the package's sources). Rounds interleave the
three commands, the order alternating from round to round; the table reports medians and the
ratio to the baseline
(target for `users`: at most 1.3x). One untimed run of each command lists the heavy modules it
imported (LangChain's agent stack, langmem, agentevals): there should be none.

Run with `make bench` or `python -m benchmarks.cli_startup --rounds 15`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3
HEAVY = ("langchain.agents", "langmem", "agentevals")

_CLI = "import sys; from langchain_prompt_optimization.review.cli import main; sys.exit(main())"
_PROBE = (
    "import sys\n"
    "from langchain_prompt_optimization.review.cli import main\n"
    "try:\n"
    "    code = main()\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
    f"or m.startswith('langchain.agents'))\n"
    "sys.stderr.write('HEAVY ' + ' '.join(heavy) + '\\n')\n"
)


def environment(pycache: str) -> dict[str, str]:
    """The child processes' environment: this checkout's code, compiled once into `pycache`
    (as an installed package is: without it every run would compile the package's sources,
    which the installed baseline never does), and no store from the caller."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PYTHONPYCACHEPREFIX": pycache,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PROMPTOPT_STORE", None)
    return env


def commands(uri: str) -> dict[str, list[str]]:
    """What is timed, by label."""
    return {
        "baseline": [sys.executable, "-c", "import langgraph.store.sqlite"],
        "help": [sys.executable, "-c", _CLI, "--help"],
        "users": [sys.executable, "-c", _CLI, "--store", uri, "users"],
    }


def populate(uri: str, users: int) -> None:
    """A SQLite store with `users` users, two versions each (the layout's own records)."""
    from benchmarks.pin_at_scale import populate as write_users
    from langchain_prompt_optimization import open_store

    store = open_store(uri)
    try:
        write_users(store, users, versions=2)
    finally:
        store.conn.close()  # type: ignore[attr-defined]


def heavy_modules(argv: list[str], env: dict[str, str]) -> list[str]:
    """The heavy modules `promptopt ARGV` imports (one untimed run)."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    line = next((ln for ln in done.stderr.splitlines() if ln.startswith("HEAVY")), None)
    if line is None:
        msg = f"probe failed: {done.stderr}"
        raise RuntimeError(msg)
    return line.split()[1:]


def time_once(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(uri: str, rounds: int, env: dict[str, str]) -> dict[str, float]:
    """Median seconds per process of each command, rounds interleaved, order alternating."""
    timed = commands(uri)
    labels = list(timed)
    for label in labels:  # warm the page cache and write the .pyc files
        time_once(timed[label], env)
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for number in range(rounds):
        for label in labels if number % 2 == 0 else labels[::-1]:
            samples[label].append(time_once(timed[label], env))
    return {label: statistics.median(values) for label, values in samples.items()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see `--help`)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--users", type=int, default=50, help="users in the SQLite store")
    parser.add_argument("--tmp", default=None, help="directory for the SQLite file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        uri = f"sqlite:///{tmp}/cli.db"
        populate(uri, args.users)
        env = environment(os.path.join(tmp, "pycache"))
        heavy = {
            "help": heavy_modules(["--help"], env),
            "users": heavy_modules(["--store", uri, "users"], env),
        }
        medians = measure(uri, args.rounds, env)
    print(
        f"{args.rounds} rounds, interleaved (order alternating), medians per process; "
        f"store: {args.users} users\n"
    )
    print("| command | median (ms) | / baseline | target | heavy modules imported |")
    print("|---|---|---|---|---|")
    base = medians["baseline"]
    row: dict[str, Any] = {"baseline_ms": base * 1e3, "heavy": heavy}
    print(f'| `python -c "import langgraph.store.sqlite"` | {base * 1e3:.0f} | 1.00x | | |')
    for label, shown, target in (
        ("help", "`promptopt --help`", ""),
        ("users", "`promptopt --store sqlite:///... users`", f"<= {TARGET}x"),
    ):
        ratio = medians[label] / base
        row[f"{label}_ms"] = medians[label] * 1e3
        row[f"{label}_ratio"] = ratio
        verdict = "" if not target else (" pass" if ratio <= TARGET else " MISS")
        print(
            f"| {shown} | {medians[label] * 1e3:.0f} | {ratio:.2f}x | {target}{verdict} "
            f"| {', '.join(heavy[label]) or 'none'} |"
        )
    return row


if __name__ == "__main__":
    main()
