"""One screening of one text: every view, the rules, the addresses, decoded spans."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from langchain_prompt_optimization.optimizer._firewall.addresses import (
    _DETERMINER_TAIL,
    _RECEIVES,
    _SENTENCE_END,
    _SOURCE_TAIL,
    _VERB_WINDOW,
    _Address,
    _addresses,
    reveal_addresses,
    vouched,
)
from langchain_prompt_optimization.optimizer._firewall.decode import (
    DECODE_DEPTH,
    DecodeBudget,
    decodings,
)
from langchain_prompt_optimization.optimizer._firewall.findings import (
    CANDIDATE_CATEGORIES,
    Finding,
    evidence,
)
from langchain_prompt_optimization.optimizer._firewall.intent import intent_findings, read_concepts
from langchain_prompt_optimization.optimizer._firewall.rules import (
    _FIRST_PERSON,
    _VERBS,
    _at_line_start,
    _Hit,
    _negated,
    _negated_foreign,
    _rule_matches,
    _squashed_matches,
)
from langchain_prompt_optimization.optimizer._firewall.text import (
    _LEET_CHARS,
    _LEET_TABLE,
    _collapse_spacing,
    _fold,
    _leet_view,
    _spaced_runs,
    _text_view,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator

__all__: list[str] = []

_UNIT_SPLIT = re.compile(r"(?<=[.!?])\s+")
_BULLET = re.compile(r"^[\s\-*•>]+|^\d+[.)]\s+")


class _Views:
    """The ways one text is read, each computed once and only when needed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._written: str | None = None
        self._folded: str | None = None
        self._normalized: str | None = None
        self._addresses: dict[bool, list[_Address]] = {}
        self._revealed: dict[bool, str] = {}

    @property
    def written(self) -> str:
        if self._written is None:
            self._written = _text_view(self.text)
        return self._written

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = _fold(self.text)
        return self._folded

    @property
    def normalized(self) -> str:
        if self._normalized is None:
            self._normalized = _collapse_spacing(self.folded)
        return self._normalized

    def address_view(self, *, normalized: bool) -> str:
        """The written or normalized view with disguised addresses written plainly."""
        if normalized not in self._revealed:
            view = self.normalized if normalized else self.written
            self._revealed[normalized] = reveal_addresses(view)
        return self._revealed[normalized]

    def addresses(self, *, normalized: bool) -> list[_Address]:
        """The addresses of `address_view(normalized=normalized)`."""
        if normalized not in self._addresses:
            self._addresses[normalized] = list(_addresses(self.address_view(normalized=normalized)))
        return self._addresses[normalized]


