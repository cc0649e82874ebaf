"""Candidate checks: what a rewritten prompt must satisfy before it may be served."""

from __future__ import annotations

import difflib
import re

from langmem.utils import get_var_healer

__all__ = [
    "NO_RECOMMENDATIONS",
    "check_candidate",
    "template_variables",
    "undo_langmem_escaping",
]

NO_RECOMMENDATIONS = "No recommendations."
"""langmem's sentinel text for "the prompt needs no change"."""

_VARIABLE = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


def template_variables(text: str) -> set[str]:
    """The `{name}` template variables of a prompt (doubled braces are literal text)."""
    return set(_VARIABLE.findall(text))


def _escaped_with_origins(current: str) -> tuple[str, list[int | None]]:
    """langmem's escaping of `current`, and for each of its characters the index in `current`.

    langmem passes a candidate through the same healer built from the current prompt: lone
    braces are doubled, the current prompt's `{...}` spans are kept. Inserted braces map to
    `None`.
    """
    escaped = get_var_healer(current)(current)
    origins: list[int | None] = []
    i = 0
    for char in escaped:
        if i < len(current) and char == current[i]:
            origins.append(i)
            i += 1
        else:
            origins.append(None)
    return escaped, origins


def _collapse_braces(text: str) -> str:
    return text.replace("{{", "{").replace("}}", "}")


def undo_langmem_escaping(candidate: str, current: str) -> str:
    """Undo the brace escaping langmem applies to a rewritten prompt.

    langmem doubles every lone `{`/`}` of the text its optimizer returns, which would make
    literal braces (JSON examples) reach the model doubled. Text carried over from the
    current prompt is restored byte for byte (found by aligning the candidate with the
    current prompt as langmem would have escaped it); braces in new text are un-doubled.

    Args:
        candidate: The prompt text langmem returned.
        current: The prompt the optimizer started from.

    Returns:
        The candidate as it should be served.
    """
    if candidate == current or ("{" not in candidate and "}" not in candidate):
        return candidate
    escaped, origins = _escaped_with_origins(current)
    matcher = difflib.SequenceMatcher(None, escaped, candidate, autojunk=False)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            mapped = [o for o in origins[i1:i2] if o is not None]
            if mapped:
                out.append(current[mapped[0] : mapped[-1] + 1])
        elif tag in ("replace", "insert"):
            out.append(_collapse_braces(candidate[j1:j2]))
    return "".join(out)


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
