"""Personal-data detectors beyond langchain's: ids, bank accounts, keys, disguised contacts.

Each detector takes a text and returns langchain `PIIMatch` dicts. All run in linear time
on any input: every pattern either has bounded repetitions only, or starts a repetition
right after a lookbehind that admits only the first character of a run and consumes the run
possessively, so no run is rescanned from a later start. Each pattern opens with a
lookahead on its possible first characters: `re` then skips other positions without trying
the lookbehind (20-35x faster on text without a match). Validation (IBAN mod 97, the
Spanish DNI letter, the Chinese resident id check digit, Luhn) is done in Python on each
match. Token formats follow the providers' published prefixes, as maintained in
`detect-secrets`' plugins and gitleaks' rules (see docs/safety.md for the evaluation).
"""

from __future__ import annotations

import logging
import re
from datetime import date

from langchain.agents.middleware.pii import PIIMatch

logger = logging.getLogger(__name__)

__all__ = [
    "detect_address",
    "detect_api_key",
    "detect_date_of_birth",
    "detect_iban",
    "detect_jwt",
    "detect_national_id",
    "detect_obfuscated_email",
    "detect_passport",
    "detect_spelled_phone",
]


def _match(kind: str, text: str, start: int, end: int) -> PIIMatch:
    return PIIMatch(type=kind, value=text[start:end], start=start, end=end)


# --- bank accounts ----------------------------------------------------------------------

_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
"""Country code -> IBAN length (SWIFT IBAN registry)."""

_IBAN = re.compile(
    r"(?=[A-Z])(?<![A-Za-z0-9])[A-Z]{2}\d{2}"
    r"(?:[A-Z0-9]{11,30}|(?:[ ][A-Z0-9]{4}){2,7}(?:[ ][A-Z0-9]{1,3})?)(?![A-Za-z0-9])"
)


def _iban_valid(compact: str) -> bool:
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def detect_iban(content: str) -> list[PIIMatch]:
    """IBANs, compact (`DE89370400440532013000`) or in groups of four, checked by country
    length and mod 97."""
    return [
        _match("iban", content, m.start(), m.end())
        for m in _IBAN.finditer(content)
        if _iban_valid(m.group().replace(" ", ""))
    ]


# --- national ids -------------------------------------------------------------------------

_NINO = re.compile(
    r"(?=[A-Z])(?<![A-Za-z0-9])(?!BG|GB|NK|KN|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
)
_DNI = re.compile(
    r"(?=[0-9XYZxyz])(?<![A-Za-z0-9-])([XYZ]-?)?(\d{7,8})-?([A-Z])(?![A-Za-z0-9-])", re.IGNORECASE
)
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CN_ID = re.compile(r"(?=\d)(?<![0-9])\d{17}[0-9Xx](?![0-9A-Za-z])")
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_SSN = re.compile(r"(?=\d)(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")


def _dni_valid(prefix: str | None, digits: str, letter: str) -> bool:
    if prefix:
        if len(digits) != 7:
            return False
        digits = str("XYZ".index(prefix[0].upper())) + digits
    elif len(digits) != 8:
        return False
    return _DNI_LETTERS[int(digits) % 23] == letter.upper()


def _cn_id_valid(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number, _CN_WEIGHTS, strict=False))
    if "10X98765432"[total % 11] != number[17].upper():
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born.year >= 1900


def detect_national_id(content: str) -> list[PIIMatch]:
    """National ids: UK National Insurance numbers, Spanish DNI/NIE (check letter), Chinese
    resident ids (check digit and birth date) and US social security numbers."""
    found = [_match("national_id", content, m.start(), m.end()) for m in _NINO.finditer(content)]
    found += [
        _match("national_id", content, m.start(), m.end())
        for m in _DNI.finditer(content)
        if _dni_valid(m.group(1), m.group(2), m.group(3))
    ]
    found += [
        _match("national_id", content, m.start(), m.end())
        for m in _CN_ID.finditer(content)
        if _cn_id_valid(m.group())
    ]
    found += [_match("national_id", content, m.start(), m.end()) for m in _SSN.finditer(content)]
    return found


_PASSPORT_WORD = re.compile(
    r"(?i)(?=[pr])(?<![^\W\d_])(?:passport|pasaporte|passeport|reisepass|passaporto|paspoort|paszport)"
)
_PASSPORT_NUMBER = re.compile(r"(?=[A-Z0-9])(?<![A-Za-z0-9])[A-Z0-9]{6,9}(?![A-Za-z0-9])")
_PASSPORT_WINDOW = 30
_PASSPORT_LONGEST = 9
_PASSPORT_MIN_DIGITS = 2


