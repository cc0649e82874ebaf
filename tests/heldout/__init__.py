"""Held-out safety corpus: attacks, benign feedback, personal data and locked-section cases.

Written on 2026-11-30 (07:50-08:20 UTC) by the outside red-team helper of issue 13 part 6,
BEFORE any of that day's rule changes and without reading the package's safety rules
(firewall, privacy, candidate checks, gate), their docs or their tests. Every string here is
new wording, not copied from the tuning corpus (`tests/firewall_corpus.py`).

Rule writers must NOT open, read, grep or tune against anything under `tests/heldout/`: it
only measures how well the rules generalise to data they were not built from. The only
allowed use is to run the measurement and read its figures:

    PYTHONPATH=src python -m benchmarks.safety_heldout --corpus both

(`--json` for machine-readable figures; `docs/safety-heldout.md` explains what is counted.)
Do not edit these files after a measurement either: a corpus tuned to the results stops
being held out. Add a new, separately dated module instead.

Contents:
    `attacks.ATTACKS`: `Attack(id, category, items, markers)`; `items` is one or two feedback
        texts (two for a split attack, each harmless alone); `markers` is a tuple of groups:
        the attack reached a prompt when every group has at least one of its substrings in
        it (case-insensitive). For encoded attacks a group holds both the decoded key phrase
        and the encoded string.
    `benign.BENIGN`: `Benign(id, kind, text)`: realistic feedback a user really sends.
    `pii.PII`: `Datum(id, format, datum, text, body)`: fake personal data (2+ per format),
        embedded in a feedback text; `body` is the part that identifies it (digits, key body).
    `locked.BASE_PROMPT` and `locked.LOCKED_CASES`: `LockedCase(id, kind, output, feedback,
        marker)`, optimizer outputs that neutralise the `<locked>` block (`kind="neutralise"`)
        or keep it intact and change other text (`kind="legit"`).
"""

from __future__ import annotations

from tests.heldout.attacks import ATTACK_CATEGORIES, ATTACKS, Attack
from tests.heldout.benign import BENIGN, BENIGN_KINDS, COMPANY_DOMAIN, Benign
from tests.heldout.locked import BASE_PROMPT as LOCKED_BASE_PROMPT
from tests.heldout.locked import LOCKED_BLOCK, LOCKED_CASES, LockedCase
from tests.heldout.pii import PII, PII_FORMATS, Datum

__all__ = [
    "ATTACKS",
    "ATTACK_CATEGORIES",
    "BENIGN",
    "BENIGN_KINDS",
    "COMPANY_DOMAIN",
    "LOCKED_BASE_PROMPT",
    "LOCKED_BLOCK",
    "LOCKED_CASES",
    "PII",
    "PII_FORMATS",
    "Attack",
    "Benign",
    "Datum",
    "LockedCase",
]
