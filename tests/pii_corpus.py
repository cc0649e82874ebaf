"""Personal-data tuning corpus: every format the detectors must redact, and look-alikes they
must leave alone.

This is the corpus the detectors in `optimizer/pii_detectors.py` were written against
(issue 13, part 4). Figures measured on it are tuning figures; the held-out canary under
`tests/heldout/` is written by someone else and measured separately.

Keys and tokens are fake: generated here from a fixed seed in each provider's published
format, so that no literal credential sits in the source.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

__all__ = ["BENIGN", "FORMATS", "PiiSample", "fake_token"]


@dataclass(frozen=True)
class PiiSample:
    """One realistic sentence carrying personal data.

    Attributes:
        format: the format's name (several samples share one).
        kind: the redaction kind expected (`[REDACTED_<KIND>]`).
        text: the sentence, as a user would write it.
        values: substrings that must not survive redaction.
    """

    format: str
    kind: str
    text: str
    values: tuple[str, ...]


_ALNUM = string.ascii_letters + string.digits


def fake_token(prefix: str, length: int, seed: int, alphabet: str = _ALNUM) -> str:
    """`prefix` and `length` characters drawn from `alphabet` with a fixed seed."""
    rng = random.Random(seed)
    return prefix + "".join(rng.choice(alphabet) for _ in range(length))


_OPENAI_PROJECT = fake_token("sk-proj-", 40, 1, _ALNUM + "_-") + "T3BlbkFJ" + fake_token("", 40, 2)
_OPENAI_LEGACY = fake_token("sk-", 20, 3) + "T3BlbkFJ" + fake_token("", 20, 4)
_ANTHROPIC = fake_token("sk-ant-api03-", 93, 5, _ALNUM + "_-") + "AA"
_ANTHROPIC_ADMIN = fake_token("sk-ant-admin01-", 93, 6, _ALNUM + "_-") + "AA"
_AWS_ID = fake_token("AKIA", 16, 7, string.ascii_uppercase + "234567")
_AWS_ID_2 = fake_token("ASIA", 16, 8, string.ascii_uppercase + "234567")
_AWS_SECRET = fake_token("", 40, 9, _ALNUM + "/+")
_AWS_SECRET_2 = fake_token("", 40, 10, _ALNUM + "/+")
_GITHUB_CLASSIC = fake_token("ghp_", 36, 11)
_GITHUB_FINE = fake_token("github_pat_11", 20, 12, string.ascii_uppercase + string.digits) + (
    fake_token("_", 59, 13)
)
_GITHUB_APP = fake_token("ghs_", 36, 14)
_SLACK_BOT = (
    f"xoxb-{fake_token('', 12, 15, string.digits)}-{fake_token('', 13, 16, string.digits)}-"
)
_SLACK_BOT += fake_token("", 24, 17)
_SLACK_USER = (
    f"xoxp-{fake_token('', 12, 18, string.digits)}-{fake_token('', 12, 19, string.digits)}"
)
_SLACK_USER += (
    f"-{fake_token('', 13, 20, string.digits)}-{fake_token('', 32, 21, 'abcdef0123456789')}"
)
_SLACK_HOOK = (
    f"https://hooks.slack.com/services/T{fake_token('', 8, 22, string.ascii_uppercase)}"
    f"/B{fake_token('', 10, 23, string.ascii_uppercase)}/{fake_token('', 24, 24)}"
)
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    + fake_token("", 43, 25, _ALNUM + "_-")
)
_JWT_2 = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYzEyMyJ9."
    "eyJlbWFpbCI6ImFubkBleGFtcGxlLm9yZyIsImV4cCI6MTc2NDQ2MDgwMH0."
    + fake_token("", 86, 26, _ALNUM + "_-")
)

FORMATS: tuple[PiiSample, ...] = (
    # --- the four kinds main already redacted -------------------------------------------
    PiiSample(
        "email",
        "email",
        "Send the summary to ann.lee@example.org please.",
        ("ann.lee@example.org",),
    ),
    PiiSample(
        "email",
        "email",
        "cc jorge.m+billing@correo.example.es on replies",
        ("jorge.m+billing@correo.example.es",),
    ),
    PiiSample("phone", "phone", "Call me back on +1 (415) 555-0134 after five.", ("555-0134",)),
    PiiSample("phone", "phone", "Mi móvil es +34 612 345 678, llámame.", ("612 345 678",)),
    PiiSample(
        "credit_card",
        "credit_card",
        "Charge it to 4111 1111 1111 1111, exp 09/28.",
        ("4111 1111 1111 1111",),
    ),
    PiiSample(
        "credit_card",
        "credit_card",
        "card no 5555-5555-5555-4444 is the new one",
        ("5555-5555-5555-4444",),
    ),
    PiiSample("ip", "ip", "My home server is at 81.2.69.142, allow it through.", ("81.2.69.142",)),
    PiiSample("ip", "ip", "login came from 203.0.113.77 yesterday", ("203.0.113.77",)),
    # --- bank accounts ------------------------------------------------------------------
    PiiSample(
        "iban_compact",
        "iban",
        "Refund to DE89370400440532013000 please.",
        ("DE89370400440532013000",),
    ),
    PiiSample(
        "iban_compact",
        "iban",
        "IBAN:NL91ABNA0417164300 (my Dutch account)",
        ("NL91ABNA0417164300",),
    ),
    PiiSample(
        "iban_compact",
        "iban",
        "pay IT60X0542811101000000123456 by Friday",
        ("IT60X0542811101000000123456",),
    ),
    PiiSample(
        "iban_spaced",
        "iban",
        "My IBAN is DE89 3704 0044 0532 0130 00.",
        ("DE89 3704 0044 0532 0130 00", "3704 0044 0532"),
    ),
    PiiSample(
        "iban_spaced",
        "iban",
        "Use GB29 NWBK 6016 1331 9268 19 for the deposit",
        ("GB29 NWBK 6016 1331 9268 19", "6016 1331 9268"),
    ),
    PiiSample(
        "iban_spaced",
        "iban",
        "virement sur FR14 2004 1010 0505 0001 3M02 606 merci",
        ("FR14 2004 1010 0505 0001 3M02 606", "2004 1010 0505"),
    ),
    # --- national ids -------------------------------------------------------------------
    PiiSample("uk_nino", "national_id", "My NI number is AB 12 34 56 C.", ("AB 12 34 56 C",)),
    PiiSample(
        "uk_nino", "national_id", "national insurance JG103759A, tax code 1257L", ("JG103759A",)
    ),
    PiiSample("es_dni", "national_id", "Mi DNI es 12345678Z, a nombre de Laura.", ("12345678Z",)),
    PiiSample("es_dni", "national_id", "NIE X-1234567-L para el contrato", ("X-1234567-L",)),
    PiiSample("es_dni", "national_id", "dni 45873219-H", ("45873219-H",)),
    PiiSample(
        "cn_resident_id",
        "national_id",
        "我的身份证号是11010519491231002X，请登记。",
        ("11010519491231002X",),
    ),
    PiiSample(
        "cn_resident_id",
        "national_id",
        "resident id 310115198706224815 for the visa",
        ("310115198706224815",),
    ),
    PiiSample("us_ssn", "national_id", "SSN 536-22-8901 on the W-9", ("536-22-8901",)),
    PiiSample("us_ssn", "national_id", "my social is 401-38-2290", ("401-38-2290",)),
    PiiSample("passport", "passport", "Passport number: 533380006, expires 2031.", ("533380006",)),
    PiiSample("passport", "passport", "Mi pasaporte es PAA123456.", ("PAA123456",)),
    PiiSample("passport", "passport", "Reisepass-Nr. C01X00T47 bitte speichern", ("C01X00T47",)),
    # --- addresses and birth dates ------------------------------------------------------
    PiiSample(
        "street_address",
        "address",
        "Ship it to 221B Baker Street, London NW1 6XE.",
        ("221B Baker Street",),
    ),
    PiiSample(
        "street_address",
        "address",
        "I live at 742 Evergreen Terrace, Springfield.",
        ("742 Evergreen Terrace",),
    ),
    PiiSample(
        "street_address",
        "address",
        "deliver to 1600 Pennsylvania Avenue NW tomorrow",
        ("1600 Pennsylvania Avenue",),
    ),
    PiiSample(
        "street_address_eu",
        "address",
        "Envíalo a Calle Mayor 12, 28013 Madrid.",
        ("Calle Mayor 12",),
    ),
    PiiSample(
        "street_address_eu",
        "address",
        "Meine Adresse: Hauptstraße 5, 10115 Berlin",
        ("Hauptstraße 5",),
    ),
    PiiSample(
        "street_address_eu",
        "address",
        "livrez au 12 rue de Rivoli, 75001 Paris",
        ("12 rue de Rivoli",),
    ),
    PiiSample(
        "name_with_dob",
        "date_of_birth",
        "Patient Maria Fernández, born 14/03/1987.",
        ("Maria Fernández", "14/03/1987"),
    ),
    PiiSample(
        "name_with_dob",
        "date_of_birth",
        "John Smith, DOB: 1985-07-22, needs a refill",
        ("John Smith", "1985-07-22"),
    ),
    PiiSample(
        "name_with_dob",
        "date_of_birth",
        "Priya Natarajan (date of birth 3 May 1979)",
        ("Priya Natarajan", "3 May 1979"),
    ),
    # --- keys and tokens ----------------------------------------------------------------
    PiiSample(
        "openai_key", "api_key", f"use my key {_OPENAI_PROJECT} for the tests", (_OPENAI_PROJECT,)
    ),
    PiiSample("openai_key", "api_key", f"OPENAI_API_KEY={_OPENAI_LEGACY}", (_OPENAI_LEGACY,)),
    PiiSample("anthropic_key", "api_key", f"here is the key: {_ANTHROPIC}", (_ANTHROPIC,)),
    PiiSample(
        "anthropic_key", "api_key", f'"x-api-key": "{_ANTHROPIC_ADMIN}"', (_ANTHROPIC_ADMIN,)
    ),
    PiiSample(
        "aws_key",
        "api_key",
        f"aws_access_key_id = {_AWS_ID}\naws_secret_access_key = {_AWS_SECRET}",
        (_AWS_ID, _AWS_SECRET),
    ),
    PiiSample(
        "aws_key",
        "api_key",
        f"temp creds {_AWS_ID_2} / secret key {_AWS_SECRET_2}",
        (_AWS_ID_2, _AWS_SECRET_2),
    ),
    PiiSample(
        "github_token",
        "api_key",
        f"git clone https://{_GITHUB_CLASSIC}@github.com/acme/x",
        (_GITHUB_CLASSIC,),
    ),
    PiiSample("github_token", "api_key", f"GITHUB_TOKEN: {_GITHUB_FINE}", (_GITHUB_FINE,)),
    PiiSample("github_token", "api_key", f"the app token {_GITHUB_APP} expired", (_GITHUB_APP,)),
    PiiSample("slack_token", "api_key", f"bot token {_SLACK_BOT}", (_SLACK_BOT,)),
    PiiSample("slack_token", "api_key", f"SLACK_USER_TOKEN='{_SLACK_USER}'", (_SLACK_USER,)),
    PiiSample("slack_token", "api_key", f"post alerts to {_SLACK_HOOK}", (_SLACK_HOOK,)),
    PiiSample("jwt", "jwt", f"Authorization: Bearer {_JWT}", (_JWT,)),
    PiiSample("jwt", "jwt", f"my session cookie is {_JWT_2}; it keeps expiring", (_JWT_2,)),
    # --- disguised contact details ------------------------------------------------------
    PiiSample(
        "email_obfuscated",
        "email",
        "write to ann.lee at example dot org instead",
        ("ann.lee at example dot org",),
    ),
    PiiSample(
        "email_obfuscated",
        "email",
        "contact: j.doe [at] mail [dot] example [dot] com",
        ("j.doe [at] mail [dot] example [dot] com",),
    ),
    PiiSample(
        "email_obfuscated",
        "email",
        "reach bob(at)example(dot)co(dot)uk anytime",
        ("bob(at)example(dot)co(dot)uk",),
    ),
    PiiSample(
        "email_obfuscated", "email", "mail me: ann {at} example.com", ("ann {at} example.com",)
    ),
    PiiSample(
        "phone_words",
        "phone",
        "call plus four four seven nine four six, zero nine five eight",
        ("seven nine four six", "zero nine five eight"),
    ),
    PiiSample(
        "phone_words",
        "phone",
        "my number is five five five, oh one three four, two two",
        ("five five five, oh one three four",),
    ),
    PiiSample(
        "phone_words",
        "phone",
        "llámame al seis uno dos tres cuatro cinco seis siete ocho",
        ("seis uno dos tres cuatro cinco seis siete ocho",),
    ),
)
"""Every format, at least two realistic examples each."""

BENIGN: tuple[str, ...] = (
    # order numbers, tracking ids, tickets
    "Order 1234567 shipped; tracking 1Z999AA10123456784.",
    "Ticket JIRA-12345 and PR #4821 are linked.",
    "Invoice INV-2026-000123 is overdue by 14 days.",
    "Your reference is REF-88-2231-0097.",
    "Part number AB123456 is out of stock.",
    "The batch id 202611300000123454 failed to import.",
    "SKU DE12ABC345678901 is discontinued.",
    "Use ticket 12345678A for the refund (internal code).",
    # dates, times, prices, quantities
    "Meeting moved to 2026-11-22 at 10:30-11:45.",
    "Invoice date 14/03/2026, due 14.04.2026.",
    "It costs $1,299.00 or EUR 45,90 per month.",
    "Screen is 1920x1080 at 144 Hz; 3 x 4 = 12.",
    "The project was born in 2019 as a side project.",
    "Birthday party on Friday, bring cake!",
    "Deliver between 9 and 17 on weekdays.",
    # versions, code and hashes
    "Upgrade to Python 3.11.7 and langchain v1.0.2.",
    "Release 2026.11.19 fixes the build on v2.14.3.",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 broke the tests",
    "digest sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "request id 550e8400-e29b-41d4-a716-446655440000 timed out",
    "for i in range(10):\n    print(i * 0x7fffffff)",
    "server listens on localhost:8080, workers=4",
    "Set api_key=YOUR_API_KEY and token=${SLACK_TOKEN} in .env",
    "Tokens start with ghp_ or xoxb- and AWS keys with AKIA.",
    "Use sk-learn-style estimators in the pipeline.",
    "The eyJ prefix means base64 JSON.",
    "class TaskForceAlphaBravoCharlie(BaseModel): pass",
    "Copy https://docs.example.com/guide#section-2 into the README.",
    # words that look like disguised contact details
    "Look at the data dot points on the chart.",
    "We meet at noon at the office.",
    "Keep replies to one or two sentences.",
    "Open seven days a week, from nine to five.",
    "@mention the team at standup.",
    # text that looks like addresses
    "Chapter 12 Main Points are in the appendix.",
    "Top 10 Places to visit in spring.",
    "Read 3 Court Hearings summaries first.",
    "Passport photos must be 35x45mm.",
    "The passport renewal form is DS-82.",
    "Your NI contributions are up to date.",
    "Wir treffen uns um 15 Uhr am Bahnhof.",
    "Reunión el 3 de mayo a las 10.",
)
"""Realistic benign text: nothing in it may be redacted."""
