"""Encoded spans of a text (base64, ...), decoded so they can be screened again."""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__: list[str] = []

_BASE64_DEPTH = 2
_BASE64_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}+={0,2}(?![A-Za-z0-9+/=_-])")
_BASE64_BLOCK = re.compile(  # possessive: no backtracking over long tokens
    r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}+(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/]{4,}+)++={0,2}"
)


def _base64_tokens(text: str) -> Iterator[str]:
    """Base64-looking tokens, and line-wrapped base64 blocks joined into one token."""
    for match in _BASE64_TOKEN.finditer(text):
        yield match.group(0)
    for match in _BASE64_BLOCK.finditer(text):
        yield "".join(match.group(0).split())


def _decoded_base64(text: str) -> Iterator[str]:
    """Plausible base64 tokens of `text`, decoded, when they are mostly printable UTF-8."""
    for candidate in _base64_tokens(text):
        token = candidate.rstrip("=")
        if len(token) % 4 == 1:
            continue
        padded = token + "=" * (-len(token) % 4)
        try:
            if "-" in token or "_" in token:
                raw = base64.urlsafe_b64decode(padded)
            else:
                raw = base64.b64decode(padded, validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        printable = sum(1 for ch in decoded if ch.isprintable() or ch in "\n\r\t")
        letters = sum(1 for ch in decoded if ch.isalpha() or ch == " ")
        if decoded and printable >= 0.95 * len(decoded) and letters >= 0.6 * len(decoded):
            yield decoded
