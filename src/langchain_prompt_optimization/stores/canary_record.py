"""Canary state: the record on a prompt's pointer and the arm a run is served (pure)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from langchain_prompt_optimization.stores.records import review_stamp

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from langchain_prompt_optimization.stores.records import ActivePrompt

__all__ = [
    "CanaryRecord",
    "arm_of_run",
    "canaries_of",
    "canary_id_for",
    "in_canary_arm",
    "new_canary",
    "serve_arm",
    "stopped_canary_record",
]

logger = logging.getLogger(__name__)

_HASH_SPAN = 16**15


@dataclass(frozen=True, slots=True)
class CanaryRecord:
    """A running canary of one prompt, as kept on its pointer (`ActivePrompt.canary`).

    Attributes:
        id: The canary's id, shared by every prompt of the candidate set it came from (one
            arm choice serves all of them).
        prompt: The prompt.
        version: The canary version.
        text: Its text (served to the canary arm with no extra read).
        active: The active version it is compared with.
        fraction: Share of threads (users, in global scope) served the canary.
        policy: The `Canary` policy it runs under (`Canary.to_json()`).
        started_at: When it started (ISO-8601).
    """

    id: str
    prompt: str
    version: int
    text: str
    active: int
    fraction: float
    policy: dict[str, Any]
    started_at: str

    @classmethod
    def from_json(cls, prompt: str, data: Mapping[str, Any]) -> CanaryRecord:
        """Build from the pointer's `canary` entry."""
        return cls(
            id=str(data["id"]),
            prompt=prompt,
            version=int(data["version"]),
            text=str(data["text"]),
            active=int(data["active"]),
            fraction=float(data["fraction"]),
            policy=dict(data.get("policy") or {}),
            started_at=str(data.get("started_at", "")),
        )


def new_canary(
    canary_id: str, version: int, text: str, active: int, policy: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The pointer's `canary` entry for a canary starting now."""
    return {
        "id": canary_id,
        "version": version,
        "text": text,
        "active": active,
        "fraction": float(policy["fraction"]),
        "policy": dict(policy),
        "started_at": now.isoformat(),
    }


def canary_id_for(created_at: str) -> str:
    """The canary id of a candidate set: the versions one commit appends share their
    creation time, so approving its prompts one by one still gives one arm choice."""
    return hashlib.sha256(f"canary:{created_at}".encode()).hexdigest()[:16]


def canaries_of(active: Mapping[str, ActivePrompt]) -> dict[str, CanaryRecord]:
    """The running canaries among prompt pointers, by prompt (unreadable entries skipped)."""
    out: dict[str, CanaryRecord] = {}
    for name, pointer in active.items():
        if not pointer.canary:
            continue
        try:
            out[name] = CanaryRecord.from_json(name, pointer.canary)
        except (KeyError, TypeError, ValueError):
            logger.warning("unreadable canary entry on %r: %r; ignored", name, pointer.canary)
    return out


def in_canary_arm(canary_id: str, fraction: float, key: str) -> bool:
    """Whether `key` (a thread id, or a user id in global scope) is served the canary: a
    pure, deterministic function of the canary and the key (sticky, the same in every
    process)."""
    digest = hashlib.sha256(f"{canary_id}\x00{key}".encode()).hexdigest()
    return int(digest[:15], 16) / _HASH_SPAN < fraction


def serve_arm(active: Mapping[str, ActivePrompt], key: str) -> dict[str, ActivePrompt]:
    """The pointers a run with arm key `key` is served: a prompt with a running canary
    serves the canary version when `key` falls in its canary arm, else the active one.
    Prompts of one candidate set share a canary id, hence one arm: a run never mixes."""
    served = dict(active)
    for name, canary in canaries_of(active).items():
        if in_canary_arm(canary.id, canary.fraction, key):
            served[name] = active[name].replace(version=canary.version, text=canary.text)
    return served


def arm_of_run(
    canaries: Mapping[str, CanaryRecord], prompt_versions: Mapping[str, int]
) -> Literal["canary", "active"] | None:
    """Which arm served a run with these recorded `prompt_versions` (`None`: neither, e.g. a
    run served before the canary's active version)."""
    if not canaries:
        return None
    served = [prompt_versions.get(name) for name in canaries]
    if all(v == c.version for v, c in zip(served, canaries.values(), strict=True)):
        return "canary"
    if all(v == c.active for v, c in zip(served, canaries.values(), strict=True)):
        return "active"
    return None


def stopped_canary_record(
    record: dict[str, Any], reason: str, action: str, note: str, now: datetime
) -> dict[str, Any]:
    """A canary version's record once it is rejected or stopped (never served again)."""
    return {
        **record,
        "outcome": "rejected",
        "reason": reason,
        "review": review_stamp(action, note, now),
    }
