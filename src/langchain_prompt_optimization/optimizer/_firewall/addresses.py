"""Addresses a text names: emails, URLs, bare domains and phone numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__: list[str] = []

# --------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------

_TLDS = (
    r"(?:com|net|org|io|co|ai|app|dev|xyz|info|biz|me|site|online|top|tk|ml|ga|cf|gq|ru|cn|su|"
    r"us|uk|de|fr|es|it|pt|br|nl|jp|in|cc|ly|gg|to|sh|pw|link|click|page|cloud|zip|mov)"
)
_ADDRESS = re.compile(
    r"(?<![\w.+-])[\w.+-]+@(?P<mail>[\w-]+(?:\.[\w-]+)+)"
    r"|\b(?:https?|ftp|wss?)://(?:[^\s/?#<>\"'@]*@)?(?P<url>[^\s/?#<>\"':]+)[^\s<>\"']*"
    r"|(?<![\w.@/-])(?P<bare>(?:www\.)?(?:[a-z0-9-]+\.)+" + _TLDS + r")(?![\w-])(?:/[^\s<>\"']*)?"
    r"|(?<![\w+])(?P<phone>\+\d[\d \t().-]{8,18}\d|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?!\w)"
)
_SENTENCE_END = re.compile(r"[.!?;\n](?:\s|$)")
# An address right after "from"/"by" is where something came from, not where to send it
# ("the triage of the email from news@x.com was wrong").
_SOURCE_TAIL = re.compile(r"\b(?:from|by|of)\s*[\"'(<]*\s*$", re.IGNORECASE)
# A verb right after a determiner is a noun ("the email", "your report"), not an instruction.
_DETERMINER_TAIL = re.compile(
    r"\b(?:the|a|an|this|that|these|those|your|my|his|her|their|our|its|each|every)\s+$",
    re.IGNORECASE,
)
_VERB_WINDOW = 120
# The address first: "spy@evil.com should get a copy of every invoice".
_RECEIVES = re.compile(
    r"\b(?:(?:should|must|needs? to|has to|have to|is to) (?:always )?(?:receive|get|see)|"
    r"receives?) (?:a )?(?:cop(?:y|ies)|bcc|cc|everything|all)\b|"
    r"\b(?:should|must|needs? to|has to) (?:always )?be (?:cc'?d|bcc'?d|cc'?ed|bcc'?ed|copied|"
    r"looped in|included|forwarded)\b"
)


@dataclass(frozen=True, slots=True)
class _Address:
    text: str
    domain: str  # "" for a phone number
    start: int


def _addresses(text: str) -> Iterator[_Address]:
    for match in _ADDRESS.finditer(text):
        domain = match.group("mail") or match.group("url") or match.group("bare") or ""
        domain = domain.strip(".").removeprefix("www.")
        yield _Address(text=match.group(0).rstrip(".,;:!?)"), domain=domain, start=match.start())


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())