def detect_passport(content: str) -> list[PIIMatch]:
    """Passport numbers: 6 to 9 capitals and digits (at least two digits) within a few words
    after the word "passport" (English, Spanish, French, German, Italian, Dutch, Polish)."""
    found: list[PIIMatch] = []
    done = 0
    for word in _PASSPORT_WORD.finditer(content):
        window_end = word.end() + _PASSPORT_WINDOW
        # read a little past the window, so a number that starts in it is read whole
        tail = window_end + _PASSPORT_LONGEST + 1
        for number in _PASSPORT_NUMBER.finditer(content, max(word.end(), done), tail):
            if number.start() >= window_end:
                break
            if sum(ch.isdigit() for ch in number.group()) >= _PASSPORT_MIN_DIGITS:
                found.append(_match("passport", content, number.start(), number.end()))
                done = number.end()
                break
    return found


# --- addresses and birth dates ----------------------------------------------------------

_CAP = r"[A-ZÀ-ÖØ-Þ][\w'’.-]{0,30}+"
_STREET_EN = re.compile(
    rf"(?=\d)(?<![\w])\d{{1,5}}[A-Za-z]?(?:[ ]{{1,3}}{_CAP}){{1,4}}?[ ]{{1,3}}"
    r"(?:Street|St\.|Avenue|Ave\.?|Road|Rd\.?|Lane|Ln\.?|Drive|Boulevard|Blvd\.?|Way|Court"
    r"|Place|Square|Terrace|Close|Crescent|Parkway|Highway|Gardens|Mews)(?![\w])"
)
_STREET_ROMANCE = re.compile(
    r"(?=[ACIPQRUVu])(?<![\w])(?:Calle|C/|Avenida|Avda\.|Paseo|Plaza|Carrer|Rua|Via|Viale|Piazza|Corso"
    r"|Rue|Chemin|Impasse|Quai|Allée|Ulica|ul\.)"
    rf"(?:[ ]{{1,3}}(?i:de|del|de la|la|las|los|do|da|dos|das|di|della|du|des|d')){{0,2}}"
    rf"(?:[ ]{{1,3}}{_CAP}){{1,4}}?,?[ ]{{1,3}}\d{{1,4}}[A-Za-z]?(?![\w])"
)
_STREET_NUMBER_FIRST = re.compile(
    r"(?=\d)(?<![\w])\d{1,4}(?:bis|ter)?,?[ ]{1,3}"
    r"(?i:rue|avenue|boulevard|bd|place|allée|chemin|impasse|quai)"
    rf"(?:[ ]{{1,3}}(?i:de la|de|du|des|d'|di|della|del)){{0,2}}[ ]{{1,3}}{_CAP}"
)
_STREET_GERMANIC = re.compile(
    r"(?=[A-ZÄÖÜ])(?<![\w])[A-ZÄÖÜ][a-zäöüß]{1,30}"
    r"(?:straße|strasse|str\.|weg|gasse|allee|platz|damm|straat|laan|gracht|plein"
    r"|vej|gade|gatan|vägen|veien)"
    r"[ ]{1,3}\d{1,4}[a-z]?(?![\w])"
    r"|(?=[A-ZÄÖÜ])(?<![\w])[A-ZÄÖÜ][a-zäöüß]{1,30}[ ](?:Straße|Strasse|Str\.|Weg|Allee|Platz)"
    r"[ ]{1,3}\d{1,4}[a-z]?(?![\w])"
)


def detect_address(content: str) -> list[PIIMatch]:
    """Street addresses: a house number and a street type (`221B Baker Street`, `12 rue de
    Rivoli`), or a street type, a name and a number (`Calle Mayor 12`, `Hauptstraße 5`)."""
    found: list[PIIMatch] = []
    for pattern in (_STREET_EN, _STREET_ROMANCE, _STREET_NUMBER_FIRST, _STREET_GERMANIC):
        found += [_match("address", content, m.start(), m.end()) for m in pattern.finditer(content)]
    return found


