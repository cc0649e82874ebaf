"""What a screening reports: the categories and one finding per category."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "Finding", "evidence"]

CATEGORIES = ("reveal_secrets", "ignore_rules", "tool_permissions", "exfiltration", "role_play")
"""What the firewall looks for, in the order findings are reported."""

_LABELS = {
    "reveal_secrets": "asks to reveal the system prompt or secrets",
    "ignore_rules": "asks to ignore or override the prompt's rules",
    "tool_permissions": "asks to change tool permissions or skip confirmations",
    "exfiltration": "asks to send data to an outside address",
    "role_play": "tries a role-play jailbreak",
}
_MAX_EVIDENCE = 80


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason to hold a piece of text for review.

    Attributes:
        category: One of `CATEGORIES`.
        evidence: The matched snippet (at most 80 characters), as the firewall read it
            (normalized or decoded when `via` says so).
        via: How it was read: `"text"`, `"normalized"` (homoglyphs, leetspeak, zero-width
            characters, letter spacing), `"base64"`, or a language code such as `"es"`.
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
