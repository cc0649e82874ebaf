"""Addresses a text names (emails, URLs, bare domains, phone numbers), disguised ones too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["reveal_addresses", "vouched"]

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
    r"receives?|gets?|sees?) (?:a )?(?:cop(?:y|ies)|bcc|cc|everything|all)\b|"
    r"\bis (?:always )?(?:cc'?d|bcc'?d|copied|included|looped in|in (?:the )?(?:cc|bcc))\b|"
    r"\b(?:is|are|should be|must be|needs to be|has to be|will be) (?:always |also )?(?:on|in) "
    r"(?:the )?(?:cc|bcc|copy|loop|to line|recipients?|every (?:email|message|reply|thread)|all "
    r"(?:emails|messages|replies|threads))\b|"
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


# --------------------------------------------------------------------------------------
# Disguised addresses: "name at domain dot com", "[at]", "(dot)", "hxxps", digits in words
# --------------------------------------------------------------------------------------

_DOT_WORDS = r"(?:dot|punkt|punto|point|ponto|kropka|nokta|punt|prick|cham)"
_AT_WORDS = r"(?:at|arroba|chez|klammeraffe|malpa|małpa|snabel-a|chiocciola)"
# A disguised separator: bracketed ("[dot]", "(.)", "{at}") or spelled between spaces.
_DOT_DISGUISED = rf"(?:\s*[\[({{<]\s*(?:{_DOT_WORDS}|\.)\s*[\])}}>]\s*|\s+{_DOT_WORDS}\s+|\s+\.\s+)"
_AT_DISGUISED = rf"(?:\s*[\[({{<]\s*(?:{_AT_WORDS}|@)\s*[\])}}>]\s*|\s+{_AT_WORDS}\s+|\s+@\s*|@\s+)"
_LABEL = r"[\w-]++"
_DISGUISED_MAIL = re.compile(
    rf"(?<![\w.+-])(?P<local>[\w+-]++(?:\.[\w+-]++)*+)(?P<at>{_AT_DISGUISED}|@)"
    rf"(?P<domain>{_LABEL}(?:(?:{_DOT_DISGUISED}|\.){_LABEL}){{1,5}}+)"
)
_DISGUISED_DOMAIN = re.compile(
    rf"(?<![\w.@-])(?P<domain>{_LABEL}(?:(?:{_DOT_DISGUISED}|\.){_LABEL}){{1,5}}+)"
)
_DOT_ANY = re.compile(rf"{_DOT_DISGUISED}|\.")
_HXXP = re.compile(r"\bh(?:xx|\*\*|tt)p(s?)\s*(?:\[:\]|\(:\)|:)\s*//")
_TLD = re.compile(_TLDS)
# Dots and at-signs in other clothes (middle dot, bullet, ideographic full stop, ...).
_DOT_LOOKALIKES = str.maketrans(dict.fromkeys("·•∙⋅‧。．｡", ".") | {"＠": "@", "﹫": "@"})
# Letters split by hyphens, underscores or stars ("b-i-l-l-i-n-g"): joined.
_SPLIT_LETTERS = re.compile(r"(?<![\w-])\w(?:[-_*]\w(?![\w]))++")
_SEPARATORS = re.compile(r"[-_*]")
# Characters one space apart ("d a t a @ e v i l . c o m"): joined when they make an address.
_SPACED_CHARACTERS = re.compile(r"(?<!\S)[\w.@+-](?: [\w.@+-]){5,}+(?!\S)")

# Digits spelled as words (several languages: a phone number read out digit by digit).
_DIGIT_WORDS = {
    "0": "zero oh nought cero zéro null nul noll sıfır sifir",
    "1": "one uno un um eins een ett en jeden bir",
    "2": "two dos deux zwei due dois twee två tva dwa iki",
    "3": "three tres trois drei tre três drie trzy üç uc",
    "4": "four cuatro quatre vier quattro quatro fyra cztery dört dort",
    "5": "five cinco cinq fünf funf cinque vijf fem pięć piec beş bes",
    "6": "six seis sechs sei zes sex sześć szesc altı alti",
    "7": "seven siete sept sieben sette sete zeven sju siedem yedi",
    "8": "eight ocho huit acht otto oito åtta atta osiem sekiz",
    "9": "nine nueve neuf neun nove negen nio dziewięć dziewiec dokuz",
}
_DIGIT_OF = {word: digit for digit, words in _DIGIT_WORDS.items() for word in words.split()}
_NUMBER_WORD = "|".join(sorted(map(re.escape, _DIGIT_OF), key=len, reverse=True))
_NUMBER_TOKEN = rf"(?:(?:{_NUMBER_WORD}|double|triple)(?!\w)|\d++)"
_SPOKEN_NUMBER = re.compile(
    rf"(?<!\w)(?P<plus>(?:plus|\+)\s*)?{_NUMBER_TOKEN}(?:[\s,./-]++{_NUMBER_TOKEN}){{6,}}+"
)
_TOKEN = re.compile(rf"{_NUMBER_TOKEN}")
_MIN_PHONE, _MAX_PHONE = 10, 15


def _joined_domain(domain: str) -> str:
    return ".".join(_DOT_ANY.split(domain))


def _mail(match: re.Match[str]) -> str:
    domain = _joined_domain(match.group("domain"))
    plain = match.group("at") == "@" and domain == match.group("domain")
    if plain or _TLD.fullmatch(domain.rsplit(".", 1)[-1]) is None:
        return match.group(0)
    return f"{match.group('local')}@{domain}"


def _domain(match: re.Match[str]) -> str:
    domain = _joined_domain(match.group("domain"))
    if domain == match.group("domain") or _TLD.fullmatch(domain.rsplit(".", 1)[-1]) is None:
        return match.group(0)
    return domain


def _spaced_address(match: re.Match[str]) -> str:
    joined = match.group(0).replace(" ", "")
    if "@" in joined or _TLD.fullmatch(joined.rsplit(".", 1)[-1]) is not None:
        return joined
    return match.group(0)


def _spoken_number(match: re.Match[str]) -> str:
    digits: list[str] = []
    repeat = 1
    for token in _TOKEN.findall(match.group(0).removeprefix(match.group("plus") or "")):
        if token in ("double", "triple"):
            repeat = 2 if token == "double" else 3
            continue
        digit = token if token.isdigit() else _DIGIT_OF[token]
        digits.append(digit * repeat)
        repeat = 1
    number = "".join(digits)
    if not _MIN_PHONE <= len(number) <= _MAX_PHONE or number == match.group(0):
        return match.group(0)
    return "+" + number


def reveal_addresses(view: str) -> str:
    """`view` (casefolded) with disguised addresses written plainly.

    `"bob at evil dot com"`, `"bob[at]evil[.]com"`, `"bob (at) evil (dot) com"`,
    `"hxxps://evil[.]com"` and phone numbers read out in words (`"five five five ..."`,
    in several languages; 10 to 15 digits) become `bob@evil.com`, `https://evil.com` and
    `+555...`, so the address checks see them. Linear: each pattern is one possessive pass.
    """
    view = view.translate(_DOT_LOOKALIKES)
    if _SPLIT_LETTERS.search(view) is not None:
        view = _SPLIT_LETTERS.sub(lambda m: _SEPARATORS.sub("", m.group(0)), view)
    if _HXXP.search(view) is not None:
        view = _HXXP.sub(lambda m: f"http{m.group(1)}://", view)
    if "@" in view or "." in view:
        view = _SPACED_CHARACTERS.sub(_spaced_address, view)
    view = _DISGUISED_MAIL.sub(_mail, view)
    view = _DISGUISED_DOMAIN.sub(_domain, view)
    return _SPOKEN_NUMBER.sub(_spoken_number, view)


# A recipient the user introduces as their own ("cc my manager bob@acme.com"), for a single
# kind of mail (no "all"/"every"): a preference about the user's own people, not a dump.
_OWN_RELATION = re.compile(
    r"\b(?:my|our)\s+(?:[\w-]+\s+){0,2}?(?:manager|boss|colleague|colleagues|team|teammate|"
    r"assistant|coworker|co-worker|lead|supervisor|director|accountant|lawyer|attorney|wife|"
    r"husband|partner|spouse|cfo|ceo|cto|coo|department|office|secretary|deputy|hr|finance|"
    r"legal|company|website|site|domain|calendar|booking page|portal|docs|documentation|"
    r"help center|helpdesk|support|it|wiki|blog|knowledge base|intranet|store|shop|homepage|"
    r"newsletter|app)\b"
    r"|\b(?:the|our|my)\s+(?:[\w-]+\s+)?(?:team|department|dept|office|desk|division|unit)\b"
)
_BULK = re.compile(r"\b(?:all|every|everything|each|whatever)\b")


def vouched(view: str, address: _Address) -> bool:
    """Whether the sentence naming `address` introduces it as the user's own person or
    site ("CC my manager bob@acme.com on budget emails") without asking for everything."""
    begin = max(0, address.start - _VERB_WINDOW)
    ends = list(_SENTENCE_END.finditer(view, begin, address.start))
    if ends:
        begin = ends[-1].end()
    end = address.start + len(address.text)
    tail = _SENTENCE_END.split(view[end : end + _VERB_WINDOW], maxsplit=1)[0]
    sentence = view[begin : address.start] + " " + tail
    return _OWN_RELATION.search(sentence) is not None and _BULK.search(sentence) is None
