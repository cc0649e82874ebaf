"""Prompt lineages: the active pointer, the append-only versions, and appending candidates."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langgraph.store.base import GetOp, Item, PutOp

from langchain_prompt_optimization.errors import UnknownPromptError, UnknownUserError
from langchain_prompt_optimization.stores.directory import specs_from
from langchain_prompt_optimization.stores.examples import Examples
from langchain_prompt_optimization.stores.feedback_queue import FeedbackQueue
from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.labels import ACTIVE_KEY, GLOBAL_LABEL, version_key
from langchain_prompt_optimization.stores.records import (
    ActivePrompt,
    PromptVersion,
    content_hash,
    is_flagged,
    parse_time,
    review_stamp,
    utcnow,
)
from langchain_prompt_optimization.stores.scores import Scores

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.labels import UserRef
    from langchain_prompt_optimization.stores.records import Example, FeedbackItem, PromptSpec
    from langchain_prompt_optimization.stores.scores import PromptScores

__all__ = ["Lineage", "NewVersion", "VersionRecords"]

logger = logging.getLogger(__name__)

VersionRecords = dict[tuple[str, int], dict[str, Any]]
"""Version records as read: `{(prompt, number): record}`."""


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A candidate to append to a prompt's history."""

    prompt: str
    text: str
    outcome: str
    reason: str
    scores: dict[str, Any] | None = None
    flagged: str | None = None
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    """The screeners' verdicts (`Verdict.to_json()`), in the order they ran."""


@dataclass(frozen=True, slots=True)
class _Stamp:
    """What every version one commit appends carries: its provenance and approval policy."""

    feedback: tuple[FeedbackItem, ...]
    optimizer_kind: str
    usage: dict[str, int]
    require_approval: bool
    now: datetime