class _Screen:
    """One screening: which categories are wanted, and the first finding per category."""

    def __init__(self, categories: Iterable[str]) -> None:
        self.wanted = set(categories)
        self.found: dict[str, Finding] = {}

    @property
    def done(self) -> bool:
        return self.wanted <= self.found.keys()

    def add(self, category: str, text: str, via: str) -> None:
        if category in self.wanted and category not in self.found:
            self.found[category] = Finding(category, evidence(text), via)

    def findings(self) -> list[Finding]:
        return [self.found[c] for c in CANDIDATE_CATEGORIES if c in self.found]

    def rules(self, views: _Views, *, via: str | None = None) -> None:
        """Run every rule over the text as written, then over its normalized views."""
        written = views.written
        self._take(_rule_matches(written, normalized=False), written, via)
        if self.done:
            return
        folded = views.normalized
        readings = [folded]
        if any(ch in _LEET_CHARS for ch in folded):
            readings.append(_leet_view(folded))
        seen = {written}
        for view in readings:
            if view not in seen and not self.done:
                seen.add(view)
                self._take(_rule_matches(view, normalized=True), view, via or "normalized")
        for run in _spaced_runs(views.folded):
            for squashed in dict.fromkeys((run, run.translate(_LEET_TABLE))):
                if not self.done:
                    self._take(_squashed_matches(squashed), squashed, via or "normalized")

    def intent(self, views: _Views, tools: Collection[str], *, via: str | None = None) -> None:
        """Combinations of concepts (`intent.py`) in the normalized text, any language."""
        if self.done:
            return
        for category, found in intent_findings(read_concepts(views.normalized, tools)):
            self.add(category, found, via or "intent")

    def _take(self, matches: Iterator[_Hit], view: str, via: str | None) -> None:
        """Record the first acceptable match per category; `via=None`: text or language."""
        for rule, match in matches:
            if self.done:
                return
            if rule.category not in self.wanted or rule.category in self.found:
                continue
            if rule.negatable and _negated(view, match.start()):
                continue
            if rule.negatable and rule.lang != "en" and _negated_foreign(view, match.start()):
                continue
            if not rule.first_person_ok and _FIRST_PERSON.search(match.group(0)):
                continue
            if rule.line_start and not _at_line_start(view, match.start()):
                continue
            if via is not None:
                self.add(rule.category, match.group(0), via)
            else:
                self.add(rule.category, match.group(0), "text" if rule.lang == "en" else rule.lang)

    def exfiltration(
        self, views: _Views, trusted: Callable[[_Address], bool], *, via: str | None = None
    ) -> None:
        """An instruction verb shortly before an outside address."""
        if "exfiltration" not in self.wanted or "exfiltration" in self.found:
            return
        written_addresses = {a.text for a in views.addresses(normalized=False)}
        # Windows already checked without a finding: text repeating one address thousands of
        # times ("x.com x.com ...") is checked once per distinct window, not once per address.
        cleared: set[tuple[bool, str, str]] = set()
        for normalized in (False, True):
            view = views.address_view(normalized=normalized)
            for address in views.addresses(normalized=normalized):
                disguised = normalized and address.text not in written_addresses
                if not disguised and (trusted(address) or vouched(view, address)):
                    continue
                window = view[max(0, address.start - _VERB_WINDOW) : address.start]
                ends = list(_SENTENCE_END.finditer(window))
                if ends:
                    window = window[ends[-1].end() :]
                end = address.start + len(address.text)
                after = _SENTENCE_END.split(view[end : end + _VERB_WINDOW], maxsplit=1)[0]
                key = (normalized, window, after)
                if key in cleared:
                    continue
                cleared.add(key)
                if _SOURCE_TAIL.search(window):
                    continue
                found = _exfil_verb(window, normalized)
                if found is not None:
                    verb, verb_via = found
                    self.add("exfiltration", f"{verb} … {address.text}", via or verb_via)
                    return
                receives = _RECEIVES.search(after)
                if receives is not None:
                    evidence = f"{address.text} {receives.group(0)}"
                    self.add(
                        "exfiltration", evidence, via or ("normalized" if normalized else "text")
                    )
                    return


def _exfil_verb(window: str, normalized: bool) -> tuple[str, str] | None:
    if not normalized:
        for lang, pattern, _ in _VERBS:
            for match in pattern.finditer(window):
                if _DETERMINER_TAIL.search(window[: match.start()]):
                    continue
                if not _negated(window, match.start()):
                    return match.group(0), "text" if lang == "en" else lang
        return None
    for view in dict.fromkeys((window, _leet_view(window))):
        for _, _, pattern in _VERBS:
            for match in pattern.finditer(view):
                if _DETERMINER_TAIL.search(view[: match.start()]):
                    continue
                if not _negated(view, match.start()):
                    return match.group(0), "normalized"
    return None


def _units(text: str) -> Iterator[tuple[str, str]]:
    """The lines/sentences of `text`, each with its comparison key."""
    for line in text.splitlines():
        for piece in _UNIT_SPLIT.split(line):
            key = " ".join(_BULLET.sub("", piece).split()).casefold()
            if key:
                yield piece, key


def _added_text(candidate: str, current: str) -> str:
    """The lines/sentences of `candidate` that `current` does not have."""
    known = {key for _, key in _units(current)}
    return "\n".join(piece for piece, key in _units(candidate) if key not in known)


def screen_text(
    screen: _Screen,
    views: _Views,
    trusted: Callable[[_Address], bool],
    tools: Collection[str],
    budget: DecodeBudget,
    *,
    depth: int = 0,
    via: str | None = None,
    last: str | None = None,
) -> None:
    """Every check on one text, then on each of its decoded readings (up to `DECODE_DEPTH`
    encodings deep, within `budget`); `via` is the outermost encoding read."""
    screen.rules(views, via=via)
    screen.exfiltration(views, trusted, via=via)
    screen.intent(views, tools, via=via)
    if depth >= DECODE_DEPTH or screen.done:
        return
    for encoding, decoded in decodings(views.text, after=last):
        if not budget.take(decoded):
            return
        screen_text(
            screen,
            _Views(decoded),
            trusted,
            tools,
            budget,
            depth=depth + 1,
            via=via or encoding,
            last=encoding,
        )
        if screen.done:
            return
