"""Canary transitions: promote, reject or stop a canary (jobs, under the owner's lease)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langchain_prompt_optimization.errors import InvalidTransitionError
from langchain_prompt_optimization.stores.canary_record import canaries_of, stopped_canary_record
from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.records import PromptVersion, review_stamp, utcnow
from langchain_prompt_optimization.stores.transitions import Transitions

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.labels import UserRef

__all__ = ["Canaries"]

logger = logging.getLogger(__name__)


class Canaries(Transitions):
    """Concluding and stopping canaries, as `StoreLayout` jobs (under the owner's lease)."""

    def conclude_canary(
        self,
        owner: UserRef,
        canary_id: str,
        names: Sequence[str],
        *,
        promote: bool,
        evidence: dict[str, Any],
    ) -> Job[dict[str, PromptVersion] | None]:
        """Promote (activate) or reject every prompt (of `names`) running canary
        `canary_id`, with the evidence stored on each canary version, in ONE write batch.
        Run under the owner's lease.

        Returns:
            The concluded versions by prompt, or `None` if the canary no longer runs.
        """
        active, _ = yield from self.read_active(owner, names)
        canaries = {n: c for n, c in canaries_of(active).items() if c.id == canary_id}
        names = list(canaries)
        if not names:
            return None
        records = yield from self._read_versions(
            owner, [(name, canaries[name].version) for name in names]
        )
        now = utcnow()
        ops: list[Op] = []
        out: dict[str, PromptVersion] = {}
        for name in names:
            canary, state = canaries[name], active[name]
            record = dict(records.get((name, canary.version)) or {})
            if not record:
                logger.warning("canary v%s of %r is missing; stopping it", canary.version, name)
                ops.append(self._pointer_op(owner, name, state.replace(canary=None), now))
                continue
            record["canary"] = evidence
            if promote:
                record["outcome"] = "accepted"
                record["replaced"] = state.version
                record["review"] = review_stamp("canary-promote", evidence.get("why", ""), now)
                state = state.replace(version=canary.version, text=canary.text, canary=None)
            else:
                reason = f"canary rejected: {evidence.get('why', '')}"
                record = stopped_canary_record(
                    record, reason, "canary-reject", evidence.get("why", ""), now
                )
                state = state.replace(canary=None)
            ops.append(self._record_op(owner, name, canary.version, record))
            ops.append(self._pointer_op(owner, name, state, now))
            out[name] = PromptVersion.from_json(record, active_version=state.version)
        yield from batch(ops)
        return out

    def stop_canary(self, owner: UserRef, prompt: str, *, note: str) -> Job[list[PromptVersion]]:
        """A reviewer stops the canary `prompt` is in: every prompt of it is rejected and
        the active versions serve everyone. Run under the owner's lease.

        Raises:
            InvalidTransitionError: If no canary runs on the prompt.
            UnknownPromptError: If the prompt is not managed.
        """
        state = yield from self._lineage(owner, prompt)
        canary = canaries_of({prompt: state}).get(prompt) if state is not None else None
        if canary is None:
            msg = f"no canary runs on {prompt!r}: nothing to stop"
            raise InvalidTransitionError(msg)
        names = yield from self._canary_prompts(owner, canary.id, prompt)
        active, _ = yield from self.read_active(owner, names)
        canaries = canaries_of(active)
        records = yield from self._read_versions(
            owner, [(name, canaries[name].version) for name in names]
        )
        now = utcnow()
        ops: list[Op] = []
        stopped: list[PromptVersion] = []
        for name in names:
            number = canaries[name].version
            reason = "canary stopped by a reviewer" + (f": {note}" if note else "")
            record = records.get((name, number))
            if record is not None:
                record = stopped_canary_record(record, reason, "canary-stop", note, now)
                ops.append(self._record_op(owner, name, number, record))
                stopped.append(PromptVersion.from_json(record, active_version=None))
            ops.append(self._pointer_op(owner, name, active[name].replace(canary=None), now))
        yield from batch(ops)
        return stopped

    def _canary_prompts(self, owner: UserRef, canary_id: str, prompt: str) -> Job[list[str]]:
        """The prompts (`prompt` and the recorded ones) whose pointer runs `canary_id`."""
        config = yield from self.read_config()
        names = list(dict.fromkeys([prompt, *config.specs]))
        active, _ = yield from self.read_active(owner, names)
        return [name for name, c in canaries_of(active).items() if c.id == canary_id]
