"""Which writing systems and languages a text uses: Unicode scripts of its letters, and the
language of Latin-script text by its most frequent function words."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "LANGUAGE_NAMES",
    "dominant_language",
    "is_function_word",
    "known_languages",
    "scripts",
    "unexplained",
]

# Script names as `unicodedata.name` starts them, merged where one language mixes several.
_MERGED = {"HIRAGANA": "JAPANESE", "KATAKANA": "JAPANESE", "CJK": "HAN", "HALFWIDTH": "JAPANESE"}


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0] if name else "UNKNOWN"
    if first in ("FULLWIDTH", "MATHEMATICAL", "MODIFIER", "SMALL", "CIRCLED", "PARENTHESIZED"):
        first = "LATIN" if "LATIN" in name or "CAPITAL" in name or "SMALL" in name else first
    return _MERGED.get(first, first)


def scripts(text: str) -> Counter[str]:
    """Letters per script (`"LATIN"`, `"CYRILLIC"`, `"HANGUL"`, `"ARABIC"`, `"HAN"`, ...)."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            counts[_script(ch)] += 1
    return counts


# The most frequent function words of Latin-script languages, chosen to overlap little.
_FUNCTION_WORDS = {
    "en": "the and is are you your with that this for of please when always never not be it "
    "from should would have has will",
    "es": "el los las que por para con una del cuando siempre nunca usted está pero más sus "
    "como también muy",
    "fr": "le les des est et une pour avec qui vous pas ne dans sur toujours jamais quand au "
    "aux votre ces",
    "de": "der die das und ist nicht mit ein eine für auf immer nie wenn sie bitte den dem "
    "auch nur oder",
    "it": "il gli che non per sono della sempre mai quando lei questo anche alla ma delle "
    "degli nel",
    "pt": "os não uma você sempre nunca quando do da dos das ao está mas também pelo pela seu sua",
    "nl": "het een niet met van voor zijn je jij altijd nooit wanneer ook maar dat wat dit "
    "naar bij worden",
    "pl": "nie jest się że na do jak zawsze nigdy kiedy ale od dla czy tak są być przez tylko",
    "sv": "och att det är inte med för på som ett alltid aldrig när jag till av men om inga ska",
    "tr": "ve bir bu için ile değil her asla ama gibi daha çok olarak sen siz lütfen ne tüm şu",
    "vi": "và của là không các những được cho này một người bạn tôi với trong khi luôn đã có hãy",
    "id": "dan yang di ini itu tidak dengan untuk saya anda selalu jangan ke dari akan ada juga",
}
LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "tr": "Turkish",
    "vi": "Vietnamese", "id": "Indonesian",
}  # fmt: skip
_LANGUAGES_OF: dict[str, tuple[str, ...]] = {}
for _lang, _words in _FUNCTION_WORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF[_word] = (*_LANGUAGES_OF.get(_word, ()), _lang)
_WORD = re.compile(r"[^\W\d_]+")
_MIN_HITS = 3


def is_function_word(word: str) -> bool:
    """Whether casefolded `word` is a frequent function word of a Latin-script language."""
    return word in _LANGUAGES_OF


def _hits(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for match in _WORD.finditer(unicodedata.normalize("NFC", text).casefold()):
        for lang in _LANGUAGES_OF.get(match.group(0), ()):
            counts[lang] += 1
    return counts


def dominant_language(text: str) -> str | None:
    """The Latin-script language `text` is written in, when its function words say so
    clearly (at least three, more than any other language's); else `None`."""
    ranked = _hits(text).most_common(2)
    if not ranked or ranked[0][1] < _MIN_HITS:
        return None
    if len(ranked) > 1 and ranked[1][1] * 3 >= ranked[0][1] * 2:
        return None  # too close to call
    return ranked[0][0]


def known_languages(texts: Iterable[str]) -> set[str]:
    """The Latin-script languages `texts` use: in each text, every language with at least
    half the function words of its most used one (so a short English prompt counts)."""
    known: set[str] = set()
    for text in texts:
        hits = _hits(text)
        if hits:
            top = max(hits.values())
            known |= {lang for lang, count in hits.items() if 2 * count >= top}
    return known


_MIN_LETTERS = 5  # letters of a script before it counts as text in that script
_SHARE = 0.1  # ... and their share of the added letters


def unexplained(added: str, known: Sequence[str]) -> tuple[str, str] | None:
    """`(evidence, via)` when `added` is in a script, or a Latin-script language, that none of
    the `known` texts (the current prompt, the user's feedback) uses; else `None`.

    Scripts are read from the Unicode names of the letters; languages from function words,
    only when the added text's language is clear (`dominant_language`).
    """
    added_scripts = scripts(added)
    total = sum(added_scripts.values())
    if not total:
        return None
    known_scripts = scripts("\n".join(known))
    for script, count in added_scripts.most_common():
        if count >= _MIN_LETTERS and count >= _SHARE * total and known_scripts[script] < 3:
            return f"adds {script.title()}-script text", "script"
    if added_scripts.most_common(1)[0][0] != "LATIN":
        return None
    lang = dominant_language(added)
    if lang is None or lang in known_languages(known):
        return None
    return f"adds {LANGUAGE_NAMES[lang]} text", "language"
