"""Personal data in shared prompts: redact it before the optimizer, find it in candidates.

In `scope="global"` one lineage is served to every user, so one user's contact details,
ids, bank accounts, keys or birth date must never reach it. Card numbers (Luhn checked),
IPs and MAC addresses are found with the detectors of langchain's `PIIMiddleware`, emails
with a linear-time equivalent of its detector, and the kinds it has no detector for (phone
numbers, IBANs, national ids, passports, addresses, dates of birth, API keys, JWTs,
disguised emails and phone numbers) with `detect_phone` below and `pii_detectors`.
Redaction writes `PIIMiddleware`'s markers (`[REDACTED_EMAIL]`), in the same style for
the new kinds (`[REDACTED_IBAN]`).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware.pii import (
    PIIMatch,
    detect_credit_card,
    detect_ip,
    detect_mac_address,
)

from langchain_prompt_optimization.optimizer.pii_detectors import (
    detect_address,
    detect_api_key,
    detect_date_of_birth,
    detect_iban,
    detect_jwt,
    detect_national_id,
    detect_obfuscated_email,
    detect_passport,
    detect_spelled_phone,
)

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = [
    "PII_TYPES",
    "added_personal_data",
    "detect_email",
    "detect_phone",
    "find_pii",
    "map_text",
    "redact_json",
    "redact_pii",
]

_PHONE = re.compile(
    r"(?=[+(\d])(?<![\w+])(?<!\w-)(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,14}\b"
)
_PHONE_DIGITS = (7, 15)
_BARE_PHONE_DIGITS = 10
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def detect_phone(content: str) -> list[PIIMatch]:
    """Phone numbers: 7 to 15 digits with optional `+country`, `(area)` and separators.

    Dates (`2026-11-22`, `22.11.2026`) are not phone numbers, nor bare digit runs shorter
    than 10 digits (order numbers). Digit runs glued to letters or underscores (ids such
    as `call_0123456789`), or hyphenated onto them (`INV-2026-000123`, the tail of a UUID),
    are skipped.
    """
    found: list[PIIMatch] = []
    for match in _PHONE.finditer(content):
        value = match.group().strip()
        digits = sum(ch.isdigit() for ch in value)
        if not _PHONE_DIGITS[0] <= digits <= _PHONE_DIGITS[1] or _DATE_LIKE.match(value):
            continue
        if value.isdigit() and digits < _BARE_PHONE_DIGITS:
            continue  # a bare digit run shorter than a full number is an order id
        found.append(PIIMatch(type="phone", value=value, start=match.start(), end=match.end()))
    return found


# langchain's email pattern is `\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b`. Tried
# at every position, its local part rescans the rest of a long run with no `@`. Here each
# maximal run of local-part characters is scanned once, and only runs ending in `@` go on.
_EMAIL_LOCAL_RUN = re.compile(r"(?=[A-Za-z0-9._%+-])(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}\b")


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def detect_email(content: str) -> list[PIIMatch]:
    """Email addresses: exactly the matches of langchain's `detect_email`, in linear time."""
    found: list[PIIMatch] = []
    done = 0  # end of the last match: matches do not overlap
    for run in _EMAIL_LOCAL_RUN.finditer(content):
        at = run.end()
        if at >= len(content) or content[at] != "@":
            continue
        domain = _EMAIL_DOMAIN.match(content, at + 1)
        if domain is None:
            continue
        # the leftmost start in the run where `\b` holds, as the regex would find it
        start = next(
            (
                i
                for i in range(max(run.start(), done), at)
                if (i > 0 and _is_word(content[i - 1])) != _is_word(content[i])
            ),
            None,
        )
        if start is None:
            continue
        end = domain.end()
        found.append(PIIMatch(type="email", value=content[start:end], start=start, end=end))
        done = end
    return found


_DETECTORS: tuple[tuple[str, Callable[[str], list[PIIMatch]]], ...] = (
    ("api_key", detect_api_key),
    ("jwt", detect_jwt),
    ("iban", detect_iban),
    ("national_id", detect_national_id),
    ("credit_card", detect_credit_card),
    ("email", detect_email),
    ("email", detect_obfuscated_email),
    ("passport", detect_passport),
    ("date_of_birth", detect_date_of_birth),
    ("address", detect_address),
    ("mac_address", detect_mac_address),
    ("ip", detect_ip),
    ("phone", detect_spelled_phone),
    ("phone", detect_phone),
)
"""Every detector, most specific first: where matches overlap, the first one's kind names
the redacted span (a spaced IBAN is an IBAN, not a phone number)."""