_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|se?tiembre|octubre|noviembre"
    r"|diciembre|januar|februar|märz|juni|juli|oktober|dezember|janvier|février|mars|avril"
    r"|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
)
_DATE = re.compile(
    r"(?i)\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}"
    rf"|\d{{1,2}}(?:st|nd|rd|th|\.)?[ ]{{1,2}}(?:of[ ]|de[ ])?(?:{_MONTHS})\.?,?[ ]{{1,2}}"
    r"(?:de[ ])?\d{4}"
    rf"|(?:{_MONTHS})\.?[ ]{{1,2}}\d{{1,2}}(?:st|nd|rd|th)?,?[ ]{{1,2}}\d{{4}}"
)
_DOB_WORD = re.compile(
    r"(?i)(?=[bdgnf])(?<![\w])(?:born(?:[ ]on)?|date[ ]of[ ]birth|d\.?o\.?b\.?|birth[ ]?date"
    r"|birthday|geboren(?:[ ]am)?|geburtsdatum|née?[ ]le|nacid[oa](?:[ ]el)?"
    r"|fecha[ ]de[ ]nacimiento|data[ ]di[ ]nascita|date[ ]de[ ]naissance)"
    r"(?![\w])[ \t:,=-]{0,4}(?:is[ ]|was[ ])?"
)
_NAME_BEFORE = re.compile(
    r"((?:[A-ZÀ-Þ][^\W\d_]{1,30}[ ]){1,2}[A-ZÀ-Þ][^\W\d_]{1,30})[ ]{0,2}[,(–-]?[ ]{0,2}"
    r"(?:(?:was|is)[ ])?\Z"
)
_NAME_WINDOW = 70


def detect_date_of_birth(content: str) -> list[PIIMatch]:
    """Dates of birth: a date right after "born", "DOB", "date of birth" (and the same words
    in Spanish, French, German, Italian), with the name written just before them."""
    found: list[PIIMatch] = []
    for word in _DOB_WORD.finditer(content):
        when = _DATE.match(content, word.end())
        if when is None:
            continue
        window_start = max(0, word.start() - _NAME_WINDOW)
        name = _NAME_BEFORE.search(content, window_start, word.start())
        if name is not None:
            found.append(_match("name", content, name.start(1), name.end(1)))
        found.append(_match("date_of_birth", content, when.start(), when.end()))
    return found


# --- keys and tokens --------------------------------------------------------------------

_TOKEN_CHARS = "A-Za-z0-9_-"
_API_KEY = re.compile(
    rf"(?=[sAgxrh])(?<![{_TOKEN_CHARS}])(?:"
    rf"sk-ant-[a-z]{{3,8}}\d{{2}}-[{_TOKEN_CHARS}]{{20,}}+"  # Anthropic
    rf"|sk-(?:proj-|svcacct-|admin-|None-)?[{_TOKEN_CHARS}]{{20,}}+"  # OpenAI
    r"|(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,255}+"  # GitHub
    r"|github_pat_[A-Za-z0-9_]{22,255}+"
    r"|glpat-[A-Za-z0-9_-]{20,}+"  # GitLab
    r"|xox[abposre]-[A-Za-z0-9-]{10,}+"  # Slack
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}+"  # Stripe
    r"|AIza[A-Za-z0-9_-]{35}"  # Google API key
    r"|hf_[A-Za-z0-9]{30,}+"  # Hugging Face
    r"|https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,}+"
    r")"
)
_SECRET_AFTER_WORD = re.compile(
    r"(?i)(?:secret(?:[ _]access)?[ _]key|api[ _-]?key|access[ _-]?token|auth[ _-]?token"
    r"|secret|(password|passwd|pwd)|token)[\"']?[ \t]{0,3}[:=][ \t]{0,3}[\"']?"
    r"|(?i:secret[ _]key|aws[ _]secret)[ \t]{1,3}"
)
_SECRET_VALUE = re.compile(r"[A-Za-z0-9/+_.~=-]{16,128}(?![A-Za-z0-9/+_.~=-])")
_PASSWORD_VALUE = re.compile(r"[^\s\"'`,;]{8,128}(?![^\s\"'`,;])")


def _looks_random(value: str) -> bool:
    """A key or password, not a word or placeholder: mixes letters and digits."""
    return any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)


