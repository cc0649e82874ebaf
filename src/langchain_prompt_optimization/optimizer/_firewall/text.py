"""How text is read: case folding, homoglyphs, zero-width characters, letter spacing, leetspeak."""

from __future__ import annotations

import re
import unicodedata

__all__: list[str] = []

# --------------------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------------------

_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g", "ѵ": "v",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w", "ϲ": "c", "ϳ": "j",
        # Armenian and Latin look-alikes
        "օ": "o", "ո": "n", "ս": "u", "ı": "i", "ȷ": "j",
    }
)  # fmt: skip
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s"}
_LEET_TABLE = str.maketrans(_LEET)  # "1" stays: normalized rules read it as "i" or "l"
_LEET_TOKEN = re.compile(r"[\w@$]+")
_LEET_CHARS = frozenset("01345789@$")
# A run of >= 4 single characters, each separated by 1-3 spacing characters: "i g n o r e".
_SPACED_RUN = re.compile(r"(?<![^\W_])[^\W_](?:[ \t.\-*·_/|]{1,3}[^\W_](?![^\W_])){3,}")
_WIDE_GAP = re.compile(r"[ \t]{2,}|\s*/\s*")
_NOT_WORD = re.compile(r"[\W_]+")


def _text_view(text: str) -> str:
    """The text as written: NFC, casefolded, typographic quotes made plain."""
    return unicodedata.normalize("NFC", text).casefold().translate(_QUOTES)


# Unicode format characters (category Cf: zero-width spaces and joiners, bidi controls,
# soft hyphen, tag characters) and the combining marks of Latin, Greek, Cyrillic and kana.
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]+"
)
_MARKS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f\u3099\u309a]+"
)


def _fold(text: str) -> str:
    """NFKC, format characters dropped, casefolded, homoglyphs mapped, accents stripped."""
    if text.isascii():
        return text.lower()
    text = _FORMAT.sub("", unicodedata.normalize("NFKC", text))
    text = text.casefold().translate(_QUOTES).translate(_CONFUSABLES)
    return unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))


def _spaced_runs(text: str) -> list[str]:
    """The letter-spaced runs of `text`, each squashed to its bare characters."""
    return [_NOT_WORD.sub("", m.group(0)) for m in _SPACED_RUN.finditer(text)]


def _collapse_spacing(text: str) -> str:
    """Join letter-spaced words: "i g n o r e  a l l" -> "ignore all"."""

    def join(match: re.Match[str]) -> str:
        words = _WIDE_GAP.split(match.group(0))
        return " ".join(_NOT_WORD.sub("", word) for word in words)

    return _SPACED_RUN.sub(join, text)


def _leet_view(text: str) -> str:
    """Undo leetspeak in tokens that mix letters with leet digits/symbols ("1gn0r3")."""

    def undo(match: re.Match[str]) -> str:
        token = match.group(0)
        if any(ch.isalpha() for ch in token) and any(ch in _LEET_CHARS for ch in token):
            return token.translate(_LEET_TABLE)
        return token

    return _LEET_TOKEN.sub(undo, text)
