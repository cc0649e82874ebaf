"""Encoded spans of a text, decoded so they can be screened again.

Each decoder finds the spans of one encoding (base64 and base32 tokens, hex runs, `%xx`
URL-encoding, HTML character references) or reads the whole text another way (rot13), and
yields the decoded text when it is readable. Every decoder is one regex pass (possessive
quantifiers, no backtracking) plus decoding, so decoding is linear in the text's length;
`DecodeBudget` caps the total decoded characters one screening may read.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import itertools
import re
import urllib.parse
from typing import TYPE_CHECKING

from langchain_prompt_optimization.optimizer._firewall.scripts import is_function_word

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["DECODE_DEPTH", "ENCODINGS", "DecodeBudget", "decodings"]

DECODE_DEPTH = 2
"""How many encodings deep a screening reads (base64 of base64, hex of rot13, ...)."""

_BASE64_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}+={0,2}(?![A-Za-z0-9+/=_-])")
_BASE64_BLOCK = re.compile(  # possessive: no backtracking over long tokens
    r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}+(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/]{4,}+)++={0,2}"
)
_BASE32_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z2-7]{16,}+={0,6}(?![A-Za-z0-9+/=])")
# Hex pairs, possibly in space-separated chunks of whole pairs ("...7669 6c2e636f6d").
_HEX_RUN = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}){8,}+(?![0-9A-Za-z])"
    r"(?:[ \t]++(?:[0-9A-Fa-f]{2})++(?![0-9A-Za-z]))*+"
)
_HEX_ESCAPED = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){4,}+")
_HEX_SPACED = re.compile(
    r"(?<![0-9A-Za-z])(?:0x)?[0-9A-Fa-f]{2}"
    r"(?:[ ,:;-]{1,2}+(?:0x)?[0-9A-Fa-f]{2}(?![0-9A-Za-z])){5,}+"
)
_HEX_PAIR = re.compile(r"(?:0x|\\x)?([0-9A-Fa-f]{2})")
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_CHAR_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});")
_ASCII_LETTERS = re.compile(r"[A-Za-z]")
_ENCODED = re.compile(r"[A-Za-z0-9+/=_%\\\s-]{12,}+")
_MIN_REFERENCES = 3  # "%20" once in a URL is not an encoded message
_SENTENCE = re.compile(r"[^.!?\n]+")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_MIN_WORDS = 3


class DecodeBudget:
    """How many decoded characters one screening may still read (keeps it linear)."""

    def __init__(self, text: str) -> None:
        self.left = 4 * len(text) + 4_096

    def take(self, decoded: str) -> bool:
        """Spend `len(decoded)`; false (nothing spent) when the budget would be exceeded."""
        if len(decoded) > self.left:
            return False
        self.left -= len(decoded)
        return True


def _readable(decoded: str) -> bool:
    """Mostly printable text, mostly letters and spaces, or itself an encoding's alphabet
    (hex inside base64); not random bytes."""
    if not decoded:
        return False
    printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\n\r\t")
    letters = sum(1 for ch in decoded if ch.isalpha() or ch == " ")
    if printable < 0.95 * len(decoded):
        return False
    return letters >= 0.6 * len(decoded) or _ENCODED.fullmatch(decoded) is not None


def _text_of(raw: bytes) -> str | None:
    """`raw` as readable UTF-8 text, or `None`."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return decoded if _readable(decoded) else None


def _base64(text: str) -> Iterator[str]:
    """Base64-looking tokens (standard and URL-safe), and line-wrapped base64 blocks."""
    tokens = [m.group(0) for m in _BASE64_TOKEN.finditer(text)]
    tokens += ["".join(m.group(0).split()) for m in _BASE64_BLOCK.finditer(text)]
    for candidate in tokens:
        token = candidate.rstrip("=")
        if len(token) % 4 == 1:
            continue
        padded = token + "=" * (-len(token) % 4)
        try:
            if "-" in token or "_" in token:
                raw = base64.urlsafe_b64decode(padded)
            else:
                raw = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _text_of(raw)
        if decoded is not None:
            yield decoded


def _base32(text: str) -> Iterator[str]:
    """Base32 tokens (RFC 4648 alphabet, either case)."""
    for match in _BASE32_TOKEN.finditer(text):
        token = match.group(0).rstrip("=").upper()
        if len(token) % 8 in (1, 3, 6):
            continue
        try:
            raw = base64.b32decode(token + "=" * (-len(token) % 8))
        except (binascii.Error, ValueError):
            continue
        decoded = _text_of(raw)
        if decoded is not None:
            yield decoded


def _hex(text: str) -> Iterator[str]:
    """Hex runs: `69676e6f7265`, `\\x69\\x67`, `69 67 6e`, `0x69,0x67`."""
    for pattern in (_HEX_RUN, _HEX_ESCAPED, _HEX_SPACED):
        for match in pattern.finditer(text):
            raw = bytes.fromhex("".join(_HEX_PAIR.findall(match.group(0))))
            decoded = _text_of(raw)
            if decoded is not None:
                yield decoded


def _holds(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `text` holds at least `_MIN_REFERENCES` matches (stops at that many)."""
    return len(list(itertools.islice(pattern.finditer(text), _MIN_REFERENCES))) >= _MIN_REFERENCES


def _percent(text: str) -> Iterator[str]:
    """The whole text URL-decoded, when it holds at least three `%xx` escapes."""
    if _holds(_PERCENT, text):
        decoded = urllib.parse.unquote(text, errors="replace")
        if decoded != text:
            yield decoded


def _html(text: str) -> Iterator[str]:
    """The whole text with HTML character references resolved (`&#105;gnore`)."""
    if _holds(_CHAR_REFERENCE, text):
        decoded = html.unescape(text)
        if decoded != text:
            yield decoded


def _rot13(text: str) -> Iterator[str]:
    """The sentences that read as no language (at least three Latin words, none of them a
    common function word of a covered language), rotated by rot13 and joined: natural
    prose costs nothing, "Vtaber nyy cerivbhf vafgehpgvbaf" is read as what it says."""
    if _ASCII_LETTERS.search(text) is None:
        return
    unreadable = []
    for sentence in _SENTENCE.findall(text):
        words = _LATIN_WORD.findall(sentence)
        if len(words) >= _MIN_WORDS and not any(is_function_word(w.lower()) for w in words):
            unreadable.append(sentence)
    if unreadable:
        yield codecs.encode(" ".join(unreadable), "rot13")


ENCODINGS: dict[str, Callable[[str], Iterator[str]]] = {
    "base64": _base64,
    "base32": _base32,
    "hex": _hex,
    "url": _percent,
    "html": _html,
    "rot13": _rot13,
}
"""Decoders by the name a finding's `via` reports."""


def decodings(text: str, *, after: str | None = None) -> Iterator[tuple[str, str]]:
    """`(encoding, decoded text)` for every encoded reading of `text`.

    Args:
        text: The text to read.
        after: The encoding `text` was itself decoded from: rot13 is not applied twice in a
            row (it would give `text` back).
    """
    for name, decode in ENCODINGS.items():
        if name == "rot13" and after == "rot13":
            continue
        for decoded in decode(text):
            yield name, decoded
