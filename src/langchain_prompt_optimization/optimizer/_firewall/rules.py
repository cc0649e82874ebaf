"""The rule tables (instruction shapes per category and language), compiled and gated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_prompt_optimization.optimizer._firewall.tables import (
    EXFIL_VERBS,
    IGNORE_EN,
    IGNORE_FOREIGN,
    MONEY_EN,
    REVEAL_EN,
    REVEAL_FOREIGN,
    ROLE_EN,
    ROLE_MARKER,
    TOOLS_EN,
)
from langchain_prompt_optimization.optimizer._firewall.text import _fold

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__: list[str] = []

# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------
# Rule sources use a tiny notation: a space is a gap between words (any non-word run),
# " ~ " is a gap that may also hold up to three filler words, " ~~ " up to six. Each rule
# is compiled three ways: for the text as written, for the normalized text (the source
# itself folded the same way, so accents and Cyrillic still line up), and, for English,
# "squashed" (no gaps at all) for letter-spaced runs.

_GAP = r"\W+"
_FILL = r"\W+(?:\w+\W+){0,3}?"
_LONG_FILL = r"\W+(?:\w+\W+){0,6}?"
# Up to twelve words, within one sentence (a dot ends it unless it ends an abbreviation).
_IN_SENTENCE = r"(?:[^\w.!?;\n]|\.(?!\s)|(?<=\W\w)\.)+"
_LONGER_FILL = rf"{_IN_SENTENCE}(?:\w+{_IN_SENTENCE}){{0,12}}?"
# "Never share passwords", "don't ever reveal ...": a negation right before the verb, in the
# same clause (punctuation ends it, so "No, ignore all rules" is not negated).
_NEGATION = re.compile(
    r"\b(?:never|not|don'?t|dont|do not|no|avoid|nor|mustn'?t|shouldn'?t|can'?t|cannot|"
    r"won'?t|refuse to|stop)[ \t]+"
    r"(?:asks?(?: you)? (?:to|for) |(?!mind\b|hesitate\b|fail\b|forget\b)\w+[ \t]+)?$"
)
_LINE_PREFIX = re.compile(r"[\s#*>\[\]()|-]*")  # markup allowed before a line-start rule
_FIRST_PERSON = re.compile(r"\b(?:my|mine|i|i've|i'd)\b")


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    lang: str
    source: str
    negatable: bool
    first_person_ok: bool
    line_start: bool  # only counts at the start of a line ("SYSTEM: ...")
    written: re.Pattern[str]
    normalized: re.Pattern[str]
    squashed: re.Pattern[str] | None  # English only
    gate: frozenset[str]  # how a word starts where this rule can match the text as written
    folded_gate: frozenset[str]  # the same for normalized text ("1" may stand for i or l)


def _one_as_il(source: str) -> str:
    """Let a pattern's `i` and `l` also match a leetspeak `1` (outside classes/escapes)."""
    out: list[str] = []
    in_class = escaped = False
    for ch in source:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "il":
            out.append(f"[{ch}1]")
            continue
        out.append(ch)
    return "".join(out)


def _normalized_source(source: str) -> str:
    return _one_as_il(_expand(_fold(source)))


def _expand(source: str, *, squash: bool = False) -> str:
    if squash:
        return (
            source.replace(" ~~~ ", r"[^\W\d_]{0,80}?")
            .replace(" ~~ ", r"[^\W\d_]{0,40}?")
            .replace(" ~ ", r"[^\W\d_]{0,24}?")
            .replace(" ", "")
            .replace(r"\b", "")
            .replace(r"\W+", "")
        )
    source = source.replace(" ~~~ ", _LONGER_FILL).replace(" ~~ ", _LONG_FILL)
    return source.replace(" ~ ", _FILL).replace(" ", _GAP)


def _rule(
    category: str,
    lang: str,
    source: str,
    *,
    negatable: bool = True,
    first_person_ok: bool = True,
    line_start: bool = False,
) -> _Rule:
    if re.search(r"\\[A-Z]", source):  # sources are casefolded for normalized text
        msg = f"rule sources must not use upper-case escapes: {source[:60]!r}"
        raise ValueError(msg)
    gate = _gate(source) if lang not in _CJK_LANGS else set()
    folded_gate = {_fold(prefix) for prefix in gate}
    for old in "il":
        folded_gate |= {prefix.replace(old, "1") for prefix in folded_gate}
    return _Rule(
        category=category,
        lang=lang,
        source=source,
        negatable=negatable,
        first_person_ok=first_person_ok,
        line_start=line_start,
        written=re.compile(_expand(source)),
        normalized=re.compile(_normalized_source(source)),
        squashed=(
            re.compile(_one_as_il(_expand(_fold(source), squash=True))) if lang == "en" else None
        ),
        gate=frozenset(gate),
        folded_gate=frozenset(folded_gate),
    )


