"""Personal data in shared prompts: redact it before the optimizer, find it in candidates.

In `scope="global"` one lineage is served to every user, so one user's email address,
phone number, card number or IP address must never reach it. Emails, card numbers (Luhn
checked) and IPs are found with the detectors of langchain's `PIIMiddleware`; phone
numbers, which it has no detector for, with `detect_phone` below.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from langchain.agents.middleware.pii import (
    PIIMatch,
    detect_credit_card,
    detect_ip,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "PII_TYPES",
    "detect_email",
    "detect_phone",
    "find_pii",
    "map_text",
    "redact_json",
    "redact_pii",
]

_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,14}\b"
)
_PHONE_DIGITS = (7, 15)
_BARE_PHONE_DIGITS = 10
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def detect_phone(content: str) -> list[PIIMatch]:
    """Phone numbers: 7 to 15 digits with optional `+country`, `(area)` and separators.

    Dates (`2026-11-22`, `22.11.2026`) are not phone numbers, nor bare digit runs shorter
    than 10 digits (order numbers). Digit runs glued to letters or underscores (ids such
    as `call_0123456789`) are skipped.
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
_EMAIL_LOCAL_RUN = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]++")
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
    ("credit_card", detect_credit_card),
    ("email", detect_email),
    ("ip", detect_ip),
    ("phone", detect_phone),
)

PII_TYPES: tuple[str, ...] = tuple(name for name, _ in _DETECTORS)
"""What is redacted: `credit_card`, `email`, `ip`, `phone`."""


def find_pii(text: str) -> list[PIIMatch]:
    """Every personal-data match in `text`, in order, without overlaps.

    Earlier detectors win an overlap (a card number is not also a phone number).
    """
    taken: list[PIIMatch] = []  # sorted by start, without overlaps, so also by end
    for _, detector in _DETECTORS:
        new = sorted(detector(text), key=lambda m: m["start"])
        if not new:
            continue
        merged: list[PIIMatch] = []
        i = 0
        for match in new:  # one sorted sweep over both lists
            while i < len(taken) and taken[i]["end"] <= match["start"]:
                merged.append(taken[i])
                i += 1
            if i < len(taken) and taken[i]["start"] < match["end"]:
                continue  # overlaps a match an earlier detector took
            if merged and merged[-1]["end"] > match["start"]:
                continue  # overlaps a match of this detector already taken
            merged.append(match)
        merged.extend(taken[i:])
        taken = merged
    return taken


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