PII_TYPES: tuple[str, ...] = (
    "address",
    "api_key",
    "credit_card",
    "date_of_birth",
    "email",
    "iban",
    "ip",
    "jwt",
    "mac_address",
    "name",
    "national_id",
    "passport",
    "phone",
)
"""What is redacted, as the `<TYPE>` of `[REDACTED_<TYPE>]`. `name` is a person's name
written next to a date of birth."""


def find_pii(text: str) -> list[PIIMatch]:
    """Every personal-data match in `text`, in order, without overlaps.

    Overlapping matches merge into one span covering them all, named by the most specific
    detector among them (the order of `_DETECTORS`): no part of a match is left out because
    another detector took a piece of it (a phone number inside a spaced IBAN, the last 15
    digits of a resident id). One sort and one sweep over all matches.
    """
    ranked = sorted(
        (match["start"], rank, match["end"], match["type"])
        for rank, (_, detector) in enumerate(_DETECTORS)
        for match in detector(text)
    )
    merged: list[PIIMatch] = []
    best = len(_DETECTORS)
    for start, rank, end, kind in ranked:
        if merged and start < merged[-1]["end"]:
            last = merged[-1]
            if end > last["end"]:
                last["end"] = end
            if rank < best:
                last["type"], best = kind, rank
            continue
        merged.append(PIIMatch(type=kind, value="", start=start, end=end))
        best = rank
    for match in merged:
        match["value"] = text[match["start"] : match["end"]]
    return merged


def added_personal_data(candidate: str, before: str) -> list[PIIMatch]:
    """Personal data in `candidate` that `before` does not already contain.

    The candidate check for a prompt shared by all users: a candidate for which this is not
    empty adds someone's data to the shared prompt and must be held for review. A value
    that `before` already carries (a support line the prompt's author wrote) is not new.

    Args:
        candidate: the proposed prompt text.
        before: the prompt it would replace (the served version), or `""`.

    Returns:
        The new matches, in order (empty when the candidate adds none).

    Example:
        >>> [m["type"] for m in added_personal_data("Bill to DE89370400440532013000.", "")]
        ['iban']
    """
    known = {match["value"] for match in find_pii(before)} if before else set()
    return [match for match in find_pii(candidate) if match["value"] not in known]


def redact_pii(text: str) -> str:
    """`text` with each personal-data match replaced by `[REDACTED_<TYPE>]`.

    The marker is the one langchain's `PIIMiddleware` writes with its `redact` strategy.
    """
    matches = find_pii(text)
    if not matches:
        return text
    out: list[str] = []
    last = 0
    for match in matches:
        out.append(text[last : match["start"]])
        out.append(f"[REDACTED_{match['type'].upper()}]")
        last = match["end"]
    out.append(text[last:])
    return "".join(out)


_STRUCTURAL_KEYS = frozenset({"id", "tool_call_id", "type", "name", "role"})


def map_text(value: Any, fn: Callable[[str], str], *, messages: bool = True) -> Any:
    """A JSON value (a recorded message, a feedback dict) with `fn` applied to every string,
    and to every number `fn` would change (a phone number stored as an int).

    With `messages=True` identifiers and message structure (`id`, `tool_call_id`, `type`,
    `name`, `role`) are left alone so the messages still load; otherwise (free-form data
    such as a feedback dict) keys and every value go through `fn` too.
    """
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        changed = fn(str(value))
        return value if changed == str(value) else changed
    if isinstance(value, list):
        return [map_text(item, fn, messages=messages) for item in value]
    if isinstance(value, dict):
        if messages:
            return {
                key: item if key in _STRUCTURAL_KEYS else map_text(item, fn, messages=messages)
                for key, item in value.items()
            }
        return {fn(str(key)): map_text(item, fn, messages=False) for key, item in value.items()}
    return value


def redact_json(value: Any) -> Any:
    """A JSON value with every string redacted (see `map_text`)."""
    return map_text(value, redact_pii)
