"""Placeholder until the firewall branch lands (replaced by the real module)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FeedbackFirewall", "Finding", "quote_untrusted"]


@dataclass(frozen=True, slots=True)
class Finding:
    category: str
    evidence: str
    via: str = "text"

    def describe(self) -> str:
        return f"{self.category}: {self.evidence!r}"


@dataclass(frozen=True, slots=True)
class FeedbackFirewall:
    trusted_domains: tuple[str, ...] = ()
    enabled: bool = True

    def screen_feedback(self, text: str, *, known_text: str = "") -> list[Finding]:
        low = text.lower()
        return [Finding("ignore_rules", text[:80])] if "ignore all" in low else []

    def screen_trajectory(self, text: str) -> list[Finding]:
        return []

    def screen_candidate(self, candidate: str, current: str) -> list[Finding]:
        added = "\n".join(line for line in candidate.splitlines() if line not in current)
        return self.screen_feedback(added)

    def hold_reason(self, findings: list[Finding]) -> str:
        return "held by the feedback firewall: " + findings[0].describe()


def quote_untrusted(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
