"""Lineage state changes after the fact: review, rollback, auto-rollback, resume, rebase."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.errors import InvalidTransitionError, UnknownVersionError
from langchain_prompt_optimization.stores.canary_record import (
    canaries_of,
    canary_id_for,
    new_canary,
    stopped_canary_record,
)
from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.lineage import Lineage
from langchain_prompt_optimization.stores.records import (
    ActivePrompt,
    PromptVersion,
    content_hash,
    review_stamp,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.labels import UserRef
    from langchain_prompt_optimization.stores.lineage import VersionRecords
    from langchain_prompt_optimization.stores.records import FeedbackItem
    from langchain_prompt_optimization.stores.scores import PromptScores

__all__ = ["Transitions"]

logger = logging.getLogger(__name__)


class Transitions(Lineage):
    """The reviewer's and monitoring's changes to a lineage, as `StoreLayout` jobs. Each runs
    under the owner's lease and writes in one batch; history stays append-only."""

    def review(
        self, owner: UserRef, prompt: str, version: int, *, approve: bool, note: str
    ) -> Job[PromptVersion]:
        """Approve (activate) or reject a pending version. Run under the owner's lease.

        Approving supersedes any other pending version. When the apps recorded a canary
        rollout (`PromptConfig.canary`), an approved version becomes a `canary` (served to
        a fraction of runs until the monitor decides) instead of active. Approving stops a
        canary already running on the prompt.

        Raises:
            UnknownVersionError: If there is no such version.
            InvalidTransitionError: If the version is not pending.
            UnknownPromptError: If the prompt is not managed.
        """
        action = "approved" if approve else "rejected"
        state = yield from self._lineage(owner, prompt)
        if state is None:
            if version == 1:
                msg = f"v1 of {prompt!r} is active: only pending versions can be {action}"
                raise InvalidTransitionError(msg)
            raise UnknownVersionError(owner.user_id, prompt, version)
        others = [(prompt, n) for n in state.pending if n != version]
        running = self._running_canary(prompt, state)
        records = yield from self._read_versions(owner, [(prompt, version), *others, *running])
        record = records.get((prompt, version))
        if record is None:
            raise UnknownVersionError(owner.user_id, prompt, version)
        if record.get("outcome") != "pending":
            current = PromptVersion.from_json(record, active_version=state.version).status
            msg = f"v{version} of {prompt!r} is {current}: only pending versions can be {action}"
            raise InvalidTransitionError(msg)
        now = utcnow()
        record = {
            **record,
            "outcome": "accepted" if approve else "rejected",
            "review": review_stamp("approve" if approve else "reject", note, now),
        }
        rollout = (yield from self.read_config()).canary if approve else None
        if rollout is not None:
            record["outcome"] = "canary"
        elif approve:
            record["replaced"] = state.version
        ops: list[Op] = [self._record_op(owner, prompt, version, record)]
        if approve:
            ops += self._supersede_ops(owner, records, others, f"v{version} approved", now)
            stop_ops, state = self._end_canary_ops(
                owner, prompt, state, records, f"v{version} approved", note, now
            )
            ops += stop_ops
            if rollout is not None:
                # One id per candidate set: approving its prompts one by one keeps one arm.
                canary_id = canary_id_for(str(record.get("created_at")))
                canary = new_canary(canary_id, version, record["text"], state.version, rollout, now)
                state = state.replace(pending=(), canary=canary)
            else:
                state = state.replace(version=version, text=record["text"], pending=())
            state = state.resume(f"approve v{version}", note, now)
        else:
            state = state.replace(pending=tuple(n for n in state.pending if n != version))
        ops.append(self._pointer_op(owner, prompt, state, now))
        yield from batch(ops)
        return PromptVersion.from_json(record, active_version=state.version)

    def rollback(
        self, owner: UserRef, prompt: str, to_version: int, *, note: str
    ) -> Job[PromptVersion]:
        """Append a new active version whose text equals an earlier served version's.

        History is append-only: nothing is rewritten. Pending versions (derived from what
        is being rolled back) are superseded. Run under the owner's lease.

        Raises:
            UnknownVersionError: If there is no such version.
            InvalidTransitionError: If the target was never served or is already active.
            UnknownPromptError: If the prompt is not managed.
        """
        state = yield from self._lineage(owner, prompt)
        if state is None:
            if to_version == 1:
                msg = f"v1 of {prompt!r} is already active"
                raise InvalidTransitionError(msg)
            raise UnknownVersionError(owner.user_id, prompt, to_version)
        pending = [(prompt, n) for n in state.pending]
        running = self._running_canary(prompt, state)
        records = yield from self._read_versions(owner, [(prompt, to_version), *pending, *running])
        record = records.get((prompt, to_version))
        if record is None:
            raise UnknownVersionError(owner.user_id, prompt, to_version)
        if record.get("outcome") != "accepted":
            target = PromptVersion.from_json(record, active_version=state.version)
            msg = (
                f"cannot roll back to v{to_version} of {prompt!r}: it is {target.status} and was "
                "never served (approve a pending version instead)"
            )
            raise InvalidTransitionError(msg)
        if to_version == state.version:
            msg = f"v{to_version} of {prompt!r} is already active"
            raise InvalidTransitionError(msg)
        now = utcnow()
        reason = f"rollback to v{to_version}" + (f": {note}" if note else "")
        review = review_stamp("rollback", note, now)
        version, ops, state = self._rollback_ops(
            owner, prompt, state, records, to_version, reason, review, now
        )
        state = state.resume(f"rollback to v{to_version}", note, now)
        ops.append(self._pointer_op(owner, prompt, state, now))
        yield from batch(ops)
        return version

    def _rollback_ops(
        self,
        owner: UserRef,
        prompt: str,
        state: ActivePrompt,
        records: VersionRecords,
        to_version: int,
        reason: str,
        review: dict[str, Any],
        now: datetime,
    ) -> tuple[PromptVersion, list[Op], ActivePrompt]:
        """The new active version equal to `to_version` (an accepted record in `records`),
        its write and the supersession of pending versions; and the pointer after (not
        written: the caller pauses or resumes it)."""
        record = records[(prompt, to_version)]
        version = PromptVersion(
            prompt=prompt,
            version=state.latest + 1,
            text=record["text"],
            status="active",
            created_at=now,
            reason=reason,
            parent=state.version,
            content_hash=content_hash(record["text"]),
            base_hash=state.base_hash,
            review={**review, "of": to_version},
        )
        pending = [(prompt, n) for n in state.pending]
        ops: list[Op] = [self._version_op(owner, version)]
        ops += self._supersede_ops(owner, records, pending, f"rolled back to v{to_version}", now)
        stop_ops, state = self._end_canary_ops(
            owner, prompt, state, records, f"rolled back to v{to_version}", "", now
        )
        after = state.replace(
            version=version.version, text=version.text, latest=version.version, pending=()
        )
        return version, ops + stop_ops, after

    def commit_auto_rollback(
        self,
        owner: UserRef,
        *,
        rollbacks: dict[str, tuple[int, str, dict[str, Any]]],
        feedback: Sequence[FeedbackItem],
        score_deltas: dict[str, PromptScores],
        expected_latest: dict[str, int],
        feedback_ttl_minutes: float | None = None,
    ) -> Job[dict[str, PromptVersion] | None]:
        """Monitoring found regressions: roll each prompt back to an earlier served version
        (`{prompt: (to_version, reason, review details)}`), pause its lineage, add the
        batch's scores and consume the batch, all in ONE write batch. Under the lease.

        Like `rollback`, history is append-only: a new active version is appended whose
        text equals the target's, and pending versions are superseded.

        Returns:
            The appended versions by prompt, or `None` when a prompt moved meanwhile (or a
            target is not a served version): nothing is written.
        """
        names = list(rollbacks)
        active, _ = yield from self.read_active(owner, names)
        for name in names:
            if name not in active or active[name].latest != expected_latest.get(name, 0):
                logger.warning("prompt %r of %r changed; not rolling back", name, owner.user_id)
                return None
        wanted = [(name, target) for name, (target, _, _) in rollbacks.items()]
        wanted += [(name, n) for name in names for n in active[name].pending]
        wanted += [key for name in names for key in self._running_canary(name, active[name])]
        records = yield from self._read_versions(owner, wanted)
        now = utcnow()
        ops: list[Op] = []
        appended: dict[str, PromptVersion] = {}
        for name, (target, reason, details) in rollbacks.items():
            if records.get((name, target), {}).get("outcome") != "accepted":
                logger.warning("v%s of %r was never served; not rolling back", target, name)
                return None
            review = {**review_stamp("auto-rollback", "", now), **details}
            version, version_ops, state = self._rollback_ops(
                owner, name, active[name], records, target, reason, review, now
            )
            ops += version_ops
            ops.append(self._pointer_op(owner, name, state.replace(paused=reason), now))
            appended[name] = version
        ops += yield from self._score_ops(owner, score_deltas, now)
        consumed_by = {name: v.version for name, v in appended.items()}
        ops += self._consume_ops(owner, feedback, consumed_by, feedback_ttl_minutes)
        yield from batch(ops)
        return appended

    def resume(self, owner: UserRef, prompt: str, *, note: str) -> Job[str]:
        """Resume a lineage monitoring paused: accepted candidates become active again
        (unless approval is required). Run under the owner's lease.

        Returns:
            The reason the lineage was paused.

        Raises:
            InvalidTransitionError: If the lineage is not paused.
            UnknownPromptError: If the prompt is not managed.
        """
        state = yield from self._lineage(owner, prompt)
        if state is None or state.paused is None:
            msg = f"{prompt!r} is not paused: nothing to resume"
            raise InvalidTransitionError(msg)
        now = utcnow()
        resumed = state.resume("resume", note, now)
        yield from batch([self._pointer_op(owner, prompt, resumed, now)])
        return state.paused

    def rebase(
        self,
        owner: UserRef,
        prompt: str,
        base_text: str,
        *,
        reason: str,
        restart: Callable[[ActivePrompt], str | None] | None = None,
    ) -> Job[tuple[ActivePrompt, int | None] | None]:
        """Start a new lineage from a changed base text. Run under the owner's lease.

        Appends the new base as an active version (its `base_hash` starts the new lineage,
        the old base hash is retired so a replica still running the old code never rebases
        back); pending candidates of the old lineage are superseded. The old history stays
        readable.

        Args:
            owner: The lineage owner.
            prompt: The prompt name.
            base_text: The new base text.
            reason: The new version's reason.
            restart: Given the pointer now, the first text of the new lineage (a learned
                section carried over to the new base), or `None` if the lineage needs no
                restart. Default: `base_text`, when the lineage's base differs.

        Returns:
            `None` when the prompt has no lineage; else the pointer after, and the version
            that was active before (`None` if the lineage needs no restart).
        """
        active, _ = yield from self.read_active(owner, [prompt])
        state = active.get(prompt)
        new_hash = content_hash(base_text)
        if state is None:
            return None
        text: str | None = base_text
        if restart is not None:
            text = restart(state)
        elif state.base_hash == new_hash:
            text = None
        if text is None:
            return state, None
        running = self._running_canary(prompt, state)
        pending = yield from self._read_versions(
            owner, [*((prompt, n) for n in state.pending), *running]
        )
        now = utcnow()
        version = PromptVersion(
            prompt=prompt,
            version=state.latest + 1,
            text=text,
            status="active",
            created_at=now,
            reason=reason,
            parent=None,
            content_hash=content_hash(text),
            base_hash=new_hash,
        )
        ops: list[Op] = [self._version_op(owner, version)]
        ops += self._supersede_ops(
            owner, pending, [(prompt, n) for n in state.pending], reason, now
        )
        ops += self._end_canary_ops(owner, prompt, state, pending, reason, "", now)[0]
        retired = tuple(h for h in (*state.retired_bases, state.base_hash) if h != new_hash)
        after = ActivePrompt(version.version, text, version.version, new_hash, (), retired)
        ops.append(self._pointer_op(owner, prompt, after, now))
        yield from batch(ops)
        return after, state.version

    def requeue_learned_feedback(self, owner: UserRef, prompt: str, from_version: int) -> Job[int]:
        """Make the feedback behind a served version pending again, for `prompt` only.

        Walks the version's ancestry (through rollbacks to their targets, through
        superseded pending versions it was built on) back to its lineage's base, so what
        a reviewer rolled back is not learned again. Used to carry learning to a new base.
        """
        history = yield from self.history(owner, owner, prompt)
        by_number = {v.version: v for v in history}
        ids: set[str] = set()
        seen: set[int] = set()
        number: int | None = from_version
        while number is not None and number not in seen and number in by_number:
            seen.add(number)
            version = by_number[number]
            if version.status in ("active", "inactive", "superseded"):
                ids.update(version.feedback_ids)
            review = version.review or {}
            rolled_back = review.get("action") in ("rollback", "auto-rollback")
            number = int(review["of"]) if rolled_back else version.parent
        return (yield from self._requeue_feedback(owner, ids, prompt))

    # -- canaries a transition ends ----------------------------------------------------------

    @staticmethod
    def _running_canary(prompt: str, state: ActivePrompt) -> list[tuple[str, int]]:
        """The `(prompt, version)` of the canary running on the pointer (to read), if any."""
        canary = canaries_of({prompt: state}).get(prompt)
        return [(prompt, canary.version)] if canary is not None else []

    def _end_canary_ops(
        self,
        owner: UserRef,
        prompt: str,
        state: ActivePrompt,
        records: VersionRecords,
        why: str,
        note: str,
        now: datetime,
    ) -> tuple[list[Op], ActivePrompt]:
        """A transition that changes what is served stops the prompt's canary: its version
        is rejected (the write) and the pointer no longer carries it (returned, not
        written)."""
        canary = canaries_of({prompt: state}).get(prompt)
        if canary is None:
            return [], state
        ops: list[Op] = []
        record = records.get((prompt, canary.version))
        if record is not None and record.get("outcome") == "canary":
            reason = f"canary stopped: {why}"
            stopped = stopped_canary_record(record, reason, "canary-stop", note, now)
            ops.append(self._record_op(owner, prompt, canary.version, stopped))
        return ops, state.replace(canary=None)