class Lineage(Scores, FeedbackQueue, Examples):
    """Each prompt's pointer and versions, and the commit of an optimization's candidates
    (with its feedback, scores and examples in one write), as `StoreLayout` jobs."""

    # -- reads ----------------------------------------------------------------------------------

    def read_active(
        self, owner: UserRef, names: Sequence[str]
    ) -> Job[tuple[dict[str, ActivePrompt], dict[str, PromptSpec]]]:
        """Active version of each named prompt (missing: never changed) and the config."""
        ops: list[Op] = [GetOp(self._prompt_ns(owner, name), ACTIVE_KEY) for name in names]
        ops.append(self._config_get())
        results = yield from batch(ops)
        active = {
            name: ActivePrompt.from_json(item.value)
            for name, item in zip(names, results[:-1], strict=True)
            if isinstance(item, Item)
        }
        return active, specs_from(results[-1])

    def _lineage(self, owner: UserRef, prompt: str) -> Job[ActivePrompt | None]:
        """The prompt's pointer; `None` for a managed prompt never changed (only its base).

        Raises:
            UnknownPromptError: If the prompt is not managed.
        """
        item, config_item = yield from batch(
            [GetOp(self._prompt_ns(owner, prompt), ACTIVE_KEY), self._config_get()]
        )
        if isinstance(item, Item):
            return ActivePrompt.from_json(item.value)
        if prompt not in specs_from(config_item):
            raise UnknownPromptError(owner.user_id, prompt)
        return None

    def _read_versions(
        self, owner: UserRef, wanted: Sequence[tuple[str, int]]
    ) -> Job[VersionRecords]:
        if not wanted:
            return {}
        results = yield from batch(
            [GetOp(self._prompt_ns(owner, name), version_key(n)) for name, n in wanted]
        )
        return {
            key: dict(item.value)
            for key, item in zip(wanted, results, strict=True)
            if isinstance(item, Item)
        }

    def read_version_texts(
        self, owner: UserRef, wanted: Sequence[tuple[str, int]]
    ) -> Job[dict[tuple[str, int], str]]:
        """The texts of the given `(prompt, version)`s of `owner`'s lineages, in ONE batch
        (missing versions are left out)."""
        records = yield from self._read_versions(owner, wanted)
        return {key: str(record.get("text", "")) for key, record in records.items()}

    def history(self, user: UserRef, owner: UserRef, prompt: str) -> Job[list[PromptVersion]]:
        """Every version of a prompt served to `user` (lineage of `owner`), newest first.

        A prompt with no lineage yet has one entry: its base text (version 1, active).

        Raises:
            UnknownUserError: If nothing is stored for this user.
            UnknownPromptError: If the prompt is not managed.
        """
        ns = self._prompt_ns(owner, prompt)
        pointer, user_item, config_item = yield from batch(
            [GetOp(ns, ACTIVE_KEY), GetOp(self._users_ns(), user.digest), self._config_get()]
        )
        if not isinstance(pointer, Item):
            if not isinstance(user_item, Item) and user != owner:
                raise UnknownUserError(user.user_id)
            if not isinstance(user_item, Item) and owner.label != GLOBAL_LABEL:
                raise UnknownUserError(user.user_id)
            spec = specs_from(config_item).get(prompt)
            if spec is None:
                raise UnknownPromptError(user.user_id, prompt)
            created = (
                parse_time(user_item.value["created_at"])
                if isinstance(user_item, Item)
                else utcnow()
            )
            return [
                PromptVersion(
                    prompt=prompt,
                    version=1,
                    text=spec.prompt,
                    status="active",
                    created_at=created,
                    reason="base prompt",
                    content_hash=content_hash(spec.prompt),
                    base_hash=content_hash(spec.prompt),
                )
            ]
        state = ActivePrompt.from_json(pointer.value)
        numbers = list(range(state.latest, 0, -1))
        results = yield from batch([GetOp(ns, version_key(n)) for n in numbers])
        return [
            PromptVersion.from_json(item.value, active_version=state.version)
            for item in results
            if isinstance(item, Item)
        ]

    def pending_heads(
        self, owner: UserRef, active: dict[str, ActivePrompt]
    ) -> Job[dict[str, tuple[int, str]]]:
        """For prompts with versions awaiting approval, the newest one: `(number, text)`.

        New candidates build on it, so what a pending version learned is not lost when a
        newer one supersedes it. Versions a safety check flagged are never built on.
        """
        wanted = [(name, n) for name, state in active.items() for n in state.pending]
        records = yield from self._read_versions(owner, wanted)
        heads: dict[str, tuple[int, str]] = {}
        for (name, n), record in sorted(records.items()):
            if record.get("outcome") == "pending" and not is_flagged(record):
                heads[name] = (n, record["text"])
        return heads

    # -- writes ---------------------------------------------------------------------------------

    def _pointer_op(self, owner: UserRef, prompt: str, state: ActivePrompt, now: datetime) -> PutOp:
        return PutOp(self._prompt_ns(owner, prompt), ACTIVE_KEY, state.to_json(prompt, now))

    def _version_op(self, owner: UserRef, version: PromptVersion) -> PutOp:
        return PutOp(
            self._prompt_ns(owner, version.prompt), version_key(version.version), version.to_json()
        )

    def _record_op(self, owner: UserRef, prompt: str, number: int, record: dict[str, Any]) -> PutOp:
        return PutOp(self._prompt_ns(owner, prompt), version_key(number), record)

    def _supersede_ops(
        self,
        owner: UserRef,
        records: VersionRecords,
        numbers: Sequence[tuple[str, int]],
        note: str,
        now: datetime,
    ) -> list[Op]:
        ops: list[Op] = []
        for key in numbers:
            record = records.get(key)
            if record is not None and record.get("outcome") == "pending":
                record = {
                    **record,
                    "outcome": "superseded",
                    "review": review_stamp("supersede", note, now),
                }
                ops.append(self._record_op(owner, key[0], key[1], record))
        return ops

    # -- committing an optimization -------------------------------------------------------------

    def commit_optimization(
        self,
        owner: UserRef,
        *,
        base_texts: dict[str, str],
        candidates: Sequence[NewVersion],
        feedback: Sequence[FeedbackItem],
        optimizer_kind: str,
        usage: dict[str, int],
        require_approval: bool = False,
        expected_latest: dict[str, int] | None = None,
        parents: dict[str, int] | None = None,
        feedback_ttl_minutes: float | None = None,
        new_examples: Sequence[Example] = (),
        drop_examples: Sequence[str] = (),
        score_deltas: dict[str, PromptScores] | None = None,
    ) -> Job[dict[str, PromptVersion] | None]:
        """Append candidates as new versions and consume the feedback (one write batch).

        Must run under the owner's lease: version numbers are allocated here from a fresh
        read of each prompt's pointer. A prompt with no lineage yet first gets its base text
        as version 1. An `accepted` candidate becomes active, or `pending` when
        `require_approval` or when the lineage is paused (monitoring rolled it back); a new
        pending or activated candidate supersedes older pending ones. `score_deltas` (the
        consumed items' scores per prompt and version) are added to the score records in
        the same batch, so scores are counted exactly when their feedback is consumed.

        Args:
            owner: The lineage owner (the user, or the global lineage).
            base_texts: The base text of each prompt, for prompts with no lineage yet.
            candidates: New entries.
            feedback: The items consumed.
            optimizer_kind: langmem kind that produced the candidates.
            usage: Optimizer usage to store on each new version.
            require_approval: Make accepted candidates pending.
            expected_latest: The latest version number (0: none) of each prompt when the
                optimization read it; if any moved since, nothing is written.
            parents: The version each candidate was derived from when it is not the active
                one (the newest pending version).
            feedback_ttl_minutes: TTL of the consumed feedback records (`None`: kept).
            new_examples: Evaluation-gate examples to add (runs with positive feedback).
            drop_examples: Ids of examples to delete (the oldest, over the gate's cap).
            score_deltas: The consumed items' scores per prompt and version.

        Returns:
            The appended versions by prompt name, or `None` on a conflict.
        """
        names = [c.prompt for c in candidates]
        active = yield from self._unmoved_pointers(owner, names, expected_latest)
        if active is None:
            return None
        superseding = [(name, n) for name in names if name in active for n in active[name].pending]
        pending_records = yield from self._read_versions(owner, superseding)
        stamp = _Stamp(tuple(feedback), optimizer_kind, usage, require_approval, utcnow())
        ops, appended = self._append_ops(
            owner, candidates, active, pending_records, base_texts, parents or {}, stamp
        )
        consumed_by = {name: v.version for name, v in appended.items() if v.status != "failed"}
        if feedback:
            ops += yield from self._score_ops(owner, score_deltas or {}, stamp.now)
        ops += self._consume_ops(owner, feedback, consumed_by, feedback_ttl_minutes)
        ops += self._example_ops(owner, new_examples, drop_examples)
        if ops:
            yield from batch(ops)
        return appended

    def _append_ops(
        self,
        owner: UserRef,
        candidates: Sequence[NewVersion],
        active: dict[str, ActivePrompt],
        pending_records: VersionRecords,
        base_texts: dict[str, str],
        parents: dict[str, int],
        stamp: _Stamp,
    ) -> tuple[list[Op], dict[str, PromptVersion]]:
        """Commit phases 2-4 for each candidate: the writes that append it (after its base
        as version 1 for a new lineage) and move the pointer, and the versions appended."""
        ops: list[Op] = []
        appended: dict[str, PromptVersion] = {}
        for cand in candidates:
            state = active.get(cand.prompt)
            if state is None:
                state, base_op = self._base_version(owner, cand.prompt, base_texts, stamp.now)
                ops.append(base_op)
            parent = parents.get(cand.prompt, state.version)
            version = self._candidate_version(cand, state, parent=parent, stamp=stamp)
            ops.append(self._version_op(owner, version))
            state, advance_ops = self._advance_pointer(
                owner, state, cand, version, pending_records, stamp.now
            )
            ops += advance_ops
            ops.append(self._pointer_op(owner, cand.prompt, state, stamp.now))
            appended[cand.prompt] = version
        return ops, appended

    def _unmoved_pointers(
        self, owner: UserRef, names: Sequence[str], expected_latest: dict[str, int] | None
    ) -> Job[dict[str, ActivePrompt] | None]:
        """Commit phase 1: the pointers read fresh, or `None` if one moved since the
        optimization read it (its latest number differs from `expected_latest`)."""
        active, _ = yield from self.read_active(owner, names)
        if expected_latest is None:
            return active
        for name in names:
            latest = active[name].latest if name in active else 0
            if latest != expected_latest.get(name, 0):
                logger.warning(
                    "prompt %r of %r changed during the optimization; not committing",
                    name,
                    owner.user_id,
                )
                return None
        return active

    def _base_version(
        self, owner: UserRef, prompt: str, base_texts: dict[str, str], now: datetime
    ) -> tuple[ActivePrompt, PutOp]:
        """Commit phase 2, for a prompt with no lineage yet: its base text as version 1
        (the write) and the pointer it starts."""
        base = base_texts[prompt]
        first = PromptVersion(
            prompt=prompt,
            version=1,
            text=base,
            status="active",
            created_at=now,
            reason="base prompt",
            base_hash=content_hash(base),
        )
        return ActivePrompt(1, base, 1, content_hash(base), ()), self._version_op(owner, first)

    @staticmethod
    def _candidate_version(
        cand: NewVersion, state: ActivePrompt, *, parent: int, stamp: _Stamp
    ) -> PromptVersion:
        """Commit phase 3: the version a candidate becomes. An accepted candidate waits as
        pending when the lineage is paused or approval is required."""
        outcome, reason = cand.outcome, cand.reason
        if outcome == "accepted" and state.paused is not None:
            outcome = "pending"
            reason = f"{reason}; pending: the lineage is paused for review ({state.paused})"
        elif outcome == "accepted" and stamp.require_approval:
            outcome = "pending"
        return PromptVersion(
            prompt=cand.prompt,
            version=state.latest + 1,
            text=cand.text,
            status="active" if outcome == "accepted" else outcome,
            created_at=stamp.now,
            reason=reason,
            parent=parent,
            feedback_ids=tuple(fb.id for fb in stamp.feedback),
            optimizer_kind=stamp.optimizer_kind,
            content_hash=content_hash(cand.text),
            usage=stamp.usage,
            base_hash=state.base_hash,
            scores=cand.scores,
            flagged=cand.flagged,
            verdicts=list(cand.verdicts),
            replaced=state.version if outcome == "accepted" else None,
        )

    def _advance_pointer(
        self,
        owner: UserRef,
        state: ActivePrompt,
        cand: NewVersion,
        version: PromptVersion,
        pending_records: VersionRecords,
        now: datetime,
    ) -> tuple[ActivePrompt, list[Op]]:
        """Commit phase 4: the pointer after appending `version`, and the supersession of
        older pending versions (a flagged candidate supersedes nothing; flagged versions are
        never superseded by a newer candidate)."""
        prompt = cand.prompt
        flagged = tuple(
            n for n in state.pending if is_flagged(pending_records.get((prompt, n), {}))
        )
        if cand.flagged is not None:
            pending = (*state.pending, version.version)
            return state.replace(latest=version.version, pending=pending), []
        if version.status not in ("pending", "active"):
            return state.replace(latest=version.version), []
        older = [(prompt, n) for n in state.pending if n not in flagged]
        note = f"superseded by v{version.version}"
        ops = self._supersede_ops(owner, pending_records, older, note, now)
        if version.status == "pending":
            return state.replace(latest=version.version, pending=(*flagged, version.version)), ops
        after = state.replace(
            version=version.version, text=cand.text, latest=version.version, pending=flagged
        )
        return after, ops
