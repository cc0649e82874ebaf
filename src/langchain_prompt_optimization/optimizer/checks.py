"""Candidate checks: what a rewritten prompt must satisfy before it may be served."""

from __future__ import annotations

import re
import uuid

__all__ = [
    "NO_RECOMMENDATIONS",
    "check_candidate",
    "template_variables",
    "undo_langmem_escaping",
]

NO_RECOMMENDATIONS = "No recommendations."
"""langmem's sentinel text for "the prompt needs no change"."""

_VARIABLE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_LANGMEM_VAR = re.compile(r"\{(.+?)\}", re.MULTILINE)  # what langmem's healer treats as a span


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


def check_candidate(candidate: str, current: str) -> str | None:
    """Why `candidate` must not replace `current`, or `None` when it may.

    Refused: empty or whitespace-only text (langmem's `prompt_memory` returns `""` when it
    chooses not to update), langmem's "No recommendations." sentinel, and any candidate that
    drops a `{variable}` the current prompt has.
    """
    if not candidate.strip():
        return "empty candidate: the optimizer proposed no prompt text"
    if candidate.strip().lower().startswith(NO_RECOMMENDATIONS.lower().rstrip(".")):
        return "the optimizer answered 'No recommendations.' instead of a prompt"
    dropped = template_variables(current) - template_variables(candidate)
    if dropped:
        names = ", ".join("{" + name + "}" for name in sorted(dropped))
        return f"candidate drops template variable(s) {names}"
    return None
