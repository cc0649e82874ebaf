"""Names in the store: user labels, `UserRef`, and every namespace and key the layout uses.

Layout under `prefix` (default `("prompt_optimization",)`), `<user>` an encoded user label:

```
(*prefix, "%%users")                       key <user digest>  -> {user_id, label, created_at}
(*prefix, "%%config")                      key "prompts"      -> {prompts: {name: PromptSpec}}
(*prefix, "%%pending")                     key <owner label>  -> {owner, marked_at}
(*prefix, "%%evaluate")                    key <trajectory id>-> {user, owner, trajectory_id, ...}
(*prefix, <user>)                          key "lease"        -> {owner, expires_at}
(*prefix, <user>, "prompts", <prompt>)     key "active"       -> {version, text, latest, ...}
(*prefix, <user>, "prompts", <prompt>)     key "v00000001"... -> PromptVersion (append-only)
(*prefix, <user>, "prompts", <prompt>)     key "scores"       -> {versions: {"3": {n, sum}}}
(*prefix, <user>, "trajectories")          key <trajectory id>-> TrajectoryRecord
(*prefix, <user>, "feedback")              key <feedback id>  -> FeedbackItem
(*prefix, <user>, "threads")               key <thread id>    -> {trajectory_id, prompt_versions}
(*prefix, <owner>, "examples")             key <example id>   -> Example
(*prefix, "%%usage", "h" | "d", <hour|day>) key <charge id>   -> UsageCharge (stores.usage)
```

User ids and prompt names are arbitrary strings (any Unicode, NUL and lone surrogates
included); labels escape `%`, `.` and control characters as `%XX` and surrogates as `%uXXXX`,
so the encoding is reversible and two ids never share a label. The label, not the stored
`user_id` field (written under the storable-text rule of `stores/text.py`), is the exact id.
Labels that start with `%%` are reserved for the package. A trajectory id carries the digest
of its user label (and, until the user is registered, the label itself), so feedback given
with the id alone finds its namespace.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.stores.io import search_all

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langgraph.store.base import Item

    from langchain_prompt_optimization.stores.io import Job

__all__ = [
    "ACTIVE_KEY",
    "CONFIG_KEY",
    "DEFAULT_LABEL",
    "DEFAULT_PREFIX",
    "GLOBAL_LABEL",
    "SCORES_KEY",
    "Namespaces",
    "UserRef",
    "decode_label",
    "encode_label",
    "version_key",
]

DEFAULT_PREFIX: tuple[str, ...] = ("prompt_optimization",)
DEFAULT_LABEL = "%%default"
GLOBAL_LABEL = "%%global"
ACTIVE_KEY = "active"
SCORES_KEY = "scores"
CONFIG_KEY = "prompts"
_USERS = "%%users"
_CONFIG = "%%config"
_PENDING = "%%pending"
_EVALUATE = "%%evaluate"
_ESCAPE = re.compile("[%.\x00-\x1f\x7f\ud800-\udfff]")
_ESCAPED = re.compile(r"%(?:u([0-9A-F]{4})|([0-9A-F]{2}))")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"%u{code:04X}" if code > 0xFF else f"%{code:02X}"


def encode_label(value: str) -> str:
    """Encode an arbitrary non-empty string as a BaseStore namespace label (reversible).

    `%`, `.` and control characters become `%XX`; surrogate code points (a lone one, or the
    halves of a pair, which no backend's UTF-8 encoder accepts) become `%uXXXX`.
    """
    return _ESCAPE.sub(_escape, value)


def decode_label(label: str) -> str:
    """Inverse of `encode_label`."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), label)


def version_key(version: int) -> str:
    """The key of a version record (`v00000003`)."""
    return f"v{version:08d}"


@dataclass(frozen=True, slots=True)
class UserRef:
    """A user namespace: the original id (`None` for the default namespace) and its label."""

    user_id: str | None
    label: str

    @classmethod
    def of(cls, user_id: str | None) -> UserRef:
        """The namespace of `user_id`; `None` is the documented default namespace.

        Raises:
            TypeError: If `user_id` is not a string or `None`.
            ValueError: If `user_id` is an empty string.
        """
        if user_id is None:
            return cls(None, DEFAULT_LABEL)
        if not isinstance(user_id, str):
            msg = f"user_id must be a str or None, got {type(user_id).__name__}"
            raise TypeError(msg)
        if not user_id:
            msg = "user_id must not be empty (use None for the default namespace)"
            raise ValueError(msg)
        return cls(user_id, encode_label(user_id))

    @classmethod
    def from_label(cls, label: str) -> UserRef:
        """The namespace with this label (inverse of `of(...).label`)."""
        if label in (DEFAULT_LABEL, GLOBAL_LABEL):
            return cls(None, label)
        return cls(decode_label(label), label)

    @classmethod
    def global_lineage(cls) -> UserRef:
        """The owner of the one lineage shared by all users in `scope="global"`."""
        return cls(None, GLOBAL_LABEL)

    @property
    def digest(self) -> str:
        """Short stable digest of the label, embedded in trajectory ids."""
        return hashlib.sha256(self.label.encode("utf-8")).hexdigest()[:24]


class Namespaces:
    """The namespace prefix and every namespace built under it (the base of `StoreLayout`).

    Args:
        prefix: Namespace prefix all records live under.

    Raises:
        ValueError: If `prefix` is empty or has a label BaseStore rejects.
    """

    def __init__(self, prefix: Sequence[str] = DEFAULT_PREFIX) -> None:
        prefix = tuple(prefix)
        if not prefix:
            msg = "namespace prefix must have at least one label"
            raise ValueError(msg)
        for label in prefix:
            if not isinstance(label, str) or not label or "." in label or "\x00" in label:
                msg = f"invalid namespace prefix label {label!r}: non-empty, no '.' or NUL"
                raise ValueError(msg)
        if prefix[0] == "langgraph":
            msg = "namespace prefix cannot start with 'langgraph' (reserved by LangGraph)"
            raise ValueError(msg)
        self.prefix = prefix

    def _users_ns(self) -> tuple[str, ...]:
        return (*self.prefix, _USERS)

    def _config_ns(self) -> tuple[str, ...]:
        return (*self.prefix, _CONFIG)

    def _pending_ns(self) -> tuple[str, ...]:
        return (*self.prefix, _PENDING)

    def _evaluation_ns(self) -> tuple[str, ...]:
        return (*self.prefix, _EVALUATE)

    def _user_ns(self, user: UserRef) -> tuple[str, ...]:
        return (*self.prefix, user.label)

    def _prompt_ns(self, user: UserRef, prompt: str) -> tuple[str, ...]:
        return (*self.prefix, user.label, "prompts", encode_label(prompt))

    def _trajectory_ns(self, user: UserRef) -> tuple[str, ...]:
        return (*self.prefix, user.label, "trajectories")

    def _feedback_ns(self, user: UserRef) -> tuple[str, ...]:
        return (*self.prefix, user.label, "feedback")

    def _thread_ns(self, user: UserRef) -> tuple[str, ...]:
        return (*self.prefix, user.label, "threads")

    def _examples_ns(self, owner: UserRef) -> tuple[str, ...]:
        return (*self.prefix, owner.label, "examples")

    def _search_all(
        self, namespace: tuple[str, ...], filter: dict[str, Any] | None
    ) -> Job[list[Item]]:
        """Every item of `namespace` (matching `filter`), paginated (see `io.search_all`)."""
        return search_all(namespace, filter)
