"""Score stats per prompt version: recorded as feedback is consumed, read by monitoring."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langgraph.store.base import GetOp, Item, PutOp

from langchain_prompt_optimization.errors import UnknownPromptError
from langchain_prompt_optimization.stores.directory import Directory, specs_from
from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.labels import ACTIVE_KEY, SCORES_KEY, version_key
from langchain_prompt_optimization.stores.records import ActivePrompt, PromptVersion

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.labels import UserRef

__all__ = ["PromptScores", "ScoreStats", "Scores"]

logger = logging.getLogger(__name__)

ScoreStats = dict[int, tuple[int, float]]
"""A prompt's score stats: `{version: (n, sum)}`."""


def _added(stats: ScoreStats, delta: ScoreStats) -> ScoreStats:
    out = dict(stats)
    for version, (n, total) in delta.items():
        old_n, old_total = out.get(version, (0, 0.0))
        out[version] = (old_n + n, old_total + total)
    return out


@dataclass(frozen=True, slots=True)
class PromptScores:
    """A prompt's score stats, people's feedback and evaluators' apart.

    Attributes:
        people: `{version: (n, sum)}` of scored feedback people gave.
        evaluators: The same for evaluators' verdicts (`source="evaluator:<key>"`).
    """

    people: ScoreStats = field(default_factory=dict)
    evaluators: ScoreStats = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.people or self.evaluators)

    def plus(self, other: PromptScores) -> PromptScores:
        """These stats with `other`'s added."""
        return PromptScores(
            _added(self.people, other.people), _added(self.evaluators, other.evaluators)
        )


def _stats_from(entries: object) -> ScoreStats:
    stats: ScoreStats = {}
    for version, entry in (entries if isinstance(entries, dict) else {}).items():
        try:
            stats[int(version)] = (int(entry.get("n", 0)), float(entry.get("sum", 0.0)))
        except (AttributeError, TypeError, ValueError):
            logger.warning("unreadable score entry %r: %r; skipped", version, entry)
    return stats


def _scores_from(value: dict[str, Any]) -> PromptScores:
    """The stats of a `"scores"` record (people's under `versions`, evaluators' under
    `evaluator_versions`); unreadable entries are skipped (and logged), so a damaged record
    never blocks a lineage's learning."""
    return PromptScores(
        _stats_from(value.get("versions")), _stats_from(value.get("evaluator_versions"))
    )


def _entries(stats: ScoreStats) -> dict[str, dict[str, Any]]:
    return {str(v): {"n": n, "sum": total} for v, (n, total) in sorted(stats.items())}


class Scores(Directory):
    """Each prompt's `"scores"` record and the reads monitoring makes, as `StoreLayout` jobs."""

    def read_scores(self, owner: UserRef, names: Sequence[str]) -> Job[dict[str, PromptScores]]:
        """The recorded score stats of each prompt."""
        if not names:
            return {}
        results = yield from batch(
            [GetOp(self._prompt_ns(owner, name), SCORES_KEY) for name in names]
        )
        return {
            name: _scores_from(item.value)
            for name, item in zip(names, results, strict=True)
            if isinstance(item, Item)
        }

    def _score_ops(
        self, owner: UserRef, deltas: dict[str, PromptScores], now: datetime
    ) -> Job[list[Op]]:
        """Writes of each prompt's score record with `deltas` added (read fresh; under the
        owner's lease nobody else writes them)."""
        names = [name for name, delta in deltas.items() if delta]
        current = yield from self.read_scores(owner, names)
        ops: list[Op] = []
        for name in names:
            merged = current.get(name, PromptScores()).plus(deltas[name])
            record: dict[str, Any] = {
                "prompt": name,
                "versions": _entries(merged.people),
                "updated_at": now.isoformat(),
            }
            if merged.evaluators:
                record["evaluator_versions"] = _entries(merged.evaluators)
            ops.append(PutOp(self._prompt_ns(owner, name), SCORES_KEY, record))
        return ops

    def read_monitoring(
        self, owner: UserRef, active: dict[str, ActivePrompt]
    ) -> Job[tuple[dict[str, PromptVersion], dict[str, PromptScores]]]:
        """What monitoring judges, in ONE batch: each prompt's active version record (status
        as stored: `accepted` reads as `inactive`) and its recorded score stats."""
        names = list(active)
        if not names:
            return {}, {}
        results = yield from batch(
            [GetOp(self._prompt_ns(owner, n), version_key(active[n].version)) for n in names]
            + [GetOp(self._prompt_ns(owner, n), SCORES_KEY) for n in names]
        )
        versions, stats = results[: len(names)], results[len(names) :]
        return (
            {
                name: PromptVersion.from_json(dict(item.value), active_version=None)
                for name, item in zip(names, versions, strict=True)
                if isinstance(item, Item)
            },
            {
                name: _scores_from(item.value)
                for name, item in zip(names, stats, strict=True)
                if isinstance(item, Item)
            },
        )

    def scores(self, owner: UserRef, prompt: str) -> Job[tuple[PromptScores, str | None]]:
        """A prompt's score stats and why its lineage is paused (or `None`).

        Raises:
            UnknownPromptError: If the prompt is not managed.
        """
        ns = self._prompt_ns(owner, prompt)
        stats, pointer, config_item = yield from batch(
            [GetOp(ns, SCORES_KEY), GetOp(ns, ACTIVE_KEY), self._config_get()]
        )
        if not isinstance(pointer, Item) and prompt not in specs_from(config_item):
            raise UnknownPromptError(owner.user_id, prompt)
        paused = ActivePrompt.from_json(pointer.value).paused if isinstance(pointer, Item) else None
        return (_scores_from(stats.value) if isinstance(stats, Item) else PromptScores()), paused
