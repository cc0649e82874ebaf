"""What each dashboard page shows, read through `PromptRegistry`'s async API."""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.review.dashboard.charts import (
    Marker,
    ServedVersion,
    feedback_chart,
    score_chart,
)
from langchain_prompt_optimization.review.dashboard.worddiff import word_diff

if TYPE_CHECKING:
    from langchain_prompt_optimization.review.registry import PromptRegistry
    from langchain_prompt_optimization.stores import FeedbackItem, PromptVersion
    from langchain_prompt_optimization.stores.overview import UserSummary

__all__ = [
    "UsersPage",
    "extra_fields",
    "lineage_page",
    "shown",
    "users_page",
]

logger = logging.getLogger(__name__)

VERSION_FIELDS = frozenset(
    {
        "prompt", "version", "text", "status", "created_at", "reason", "parent",
        "feedback_ids", "optimizer_kind", "usage", "review", "scores", "flagged",
        "replaced", "content_hash", "base_hash", "verdicts",
    }
)  # fmt: skip
"""`PromptVersion` fields the timeline lays out itself; any other field is listed as is."""

FEEDBACK_FIELDS = frozenset(
    {"id", "trajectory_id", "feedback", "score", "source", "status", "created_at",
     "user_id", "user_label", "quarantine_reason"}
)  # fmt: skip
"""`FeedbackItem` fields the feedback tables lay out themselves."""


def extra_fields(record: Any, laid_out: frozenset[str]) -> list[tuple[str, Any]]:
    """The fields of a record (a dataclass) the page does not lay out itself and that have a
    value: fields added to `PromptVersion` or `FeedbackItem` later show up without a change
    here."""
    if not dataclasses.is_dataclass(record):
        return []
    return [
        (f.name, getattr(record, f.name))
        for f in dataclasses.fields(record)
        if f.name not in laid_out and getattr(record, f.name) not in (None, "", (), [], {})
    ]


def shown(value: Any) -> str:
    """A stored value as text (the template escapes it): times in UTC, dicts and lists as
    JSON, feedback dicts included."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, indent=1, default=str, sort_keys=True)
    return str(value)


def when(value: Any) -> str:
    """A stored ISO-8601 time (a review's `at`) as `shown` writes times; other text as is."""
    if isinstance(value, str):
        try:
            return shown(datetime.fromisoformat(value))
        except ValueError:
            return value
    return shown(value)


@dataclass(frozen=True, slots=True)
class UsersPage:
    """One page of the users list."""

    rows: list[UserSummary]
    total: int
    matching: int
    page: int
    pages: int
    query: str


async def users_page(
    registry: PromptRegistry, *, query: str, page: int, page_size: int
) -> UsersPage:
    """Users whose id contains `query` (case-insensitive), one page of them summarized.

    Two reads whatever the number of users: `ausers()`, then `auser_summaries(page)`.
    """
    users = await registry.ausers()
    needle = query.casefold().strip()
    matching = (
        [u for u in users if needle in ("" if u is None else u).casefold()] if needle else users
    )
    pages = max(1, -(-len(matching) // page_size))
    page = min(max(1, page), pages)
    chunk = matching[(page - 1) * page_size : page * page_size]
    rows = await registry.auser_summaries(chunk)
    return UsersPage(rows, len(users), len(matching), page, pages, query)


def _served_at(version: PromptVersion) -> datetime:
    """When a version started being served: its approval, else its creation."""
    review = version.review or {}
    if review.get("action") == "approve" and isinstance(review.get("at"), str):
        return datetime.fromisoformat(review["at"])
    return version.created_at


def _chart_inputs(
    versions: list[PromptVersion], scores: dict[int, dict[str, Any]]
) -> tuple[list[ServedVersion], list[Marker]]:
    served: list[ServedVersion] = []
    markers: list[Marker] = []
    for version in versions:
        if version.status not in ("active", "inactive"):
            continue
        stats = scores.get(version.version, {})
        at = _served_at(version)
        served.append(ServedVersion(version.version, at, stats.get("mean"), stats.get("n", 0)))
        action = (version.review or {}).get("action")
        if action in ("rollback", "auto-rollback"):
            markers.append(
                Marker(version.version, at, "rollback", f"v{version.version}: {version.reason}")
            )
            if action == "auto-rollback":
                markers.append(
                    Marker(version.version, at, "pause", f"lineage paused: {version.reason}")
                )
        else:
            markers.append(Marker(version.version, at, "activation", f"v{version.version} served"))
    return served, markers


async def lineage_page(
    registry: PromptRegistry, user_id: str | None, prompt: str
) -> dict[str, Any]:
    """A user's lineage of one prompt: the timeline, monitoring, feedback and both charts.

    Raises:
        UnknownUserError, UnknownPromptError: As the registry's reads.
    """
    versions = await registry.ahistory(user_id, prompt)
    scores = {row["version"]: row for row in await registry.ascores(user_id, prompt)}
    paused = await registry.apaused(user_id, prompt)
    prompts = await registry.aprompts()
    feedback = await registry.afeedback(user_id, pending_only=False)
    by_id: dict[str, FeedbackItem] = {fb.id: fb for fb in feedback}
    now = datetime.now(UTC)
    served, markers = _chart_inputs(versions, scores)
    active = next((v for v in versions if v.status == "active"), None)
    return {
        "versions": versions,
        "active": active,
        "scores": scores,
        "paused": paused,
        "prompts": prompts or [prompt],
        "feedback": feedback,
        "feedback_by_id": by_id,
        "score_svg": score_chart(served, markers, now=now),
        "feedback_svg": feedback_chart(
            ((fb.created_at, fb.status) for fb in feedback), today=now.date()
        ),
        "quarantined": [fb for fb in feedback if fb.status == "quarantined"],
    }


async def diff_page(
    registry: PromptRegistry, user_id: str | None, prompt: str, a: int, b: int
) -> dict[str, Any]:
    """Two versions side by side with the changed words marked.

    Raises:
        UnknownVersionError: If either version does not exist.
    """
    left = await registry.aversion(user_id, a, prompt)
    right = await registry.aversion(user_id, b, prompt)
    versions = await registry.ahistory(user_id, prompt)
    return {
        "left": left,
        "right": right,
        "diff": word_diff(left.text, right.text),
        "numbers": [v.version for v in versions],
    }