def _gate(source: str) -> set[str]:
    """The first two letters of every word a Latin-script rule can start with.

    A rule is tried only where a word with one of these beginnings starts, which keeps
    long texts fast. Sources start with `\\b` and a word or a `(?:...)` group of words.

    Raises:
        ValueError: If the source's first word cannot be read (fix the source).
    """
    text = source.removeprefix(r"\b")
    if text.startswith("<"):
        return {"<"}
    alternatives = [text]
    if text.startswith("(?:"):
        depth, end = 0, len(text)
        for index, ch in enumerate(text):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0:
                end = index
                break
        alternatives = []
        if text[end + 1 : end + 2] not in ("?", "*", "{"):
            depth, current = 0, ""
            for ch in text[3:end]:
                depth += {"(": 1, ")": -1}.get(ch, 0)
                if ch == "|" and depth == 0:
                    alternatives.append(current)
                    current = ""
                else:
                    current += ch
            alternatives.append(current)
    gate: set[str] = set()
    for alternative in alternatives:
        word = _LEADING_LETTERS.match(alternative)
        letters = word.group(0) if word else ""
        if alternative[len(letters) : len(letters) + 1] in ("?", "*", "{"):
            letters = letters[:-1]
        if len(letters) < 2:
            gate.clear()
            break
        gate.add(letters[:2])
    if not gate:
        msg = f"cannot read the first word of rule {source[:60]!r}"
        raise ValueError(msg)
    return gate


_LEADING_LETTERS = re.compile(r"[^\W\d_]+")
_CJK_LANGS = ("zh", "ja")


def _build_rules() -> tuple[_Rule, ...]:
    rules: list[_Rule] = []
    for source in REVEAL_EN:
        rules.append(_rule("reveal_secrets", "en", source))
    for lang, sources in REVEAL_FOREIGN.items():
        rules.extend(_rule("reveal_secrets", lang, source) for source in sources)
    for source in IGNORE_EN:
        rules.append(_rule("ignore_rules", "en", source, first_person_ok=False))
    rules.append(_rule("ignore_rules", "en", ROLE_MARKER, line_start=True))
    for lang, sources in IGNORE_FOREIGN.items():
        rules.extend(
            _rule("ignore_rules", lang, source, first_person_ok=False) for source in sources
        )
    for source in TOOLS_EN:
        rules.append(_rule("tool_permissions", "en", source))
    for source in MONEY_EN:
        rules.append(_rule("exfiltration", "en", source))
    for source in ROLE_EN:
        rules.append(_rule("role_play", "en", source, first_person_ok="you are now" not in source))
    return tuple(rules)


_RULE_SET = _build_rules()
_CJK_SET = tuple(rule for rule in _RULE_SET if rule.lang in _CJK_LANGS)


def _gated(key: Callable[[_Rule], frozenset[str]]) -> dict[str, tuple[_Rule, ...]]:
    """Rules by the beginnings of the words they can start at, in `_RULE_SET` order."""
    table: dict[str, list[_Rule]] = {}
    for rule in _RULE_SET:
        for prefix in key(rule):
            table.setdefault(prefix, []).append(rule)
    return {prefix: tuple(rules) for prefix, rules in table.items()}


_WRITTEN_GATES = _gated(lambda rule: rule.gate)
_FOLDED_GATES = _gated(lambda rule: rule.folded_gate)
_SQUASHED_GATES = _gated(lambda rule: rule.folded_gate if rule.squashed else frozenset())
_STARTS = re.compile(r"\b\w|<")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_Hit = tuple[_Rule, "re.Match[str]"]


def _rule_matches(view: str, *, normalized: bool) -> Iterator[_Hit]:
    """Every rule match in `view`: Latin rules where a gated word starts, then CJK rules."""
    gates = _FOLDED_GATES if normalized else _WRITTEN_GATES
    for start in _STARTS.finditer(view):
        pos = start.start()
        rules = gates.get(view[pos : pos + 2]) or gates.get(view[pos], ())
        for rule in rules:
            match = (rule.normalized if normalized else rule.written).match(view, pos)
            if match is not None:
                yield rule, match
    if _CJK.search(view) is not None:
        for rule in _CJK_SET:
            pattern = rule.normalized if normalized else rule.written
            pos = 0
            while (match := pattern.search(view, pos)) is not None:
                pos = match.start() + 1
                yield rule, match


def _squashed_matches(run: str) -> Iterator[_Hit]:
    """English rule matches in a letter-spaced run, squashed: words may start anywhere."""
    for pos in range(len(run) - 1):
        for rule in _SQUASHED_GATES.get(run[pos : pos + 2], ()):
            match = rule.squashed.match(run, pos) if rule.squashed else None
            if match is not None:
                yield rule, match


_VERBS = tuple(
    (lang, re.compile(source), re.compile(_one_as_il(_fold(source))))
    for lang, source in EXFIL_VERBS.items()
)


def _at_line_start(view: str, start: int) -> bool:
    """Whether only whitespace or markup (`###`, `>`, `-`) precedes `start` on its line."""
    begin = max(0, start - 40)
    newline = view.rfind("\n", begin, start)
    if newline < 0 and begin > 0:
        return False
    return _LINE_PREFIX.fullmatch(view, newline + 1, start) is not None


def _negated(view: str, start: int) -> bool:
    return _NEGATION.search(view, max(0, start - 32), start) is not None


# Other languages negate before the verb ("no olvides", "non dimenticare", "não esqueça") or
# after it ("n'oublie pas", "vergiss nicht", "vergeet niet", "glöm inte").
_FOREIGN_NEGATION_BEFORE = re.compile(
    r"(?:\b(?:no|non|não|nao|ne|nie|nicht|niet|inte|ikke|не|ни)[ \t]+|\bn['’])$"
)
_FOREIGN_NEGATION_AFTER = re.compile(r"\w+[\W_]+(?:pas|nicht|niet|inte|ikke|mai)\b")


def _negated_foreign(view: str, start: int) -> bool:
    """Whether a match of a non-English rule at `start` is negated."""
    return (
        _FOREIGN_NEGATION_BEFORE.search(view, max(0, start - 8), start) is not None
        or _FOREIGN_NEGATION_AFTER.match(view, start) is not None
    )
