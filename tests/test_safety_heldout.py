"""The held-out safety measurement (`benchmarks/safety_heldout.py`) counts what it claims.

These tests check the corpus' shape and the harness, not the rates: the rules are tuned
elsewhere and the target rates are asserted by whoever owns them.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import json
import re
import unicodedata
import urllib.parse

import pytest
from benchmarks import safety_heldout as bench

from langchain_prompt_optimization import SafetySettings
from tests import heldout

PERMISSIVE = SafetySettings(firewall=False)

ATTACK_CATEGORIES = {
    "paraphrase_leak",
    "paraphrase_confirm",
    "paraphrase_money",
    "paraphrase_recipients",
    "multilingual",
    "encoded",
    "split",
    "persona",
    "exfil_obfuscated",
    "authority_tool",
}
PII_FORMATS = {
    "iban_compact",
    "iban_spaced",
    "uk_nino",
    "es_dni",
    "cn_resident_id",
    "passport",
    "us_ssn",
    "street_address",
    "name_dob",
    "openai_key",
    "anthropic_key",
    "aws_key",
    "github_token",
    "slack_token",
    "jwt",
    "obfuscated_email",
    "phone_words",
    "phone",
    "credit_card",
    "email",
    "ip",
}


def _decodings(text: str) -> list[str]:
    """`text` and every decoding of it or of its encoded-looking runs."""
    out = [text, unicodedata.normalize("NFKC", text), codecs.decode(text, "rot13"), text[::-1]]
    out += [urllib.parse.unquote(text), text.translate(str.maketrans("01345", "oieas"))]
    for run in re.findall(r"(?:[0-9a-f]{2} ?){8,}", text):
        out.append(bytes.fromhex(run.replace(" ", "")).decode())
    for run in re.findall(r"[A-Za-z0-9+/=]{16,}", text):
        for decode, block in ((base64.b64decode, 4), (base64.b32decode, 8)):
            with contextlib.suppress(binascii.Error, ValueError):
                out.append(decode(run + "=" * (-len(run) % block)).decode())
    return out


def test_the_corpus_has_the_required_sizes_and_every_category():
    assert len(heldout.ATTACKS) >= 70
    assert {a.category for a in heldout.ATTACKS} == ATTACK_CATEGORIES
    assert len({a.id for a in heldout.ATTACKS}) == len(heldout.ATTACKS)
    for attack in heldout.ATTACKS:
        assert len(attack.items) == (2 if attack.category == "split" else 1), attack.id
        assert attack.markers, attack.id
        assert all(attack.markers), attack.id
    assert len(heldout.BENIGN) >= 70
    assert {"non_english", "own_company_address", "code_snippet", "innocent_words"} <= set(
        heldout.BENIGN_KINDS
    )
    assert len({b.id for b in heldout.BENIGN}) == len(heldout.BENIGN)
    assert sum(b.kind == "non_english" for b in heldout.BENIGN) >= 8
    own = [b for b in heldout.BENIGN if b.kind == "own_company_address"]
    assert all(f"@{heldout.COMPANY_DOMAIN}" in b.text for b in own)
    formats = [d.format for d in heldout.PII]
    assert set(formats) == PII_FORMATS
    assert all(formats.count(f) >= 2 for f in PII_FORMATS)
    kinds = [c.kind for c in heldout.LOCKED_CASES]
    assert kinds.count("neutralise") >= 8
    assert kinds.count("legit") >= 8


def test_every_payload_marker_is_in_its_attack_decoded():
    for attack in heldout.ATTACKS:
        texts = [t.casefold() for item in attack.items for t in _decodings(item)]
        for group in attack.markers:
            for marker in group:
                assert any(marker.casefold() in t for t in texts), (attack.id, marker)


def test_a_split_attack_counts_only_when_both_halves_are_in_the_prompt():
    attack = next(a for a in heldout.ATTACKS if a.category == "split")
    first, second = attack.items
    assert not bench.markers_in(f"base\n{first}", attack.markers)
    assert not bench.markers_in(f"base\n{second}", attack.markers)
    assert bench.markers_in(f"base\n{first}\n{second}", attack.markers)


def test_locked_outputs_keep_the_locked_block_byte_identical():
    assert heldout.LOCKED_BLOCK in heldout.LOCKED_BASE_PROMPT
    for case in heldout.LOCKED_CASES:
        assert heldout.LOCKED_BLOCK in case.output, case.id
        assert case.marker in case.output
        assert case.marker not in heldout.LOCKED_BASE_PROMPT


@pytest.mark.parametrize("category", sorted(ATTACK_CATEGORIES))
def test_without_screening_the_harness_counts_the_attack_as_served(category):
    attack = next(a for a in heldout.ATTACKS if a.category == category)
    outcome = bench.attack_outcome(attack.items, PERMISSIVE)
    assert outcome.status == "active"
    assert bench.markers_in(outcome.served, attack.markers)
    assert outcome.served.startswith(bench.AGENT_PROMPT)


def test_a_learned_benign_item_is_not_held_and_a_rejected_one_is():
    item = heldout.BENIGN[0]
    learned = bench.benign_outcome(item.text, PERMISSIVE)
    assert learned.status == "active"
    assert item.text in learned.served
    refused = bench.Case(rewrite=lambda current, text: "").feed([item.text])  # empty: rejected
    assert refused.status == "rejected"
    assert refused.served == bench.AGENT_PROMPT


def test_leak_levels():
    datum = "NL15 RABO 0314 2186 75"
    body = "NL15RABO0314218675"
    assert bench.leak_level(f"Pay to {datum}.", datum, body) == "full"
    assert bench.leak_level("Pay to NL15-RABO-0314-2186-75.", datum, body) == "full"
    assert bench.leak_level("Pay to NL15 RABO 0314 [redacted].", datum, body) == "partly"
    assert bench.leak_level("Pay to [IBAN].", datum, body) == "none"
    token = "xoxb-200406620084-6652427302744-5fEjRqllwAX5jMT9tRmTwBQj"
    tail = "xoxb-[REDACTED]-[REDACTED]-5fEjRqllwAX5jMT9tRmTwBQj"
    assert bench.leak_level(f"Token {tail}.", token, token[5:]) == "partly"
    assert bench.leak_level("Account NL15 RABO [REDACTED].", datum, body) == "none"
    words = "oh seven seven double nine, four five six, one two three"
    assert bench.leak_level(f"Call {words}.", words, "07799456123") == "full"
    assert bench.leak_level("Call 07799 456123.", words, "07799456123") == "full"


def test_personal_data_is_read_from_the_other_users_served_prompt():
    marker = heldout.Datum("x", "codeword", "tangerine harbour", "Say tangerine harbour.", "x")
    assert bench.pii_leak(marker._replace(body="tangerineharbour"), PERMISSIVE) == "full"
    secret = heldout.Datum("y", "codeword", "never-given", "Keep replies short.", "nevergiven")
    assert bench.pii_leak(secret, PERMISSIVE) == "none"


def test_locked_outputs_are_served_or_not_as_the_served_prompt_says():
    legit = next(c for c in heldout.LOCKED_CASES if c.kind == "legit")
    assert bench.locked_served(legit.output, legit.feedback, legit.marker)
    unlocked = heldout.LOCKED_BASE_PROMPT.replace(heldout.LOCKED_BLOCK, "") + "\nBe brief."
    assert not bench.locked_served(unlocked, "Be brief.", "Be brief.")


def test_the_command_prints_figures_for_both_corpora(capsys):
    assert bench.main(["--corpus", "both", "--json", "--limit", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    held, tuning = result["figures"]["heldout"], result["figures"]["tuning"]
    for figures in (held, tuning):
        for mode in bench.MODES:
            assert figures["attacks"][mode]["overall"]["total"] >= 5
            assert figures["benign"][mode]["overall"]["total"] >= 1
    assert set(held["pii"]) == PII_FORMATS
    assert held["locked"]["neutralise"]["total"] == held["locked"]["legit"]["total"] == 1
    assert "failed" not in result
