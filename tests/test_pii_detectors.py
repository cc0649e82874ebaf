"""Personal-data detectors (issue 13, part 4): every format of the tuning corpus is redacted,
its benign look-alikes are not, and none reaches another user's served prompt in global
scope through `create_agent`."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.store.memory import InMemoryStore

from langchain_prompt_optimization import PromptRegistry
from langchain_prompt_optimization.optimizer import pii_detectors, privacy
from langchain_prompt_optimization.optimizer.privacy import (
    PII_TYPES,
    added_personal_data,
    find_pii,
    redact_pii,
)
from langchain_prompt_optimization.testing import append_feedback
from tests.conftest import make_harness
from tests.pii_corpus import BENIGN, FORMATS, PiiSample
from tests.test_privacy import copy_everything

_BY_FORMAT: dict[str, list[PiiSample]] = {}
for _sample in FORMATS:
    _BY_FORMAT.setdefault(_sample.format, []).append(_sample)


@pytest.mark.parametrize("sample", FORMATS, ids=lambda s: f"{s.format}:{s.text[:24]}")
def test_every_format_is_redacted_with_its_marker(sample: PiiSample):
    redacted = redact_pii(sample.text)
    for value in sample.values:
        assert value not in redacted
    assert f"[REDACTED_{sample.kind.upper()}]" in redacted
    assert {m["type"] for m in find_pii(sample.text)} <= set(PII_TYPES)


@pytest.mark.parametrize("text", BENIGN)
def test_benign_look_alikes_are_left_alone(text: str):
    assert find_pii(text) == []
    assert redact_pii(text) == text


def test_every_format_has_two_examples_and_the_corpus_has_the_issue_formats():
    assert all(len(samples) >= 2 for samples in _BY_FORMAT.values())
    assert {
        "iban_compact", "iban_spaced", "uk_nino", "es_dni", "cn_resident_id", "passport",
        "street_address", "name_with_dob", "openai_key", "anthropic_key", "aws_key",
        "github_token", "slack_token", "jwt", "email_obfuscated", "phone_words",
    } <= set(_BY_FORMAT)  # fmt: skip


def test_a_spaced_iban_is_one_iban_not_cut_apart_by_the_phone_detector():
    text = "IBAN DE89 3704 0044 0532 0130 00, thanks"
    assert privacy.detect_phone(text)  # the phone detector alone takes a piece of it
    (match,) = find_pii(text)
    assert match["type"] == "iban"
    assert match["value"] == "DE89 3704 0044 0532 0130 00"
    assert redact_pii(text) == "IBAN [REDACTED_IBAN], thanks"


def test_overlapping_matches_merge_into_one_span_named_by_the_most_specific_detector(
    monkeypatch,
):
    """A later detector's match that sticks out of an earlier one is not dropped (its
    outer part would be left in clear): the span redacted covers both."""

    def spans(kind: str, *pairs: tuple[int, int]):
        return lambda text: [
            {"type": kind, "value": text[s:e], "start": s, "end": e} for s, e in pairs
        ]

    monkeypatch.setattr(privacy, "_DETECTORS", (
        ("iban", spans("iban", (4, 10))),
        ("phone", spans("phone", (0, 6), (8, 14), (20, 24))),
    ))  # fmt: skip
    text = "0123456789abcdefghijklmnopqrstuvwxyz"
    assert [(m["type"], m["start"], m["end"]) for m in find_pii(text)] == [
        ("iban", 0, 14),
        ("phone", 20, 24),
    ]
    assert redact_pii(text) == "[REDACTED_IBAN]efghij[REDACTED_PHONE]opqrstuvwxyz"


@pytest.mark.parametrize(
    ("detector", "text"),
    [
        ("detect_iban", "DE88370400440532013000"),  # check digits wrong
        ("detect_iban", "GB29 NWBK 6016 1331 9268 1"),  # too short for GB
        ("detect_national_id", "12345678A"),  # DNI letter wrong (Z)
        ("detect_national_id", "X1234567A"),  # NIE letter wrong (L)
        ("detect_national_id", "310115198706224816"),  # resident id check digit wrong
        ("detect_national_id", "310115198713224815"),  # born in month 13
        ("detect_national_id", "000-12-3456"),  # SSN area 000
        ("detect_passport", "passport office opens at 9, room B12"),
        ("detect_api_key", f"sk-{'a' * 30}"),  # no digits: a placeholder, not a key
        ("detect_obfuscated_email", "Look at this dot grid"),  # "grid" is no domain
    ],
)
def test_validation_rejects_look_alikes(detector: str, text: str):
    assert getattr(pii_detectors, detector)(text) == []


def test_names_are_redacted_only_next_to_a_date_of_birth():
    assert redact_pii("Maria Fernández, born 14/03/1987.") == (
        "[REDACTED_NAME], born [REDACTED_DATE_OF_BIRTH]."
    )
    assert redact_pii("Maria Fernández approved the refund on 14/03/2026.") == (
        "Maria Fernández approved the refund on 14/03/2026."
    )


def test_added_personal_data_reports_only_what_the_candidate_adds():
    before = "You help. Support line: +1 (415) 555-0134."
    candidate = f"{before}\nBill DE89370400440532013000; mail ann at example dot org."
    added = added_personal_data(candidate, before)
    assert [m["type"] for m in added] == ["iban", "email"]
    assert added_personal_data(before, before) == []
    assert added_personal_data("Refund to [REDACTED_IBAN] as asked.", "") == []


def test_detectors_are_exported_with_the_langchain_match_shape():
    for name in pii_detectors.__all__:
        for match in getattr(pii_detectors, name)("nothing personal here"):
            raise AssertionError(match)
    (match,) = pii_detectors.detect_jwt(
        "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcDEF123_-x end"
    )
    assert set(match) == {"type", "value", "start", "end"}


# --- through create_agent ---------------------------------------------------------------


def _values(samples: list[PiiSample]) -> list[str]:
    return [value for sample in samples for value in sample.values]


@pytest.mark.parametrize("rewrite", [append_feedback, copy_everything])
@pytest.mark.parametrize("fmt", list(_BY_FORMAT))
def test_no_format_reaches_another_users_served_prompt_in_global_scope(fmt, rewrite):
    samples = _BY_FORMAT[fmt]
    texts = " ".join(s.text for s in samples)
    store = InMemoryStore()
    h = make_harness(store, rewrite=rewrite, scope="global", require_approval=False,
                     firewall=False)  # fmt: skip
    run = h.ask("ann", f"Please note: {texts}")
    h.middleware.add_feedback(run["trajectory_id"], f"Remember this: {texts}")
    h.ask("bob")
    served = h.model.requests[-1].system_prompt or ""
    assert f"[REDACTED_{samples[0].kind.upper()}]" in served  # the feedback was learned
    assert [value for value in _values(samples) if value in served] == []
    for version in PromptRegistry(store).history("bob"):
        assert not any(value in version.text for value in _values(samples))


def test_without_global_scope_the_same_feedback_would_reach_the_prompt():
    """Control: in user scope the compliant optimizer copies Ann's data into Ann's own
    prompt, so the test above fails without the redaction."""
    h = make_harness(InMemoryStore(), rewrite=append_feedback, firewall=False)
    sample = _BY_FORMAT["iban_spaced"][0]
    h.middleware.add_feedback(h.ask("ann")["trajectory_id"], sample.text)
    h.ask("ann")
    assert sample.values[0] in (h.model.requests[-1].system_prompt or "")


def test_no_format_reaches_another_user_async():
    samples = [group[0] for group in _BY_FORMAT.values()]
    texts = " ".join(s.text for s in samples)

    async def scenario() -> str:
        h = make_harness(InMemoryStore(), rewrite=append_feedback, scope="global",
                         require_approval=False, firewall=False)  # fmt: skip
        run = await h.aask("ann", texts)
        await h.middleware.aadd_feedback(run["trajectory_id"], texts)
        await h.aask("bob")
        return h.model.requests[-1].system_prompt or ""

    served = asyncio.run(scenario())
    assert "[REDACTED_IBAN]" in served
    assert [value for value in _values(samples) if value in served] == []


@pytest.mark.parametrize("sample", [group[0] for group in _BY_FORMAT.values()],
                         ids=lambda s: s.format)  # fmt: skip
def test_a_candidate_that_adds_personal_data_to_a_global_prompt_is_held(sample: PiiSample):
    def add_sample(current: str, text: str) -> str:
        return f"{current}\n{sample.text}"

    store = InMemoryStore()
    h = make_harness(store, rewrite=add_sample, scope="global", require_approval=False,
                     firewall=False)  # fmt: skip
    h.middleware.add_feedback(h.ask("ann")["trajectory_id"], "Add our contact details.")
    latest = PromptRegistry(store).history("ann")[0]
    assert latest.status == "pending"
    assert latest.flagged
    assert "adds personal data" in latest.reason
    assert sample.kind in latest.reason
    h.ask("bob")
    served = h.model.requests[-1].system_prompt or ""
    assert not any(value in served for value in sample.values)


def test_the_hostile_input_benchmark_measures_every_detector():
    from benchmarks import hostile_inputs

    measured = set(hostile_inputs.FUNCTIONS)
    assert {f"pii_detectors.{name}" for name in pii_detectors.__all__} <= measured
    assert {"find_pii", "redact_pii"} <= measured