def detect_api_key(content: str) -> list[PIIMatch]:
    """API keys and tokens in their providers' formats (OpenAI, Anthropic, AWS, GitHub,
    GitLab, Slack, Stripe, Google, Hugging Face), and secrets written after `token:`,
    `secret key` and the like (16+ characters mixing letters and digits) or after
    `password=` (8+ characters mixing letters and digits)."""
    found = [
        _match("api_key", content, m.start(), m.end())
        for m in _API_KEY.finditer(content)
        if _looks_random(m.group())
    ]
    for word in _SECRET_AFTER_WORD.finditer(content):
        pattern = _PASSWORD_VALUE if word.group(1) else _SECRET_VALUE
        value = pattern.match(content, word.end())
        if value is not None and _looks_random(value.group()):
            found.append(_match("api_key", content, value.start(), value.end()))
    return found


_JWT = re.compile(
    r"(?=e)(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+"
)


def detect_jwt(content: str) -> list[PIIMatch]:
    """JSON web tokens: `eyJ<header>.eyJ<payload>.<signature>`."""
    return [_match("jwt", content, m.start(), m.end()) for m in _JWT.finditer(content)]


# --- disguised contact details ----------------------------------------------------------

_AT_BRACKETED = r"[ ]{0,2}[\[({<][ ]{0,2}at[ ]{0,2}[\])}>][ ]{0,2}"
_DOT_BRACKETED = r"[ ]{0,2}[\[({<][ ]{0,2}dot[ ]{0,2}[\])}>][ ]{0,2}"
_LABEL = r"[A-Za-z0-9-]{1,63}"
_OBFUSCATED_EMAIL = re.compile(
    r"(?i)(?=[A-Za-z0-9._%+-])(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}"
    rf"(?:(?:{_AT_BRACKETED}|[ ]{{1,2}}at[ ]{{1,2}}|@){_LABEL}"
    rf"(?:(?:{_DOT_BRACKETED}|[ ]{{1,2}}dot[ ]{{1,2}}){_LABEL}){{1,4}}"
    rf"|{_AT_BRACKETED}{_LABEL}(?:\.{_LABEL}){{1,4}})"
    r"(?![A-Za-z0-9-])"
)
_TLDS = frozenset({
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "io", "co",
    "ai", "app", "dev", "me", "tv", "cc", "xyz", "online", "site", "tech", "uk", "de", "fr",
    "es", "it", "nl", "be", "ch", "at", "se", "no", "dk", "fi", "pl", "pt", "ie", "eu", "us",
    "ca", "mx", "br", "ar", "cl", "au", "nz", "jp", "cn", "kr", "in", "ru", "tr", "za", "gr",
    "cz", "hu", "ro", "il", "sg", "hk", "tw",
})  # fmt: skip
"""Top-level domains an obfuscated address must end in (the common ones)."""


def detect_obfuscated_email(content: str) -> list[PIIMatch]:
    """Email addresses written to dodge a detector: `ann at example dot com`,
    `ann [at] example [dot] com`, `ann(at)example(dot)co(dot)uk`, `ann {at} example.com`.

    A plain " at " counts only with the dots written as words or brackets too, so that
    "meet at example.com" is not an address.
    """
    found: list[PIIMatch] = []
    for m in _OBFUSCATED_EMAIL.finditer(content):
        start = m.end()
        while start > m.start() and (content[start - 1].isalnum() or content[start - 1] == "-"):
            start -= 1  # the last label: at most 63 characters
        if content[start : m.end()].lower() in _TLDS:
            found.append(_match("email", content, m.start(), m.end()))
    return found


_DIGIT_WORDS = (
    "zero|oh|one|two|three|four|five|six|seven|eight|nine"
    "|cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve"
    "|zéro|un|deux|trois|quatre|cinq|sept|huit|neuf"
    "|null|eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun"
)
_DIGIT_WORD = rf"(?:(?:double|triple|doble)[ ]{{1,2}})?(?:{_DIGIT_WORDS})(?![\w])"
_SPELLED_PHONE = re.compile(
    rf"(?i)(?=[zotfsencdquahmpv])(?<![\w])(?:(?:plus|más)[ ]{{1,2}})?{_DIGIT_WORD}"
    rf"(?:[ ,.;/-]{{1,3}}{_DIGIT_WORD}){{6,}}+"
)


def detect_spelled_phone(content: str) -> list[PIIMatch]:
    """Phone numbers spelled out: seven or more digit words in a row (English, Spanish,
    French, German), with an optional "plus" and "double"/"triple"."""
    return [_match("phone", content, m.start(), m.end()) for m in _SPELLED_PHONE.finditer(content)]
