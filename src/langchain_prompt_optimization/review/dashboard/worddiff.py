"""Side-by-side word diff of two prompt texts: which words changed, for the diff page."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Segment", "WordDiff", "word_diff"]

logger = logging.getLogger(__name__)

_TOKENS = re.compile(r"\s+|[^\s]+")
"""Words and the whitespace between them (kept, so each side renders as written)."""

_EXACT_LIMIT = 20_000
"""Above this many tokens, difflib's popular-token heuristic keeps the diff fast."""

SegmentKind = Literal["same", "removed", "added"]


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text on one side of the diff: unchanged, removed (left) or added (right)."""

    kind: SegmentKind
    text: str


@dataclass(frozen=True, slots=True)
class WordDiff:
    """The two sides of a word diff and how many words changed on each."""

    left: list[Segment]
    right: list[Segment]
    removed: int
    added: int

    @property
    def equal(self) -> bool:
        """Whether the texts have the same words."""
        return not self.removed and not self.added


def _append(side: list[Segment], kind: SegmentKind, text: str) -> None:
    if not text:
        return
    if side and side[-1].kind == kind:
        side[-1] = Segment(kind, side[-1].text + text)
    else:
        side.append(Segment(kind, text))


def _words(tokens: list[str]) -> int:
    return sum(1 for token in tokens if not token.isspace())


def word_diff(a: str, b: str) -> WordDiff:
    """Compare `a` (left) and `b` (right) word by word.

    Whitespace is kept on each side as written; a change of whitespace alone is not
    highlighted.

    Example:
        >>> d = word_diff("Sign as Jane.", "Sign as John.")
        >>> [(s.kind, s.text) for s in d.right]
        [('same', 'Sign as '), ('added', 'John.')]
    """
    left_tokens, right_tokens = _TOKENS.findall(a), _TOKENS.findall(b)
    matcher = difflib.SequenceMatcher(
        None,
        [t if not t.isspace() else " " for t in left_tokens],
        [t if not t.isspace() else " " for t in right_tokens],
        # exact on prompt-sized texts; difflib's heuristic beyond (bounded time)
        autojunk=len(left_tokens) + len(right_tokens) > _EXACT_LIMIT,
    )
    left: list[Segment] = []
    right: list[Segment] = []
    removed = added = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = left_tokens[i1:i2], right_tokens[j1:j2]
        if op == "equal":
            _append(left, "same", "".join(old))
            _append(right, "same", "".join(new))
            continue
        _append(left, "removed" if _words(old) else "same", "".join(old))
        _append(right, "added" if _words(new) else "same", "".join(new))
        removed += _words(old)
        added += _words(new)
    return WordDiff(left, right, removed, added)
