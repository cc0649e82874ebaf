"""The storable-text rule: NUL and lone surrogates become U+FFFD before a record is written."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from langgraph.store.base import GetOp, PutOp

try:
    import orjson
except ImportError:  # pragma: no cover - orjson comes with langgraph-sdk and langsmith
    orjson = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langgraph.store.base import Op

__all__ = ["REPLACEMENT", "storable", "storable_ops", "storable_text"]

REPLACEMENT = "\ufffd"
"""What a character no backend can store is replaced by (U+FFFD REPLACEMENT CHARACTER)."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD (a well-formed surrogate pair
    becomes the character it encodes). Unchanged, and not copied, when there is none.

    PostgreSQL refuses NUL in `text` and `jsonb`; SQLite's and psycopg's UTF-8 encoders refuse
    surrogates. One rule on every backend keeps a record the same wherever it is stored.
    """
    if _UNSTORABLE.search(text) is None:
        return text
    text = text.replace("\x00", REPLACEMENT)
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def storable(value: Any) -> Any:
    """A copy of a JSON-like value with `storable_text` applied to every string in it (dict
    keys too). Iterative, so any nesting depth works, and linear in the value's size. Tuples
    become lists (their JSON form); values that are not strings, dicts, lists or tuples are
    kept as they are."""
    if isinstance(value, str):
        return storable_text(value)
    if not isinstance(value, dict | list | tuple):
        return value
    if _clean(value):
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, str):
            parent[slot] = storable_text(item)
        elif isinstance(item, dict):
            copy: dict[Any, Any] = {}
            parent[slot] = copy
            for key, child in item.items():
                key = storable_text(key) if isinstance(key, str) else key
                copy[key] = None
                stack.append((child, copy, key))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((child, items, index) for index, child in enumerate(item))
        else:
            parent[slot] = item
    return root[0]


def _clean(value: Any) -> bool:
    """Whether `value` certainly holds no NUL and no surrogate (the common case, checked at C
    speed through its JSON text, so clean records are written as they are, not copied).
    `json.dumps` writes NUL as the six characters `\\u0000` and keeps surrogates as they are;
    a false alarm (text that spells `\\u0000`) only takes the copying path. With orjson
    (installed with langgraph's SDK and langsmith) the check is several times faster: it
    refuses lone surrogates, non-string keys and unknown types, each of which only takes the
    copying path (the same record once stored: a tuple the shortcut keeps is written as a
    list)."""
    if orjson is not None:
        try:
            return b"\\u0000" not in orjson.dumps(value)
        except (TypeError, ValueError):
            return False
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError, RecursionError):
        return False
    return "\\u0000" not in text and _SURROGATE.search(text) is None


def storable_ops(ops: Sequence[Op]) -> list[Op]:
    """`ops` with the rule applied to every put's namespace labels, key and value, and to
    every get's namespace labels and key (so a key is read back as it was written)."""
    out: list[Op] = []
    for op in ops:
        if isinstance(op, PutOp):
            op = op._replace(
                namespace=tuple(storable_text(label) for label in op.namespace),
                key=storable_text(op.key),
                value=None if op.value is None else storable(op.value),
            )
        elif isinstance(op, GetOp):
            op = op._replace(
                namespace=tuple(storable_text(label) for label in op.namespace),
                key=storable_text(op.key),
            )
        out.append(op)
    return out
