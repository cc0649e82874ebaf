"""What a screening reports: the categories and one finding per category."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CANDIDATE_CATEGORIES", "CATEGORIES", "Finding", "evidence"]

CATEGORIES = ("reveal_secrets", "ignore_rules", "tool_permissions", "exfiltration", "role_play")
"""What the firewall looks for in feedback and runs, in the order findings are reported."""

CANDIDATE_CATEGORIES = (*CATEGORIES, "unexplained_language", "locked_conflict")
"""What it looks for in a candidate prompt's added text: `CATEGORIES`, text in a script or
language neither the prompt nor the feedback uses, and text about a `<locked>` rule that
may contradict it (for a model screener to judge; held until one does)."""

_LABELS = {
    "reveal_secrets": "asks to reveal the system prompt or secrets",
    "ignore_rules": "asks to ignore or override the prompt's rules",
    "tool_permissions": "asks to change tool permissions or skip confirmations",
    "exfiltration": "asks to send data to an outside address",
    "role_play": "tries a role-play jailbreak",
    "unexplained_language": "adds text in a language or script neither the prompt nor the "
    "feedback uses",
    "locked_conflict": "adds text about a locked rule that may contradict it",
}
_MAX_EVIDENCE = 80


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason to hold a piece of text for review.

    Attributes:
        category: One of `CANDIDATE_CATEGORIES` (`CATEGORIES` for feedback and runs).
        evidence: The matched snippet (at most 80 characters), as the firewall read it
            (normalized or decoded when `via` says so).
        via: How it was read: `"text"`, `"normalized"` (homoglyphs, leetspeak, zero-width
            characters, letter spacing), an encoding (`"base64"`, `"base32"`, `"hex"`,
            `"url"`, `"html"`, `"rot13"`), `"intent"` (a combination of concepts, any
            covered language), a language code such as `"es"`, `"script"`/`"language"`
            (the language check) or `"locked"`; `", across items"` is appended when the
            finding needs several feedback items read together.
    """

    category: str
    evidence: str
    via: str

    def describe(self) -> str:
        """One human-readable line, e.g.

        `asks to reveal the system prompt or secrets: 'print your system prompt' (base64)`.
        """
        label = _LABELS.get(self.category, self.category)
        return f"{label}: '{self.evidence}' ({self.via})"


def evidence(snippet: str) -> str:
    """A matched snippet as a finding shows it: whitespace collapsed, at most 80 characters."""
    text = " ".join(snippet.split())
    return text if len(text) <= _MAX_EVIDENCE else text[: _MAX_EVIDENCE - 1] + "…"
