"""Candidate checks: what a rewritten prompt must satisfy before it may be served."""

from __future__ import annotations

import bisect
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.optimizer._firewall.text import _fold

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "NO_RECOMMENDATIONS",
    "CandidatePolicy",
    "check_candidate",
    "locked_conflict",
    "locked_sections",
    "locked_violation",
    "template_variables",
    "undo_langmem_escaping",
]

NO_RECOMMENDATIONS = "No recommendations."
"""langmem's sentinel text for "the prompt needs no change"."""

_VARIABLE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_LANGMEM_VAR = re.compile(r"\{(.+?)\}", re.MULTILINE)  # what langmem's healer treats as a span


_POLICY_FIELDS = ("max_prompt_chars", "max_growth_chars", "max_dropped_fraction")
_LOCK_OPEN, _LOCK_CLOSE = "<locked>", "</locked>"
_REMOVAL = re.compile(
    r"\b(remove|delete|drop|stop|don'?t|do not|no longer|never|instead|replace|rather)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CandidatePolicy:
    """Budgets a candidate prompt must respect (against bloat and collapse).

    Attributes:
        max_prompt_chars: Absolute cap on a prompt's length.
        max_growth_chars: Most characters one version may add to its parent.
        max_dropped_fraction: Largest share of the previous version's text a candidate may
            drop (a line whose opening words are still there counts as kept, so edits do),
            unless the feedback asks to remove or replace something. `1` never refuses a
            candidate for what it drops.

    Raises:
        ValueError: If a character budget is not a positive int, or `max_dropped_fraction`
            is not a number with `0 < max_dropped_fraction <= 1`.

    Example:
        ```python
        SafetySettings(policy=CandidatePolicy(max_prompt_chars=4_000, max_dropped_fraction=0.3))
        ```
    """

    max_prompt_chars: int = 8_000
    max_growth_chars: int = 2_000
    max_dropped_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name in ("max_prompt_chars", "max_growth_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                msg = f"CandidatePolicy.{name} must be a positive int; got {value!r}"
                raise ValueError(msg)
        fraction = self.max_dropped_fraction
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, int | float)
            or not 0 < fraction <= 1
        ):
            msg = (
                "CandidatePolicy.max_dropped_fraction must be a number with 0 < x <= 1; "
                f"got {fraction!r}"
            )
            raise ValueError(msg)

    def to_json(self) -> dict[str, Any]:
        """JSON form, as recorded in the prompt configuration (for workers)."""
        return {
            "max_prompt_chars": self.max_prompt_chars,
            "max_growth_chars": self.max_growth_chars,
            "max_dropped_fraction": self.max_dropped_fraction,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CandidatePolicy:
        """Inverse of `to_json`; `None` or an unreadable record gives the defaults."""
        try:
            return cls(**{k: v for k, v in (data or {}).items() if k in _POLICY_FIELDS})
        except (TypeError, ValueError):
            return cls()


def locked_sections(text: str) -> list[str]:
    """The `<locked>...</locked>` sections of a prompt (tags included), in order.

    A locked section (safety rules, tool permissions) must appear verbatim in every
    candidate; the optimizer is told nothing special, the check enforces it. An opening
    tag with no closing tag after it is plain text. One pass: linear time, however many
    tags are left unclosed (the regex `<locked>.*?</locked>` was quadratic on those).
    """
    return [text[start:end] for start, end in _locked_spans(text)]


def _locked_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of each locked section of `text`, in order (see `locked_sections`)."""
    spans: list[tuple[int, int]] = []
    start = text.find(_LOCK_OPEN)
    while start >= 0:
        end = text.find(_LOCK_CLOSE, start + len(_LOCK_OPEN))
        if end < 0:
            break  # no closing tag after this one, so none after any later opening tag
        end += len(_LOCK_CLOSE)
        spans.append((start, end))
        start = text.find(_LOCK_OPEN, end)
    return spans


_OPENING = 24
"""How many opening characters of a line must still be in a candidate for the line to count
as kept."""


def _kept_chars(lines: Sequence[str], candidate: str) -> int:
    """Characters of `lines` kept in `candidate`: a line is kept when its first `_OPENING`
    characters occur anywhere in it. Linear: a line found whole among the candidate's lines
    costs a set look-up; any other is looked up among the candidate's windows of its opening's
    length (one set per distinct length, at most `_OPENING` of them), never by scanning the
    candidate once per line."""
    whole = {line.strip() for line in candidate.splitlines()}
    windows: dict[int, set[str]] = {}
    kept = 0
    for line in lines:
        head = line[:_OPENING]
        if line in whole:
            kept += len(line)
            continue
        found = windows.get(len(head))
        if found is None:
            size = len(head)
            found = {candidate[i : i + size] for i in range(len(candidate) - size + 1)}
            windows[size] = found
        if head in found:
            kept += len(line)
    return kept


def _broken_locked_sections(current: str, candidate: str) -> list[str]:
    """The locked sections of `current` that `candidate` does not contain verbatim.

    Linear: the candidate's own sections are found in one pass and compared as a set; only
    a section missing from that set (the candidate's tags do not pair up the same way) is
    searched for in the whole candidate.
    """
    ours = set(locked_sections(candidate))
    return [s for s in locked_sections(current) if s not in ours and s not in candidate]


# --- locked means locked ------------------------------------------------------------------
# Tag-like text whose name reads "lock..." once folded (case, spaces, homoglyphs, entities):
# `<LOCKED>`, `< locked >`, `<lock>`, `&lt;locked&gt;`, `[locked]`, `<lоcked>` (Cyrillic o).
_TAG_LIKE = re.compile(
    r"(?:<|&lt;|\[|\{)\s*/?\s*([^\s<>\[\]{}&/][^<>\[\]{}&\n]{0,30}?)\s*/?\s*(?:>|&gt;|\]|\})"
)
_NOT_LETTER = re.compile(r"[^a-z]+")
# Framing that retires a rule without changing its text.
_RETIRING = re.compile(
    r"\b(?:retired|deprecated|obsolete|outdated|superseded|no longer (?:appl\w+|valid|in "
    r"effect|active|relevant|binding|enforced)|not (?:in effect|binding|enforced|active)|kept "
    r"(?:only )?for (?:the )?(?:record|reference|history|archive)|for (?:reference|the record|"
    r"historical \w+) only|historical|archived?|disabled|inactive|void|revoked|suspended|"
    r"lifted|ignore (?:the|this|it|what)|does not apply|doesn't apply|example only|old "
    r"(?:rule|version|policy)|previous (?:rule|version|policy)|was removed|has been removed|"
    r"commented out)\b",
    re.IGNORECASE,
)
# A line opening a wrapper around what follows: a comment, a code fence, a quote, a tag.
_WRAPPER_LINE = re.compile(
    r"^\s*(?:<!--|-->|```|~~~|\"\"\"|'''|>|#|//|/\*|\*/|<[^<>/]{1,30}>|</[^<>]{1,30}>)"
)


def _fold_tag(name: str) -> str:
    return _NOT_LETTER.sub("", _fold(name))


def _tag_likes(text: str) -> list[str]:
    """Raw tag-like strings of `text` whose folded name starts with "lock" or "unlock"."""
    found = []
    for match in _TAG_LIKE.finditer(text):
        name = _fold_tag(match.group(1))
        if name.startswith(("lock", "unlock")):
            found.append(match.group(0))
    return found


class _Layout:
    """The line structure of one text, computed once (linear), so each locked section's
    surroundings are read in O(log n) however many sections there are."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
        lines = text.split("\n")
        self.stripped = [line.strip() for line in lines]
        self.fences_before: list[int] = []
        count = 0
        for line in lines:
            self.fences_before.append(count)
            count += line.lstrip().startswith(_FENCES)
        self.previous: list[int | None] = []
        last: int | None = None
        for index, line in enumerate(self.stripped):
            self.previous.append(last)
            last = index if line else last
        self.following: list[int | None] = [None] * len(lines)
        last = None
        for index in range(len(lines) - 1, -1, -1):
            self.following[index] = last
            last = index if self.stripped[index] else last
        self.opens = [m.start() for m in _COMMENT_OPEN.finditer(text)]
        self.closes = [m.start() for m in _COMMENT_CLOSE.finditer(text)]

    def line_of(self, position: int) -> int:
        return bisect.bisect_right(self.starts, position) - 1

    def context(self, start: int) -> tuple[bool, bool]:
        """Whether `start` is inside an HTML comment, and inside a code fence."""
        index = bisect.bisect_right(self.opens, start - len("<!--")) - 1
        in_comment = False
        if index >= 0:
            opened = self.opens[index]
            close = bisect.bisect_left(self.closes, opened)
            in_comment = not (close < len(self.closes) and self.closes[close] + len("-->") <= start)
        line = self.line_of(start)
        fences = self.fences_before[line]
        fences += self.text[self.starts[line] : start].lstrip().startswith(_FENCES)
        return in_comment, fences % 2 == 1

    def neighbours(self, start: int, end: int) -> tuple[str, str, str | None, str | None]:
        """Around `text[start:end]`: the text before it on its line, after it on its line,
        and the nearest non-blank line before and after (`None` at the start/end)."""
        first, last = self.line_of(start), self.line_of(end)
        line_end = self.starts[last + 1] - 1 if last + 1 < len(self.starts) else len(self.text)
        before = self.previous[first]
        after = self.following[last]
        return (
            self.text[self.starts[first] : start].strip(),
            self.text[end:line_end].strip(),
            None if before is None else self.stripped[before],
            None if after is None else self.stripped[after],
        )


_NEWLINE = re.compile("\n")
_COMMENT_OPEN = re.compile("<!--")
_COMMENT_CLOSE = re.compile("-->")
_FENCES = ("```", "~~~")


def locked_violation(current: str, candidate: str) -> str | None:
    """Why `candidate` does not keep `current`'s `<locked>` sections locked, or `None`.

    Each section must appear verbatim (`_broken_locked_sections`), and also: no new
    `<locked>` blocks or look-alike tags (`<LOCKED>`, `< locked >`, `<lock>`,
    `&lt;locked&gt;`, homoglyphs); the same wrapping (not newly inside an HTML comment or a
    code fence); the same text beside it on its line and the same nearest line before and
    after (a neighbour may be added only where there was none, and then not one that
    wraps, quotes or comments it out, or calls it retired, deprecated or kept for the
    record). Linear in the two texts' lengths.
    """
    broken = _broken_locked_sections(current, candidate)
    if broken:
        return f"candidate changes or drops {len(broken)} locked section(s): {broken[0][:60]!r}"
    ours = locked_sections(current)
    if len(locked_sections(candidate)) > len(ours) or candidate.count(_LOCK_OPEN) > current.count(
        _LOCK_OPEN
    ):
        return "candidate adds a <locked> section (only people add locked sections)"
    known_tags = set(_tag_likes(current))
    new_tags = [tag for tag in _tag_likes(candidate) if tag not in known_tags]
    if new_tags:
        return f"candidate adds a tag that imitates <locked>: {new_tags[0][:40]!r}"
    was_layout, now_layout = _Layout(current), _Layout(candidate)
    found: dict[str, list[int]] = {}
    for start, end in reversed(_locked_spans(candidate)):
        found.setdefault(candidate[start:end], []).append(start)
    for was, was_end in _locked_spans(current):
        section = current[was:was_end]
        places = found.get(section)
        now = places.pop() if places else candidate.find(section)
        if was_layout.context(was) != now_layout.context(now):
            return f"candidate comments out or fences a locked section: {section[:60]!r}"
        before, after, previous, following = was_layout.neighbours(was, was_end)
        c_before, c_after, c_previous, c_following = now_layout.neighbours(now, now + len(section))
        if (before, after) != (c_before, c_after):
            return f"candidate changes the text beside a locked section: {section[:60]!r}"
        for old, new in ((previous, c_previous), (following, c_following)):
            if old is not None and new != old:
                return f"candidate changes the line next to a locked section: {section[:60]!r}"
            if (
                old is None
                and new is not None
                and (_RETIRING.search(new) or _WRAPPER_LINE.match(new))
            ):
                return f"candidate adds a line that retires or wraps a locked section: {new[:60]!r}"
    return None


_CONTENT_WORD = re.compile(r"[^\W\d_]{4,}")
_STOPWORDS = frozenset(
    (  # noqa: SIM905 (one word per entry would be 60 lines)
        "this that with from have will your they them their there these those what when where "
        "which while would should could about into only also than then were been being does "
        "always never every each other such more most some very must just over under after "
        "before please"
    ).split()
)
_LOCK_TAGS = re.compile(r"</?locked>")
# Words that weaken a rule: exceptions, permissions, reversals ("never"/"always"/"must" only
# restate how strict it is, so they are not among them).
_QUALIFIER = re.compile(
    r"\b(?:except|unless|but|however|instead|no longer|anymore|not (?:needed|required|necessary)|"
    r"optional|override|regardless|even (?:if|when)|allowed|may|can|ok|okay|fine|acceptable|"
    r"permitted|exempt\w*|skip|without|ignore|only (?:if|when)|no need|exception|waive\w*|"
    r"relax\w*|suspend\w*|lift\w*|disable\w*)\b",
    re.IGNORECASE,
)
_UNIT = re.compile(r"[^\n.!?]+[.!?]?")
_RULE_REFERENCE = re.compile(
    r"\b(?:rules?|sections?|polic(?:y|ies)|instructions?|blocks?|locked|guidelines?|"
    r"constraints?|restrictions?)\b",
    re.IGNORECASE,
)


def _stems(text: str) -> set[str]:
    words = (w.casefold() for w in _CONTENT_WORD.findall(text))
    return {w[:4] for w in words if w not in _STOPWORDS}


def _qualifiers(text: str) -> set[str]:
    return {" ".join(m.group(0).casefold().split()) for m in _QUALIFIER.finditer(text)}


def locked_conflict(added: str, current: str) -> str | None:
    """A sentence of `added` that is about a `<locked>` rule of `current` and qualifies it
    differently, or `None`.

    "About" means sharing at least two content words (first four letters) with one sentence
    of a locked section; "qualifies it differently" means it uses an exception, permission
    or reversal word the rule's sentence does not ("may", "unless", "no longer", "skip",
    "fine without", ...), so restating the rule ("do not send money without confirmation")
    is not a conflict. A sentence that calls a rule or section retired, deprecated or no
    longer applying is one whatever words it shares.
    Whether it contradicts the rule is a judgement (a model screener's): this only finds
    the sentences to judge. Linear in the two texts' lengths.
    """
    rules = [
        (stems, _qualifiers(unit))
        for section in locked_sections(current)
        for unit in _UNIT.findall(_LOCK_TAGS.sub(" ", section))
        if len(stems := _stems(unit)) >= 2
    ]
    if not rules:
        return None
    for unit in _UNIT.findall(added):
        if _RETIRING.search(unit) and _RULE_REFERENCE.search(unit):
            return " ".join(unit.split())  # "the payment rule above is retired"
        qualifiers = _qualifiers(unit)
        if not qualifiers:
            continue
        words = _stems(unit)
        if any(len(words & stems) >= 2 and qualifiers - said for stems, said in rules):
            return " ".join(unit.split())
    return None


def template_variables(text: str) -> set[str]:
    """The `{name}` template variables of a prompt (doubled braces are literal text)."""
    return set(_VARIABLE.findall(text))


def undo_langmem_escaping(candidate: str, current: str) -> str:
    """Undo the brace escaping langmem applies to a rewritten prompt.

    langmem's healer masks the `{...}` spans of the current prompt, doubles every other
    lone `{`/`}` of the optimizer's answer, and unmasks. This is its exact inverse: mask the
    same spans, un-double the braces, unmask. Literal braces (JSON examples) and
    `{variables}` therefore reach the model as the optimizer wrote them. (A `{{` the
    optimizer itself wrote cannot be told apart from an escaped `{` and comes back single.)

    Args:
        candidate: The prompt text langmem returned.
        current: The prompt the optimizer started from.

    Returns:
        The candidate as it should be served.
    """
    if candidate == current:
        return candidate
    spans = {f"{{{v}}}": f"\x00{uuid.uuid4().hex}\x00" for v in _LANGMEM_VAR.findall(current)}
    text = candidate
    if spans:
        pattern = re.compile("|".join(map(re.escape, sorted(spans, key=len, reverse=True))))
        text = pattern.sub(lambda m: spans[m.group(0)], text)
    text = text.replace("{{", "{").replace("}}", "}")
    for span, token in spans.items():
        text = text.replace(token, span)
    return text


def check_candidate(
    candidate: str,
    current: str,
    *,
    policy: CandidatePolicy | None = None,
    feedback: Sequence[str] = (),
) -> str | None:
    """Why `candidate` must not replace `current`, or `None` when it may.

    Refused: empty or whitespace-only text (langmem's `prompt_memory` returns `""` when it
    chooses not to update), langmem's "No recommendations." sentinel, a candidate that drops
    a `{variable}` or does not keep a `<locked>` section locked (`locked_violation`), and (with a
    policy) one over `max_prompt_chars`, growing more than `max_growth_chars`, or dropping
    more than `max_dropped_fraction` of the current lines when the feedback did not ask to
    remove anything.
    """
    if not candidate.strip():
        return "empty candidate: the optimizer proposed no prompt text"
    if candidate.strip().lower().startswith(NO_RECOMMENDATIONS.lower().rstrip(".")):
        return "the optimizer answered 'No recommendations.' instead of a prompt"
    dropped = template_variables(current) - template_variables(candidate)
    if dropped:
        names = ", ".join("{" + name + "}" for name in sorted(dropped))
        return f"candidate drops template variable(s) {names}"
    if policy is not None:
        # Size first: it bounds what the remaining checks read.
        if len(candidate) > policy.max_prompt_chars:
            cap = policy.max_prompt_chars
            return f"candidate is {len(candidate)} characters, over max_prompt_chars={cap}"
        growth = len(candidate) - len(current)
        if growth > policy.max_growth_chars:
            cap = policy.max_growth_chars
            return f"candidate grows by {growth} characters, over max_growth_chars={cap}"
    broken = locked_violation(current, candidate)
    if broken is not None:
        return broken
    if policy is None:
        return None
    lines = [line.strip() for line in current.splitlines() if line.strip()]
    if lines and not any(_REMOVAL.search(text) for text in feedback):
        # A line counts as kept when it, or its opening words, are still in the candidate
        # (so edits count as kept).
        total = sum(len(line) for line in lines)
        kept = _kept_chars(lines, candidate) / total
        if 1 - kept > policy.max_dropped_fraction:
            return (
                f"candidate keeps only {kept:.0%} of the current prompt and the feedback did "
                "not ask to remove anything"
            )
    return None
