"""Runs: pinning prompt versions for a run, capturing its trajectory, finding and pruning runs."""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from langgraph.store.base import GetOp, Item, PutOp, SearchOp

from langchain_prompt_optimization.errors import NamespaceBusyError, TrajectoryNotFoundError
from langchain_prompt_optimization.stores.directory import Directory, config_from
from langchain_prompt_optimization.stores.evaluation_queue import EvaluationQueue
from langchain_prompt_optimization.stores.feedback_queue import FeedbackQueue
from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.labels import (
    ACTIVE_KEY,
    DEFAULT_LABEL,
    UserRef,
    decode_label,
    encode_label,
)
from langchain_prompt_optimization.stores.leases import LeaseJobs
from langchain_prompt_optimization.stores.records import ActivePrompt, TrajectoryRecord

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from langgraph.store.base import Op

    from langchain_prompt_optimization.stores.io import Job
    from langchain_prompt_optimization.stores.records import (
        FeedbackItem,
        PromptConfig,
        PromptSpec,
    )

__all__ = ["PinResult", "Runs"]

logger = logging.getLogger(__name__)

_TRAJECTORY_ID = re.compile(r"^([0-9a-f]{24})-([0-9a-f]{32})(?:-([A-Za-z0-9_-]{1,4096}))?$")

LANDING_WINDOW = timedelta(days=1)
"""How long after a run's id was issued feedback on it is accepted although the run is not
stored (yet): its capture may be late, buffered during an outage, or written by another
process. Past it, a missing run is an error (pruned, expired, or never recorded)."""

_CLOCK_SKEW = timedelta(minutes=10)
"""Tolerance for ids issued by a process whose clock runs ahead."""


def _issued_at(run_part: str) -> datetime | None:
    """When a run id was issued (its last 12 hex digits are milliseconds since the epoch);
    `None` if they are not a plausible time (ids minted before ids carried one)."""
    try:
        return datetime.fromtimestamp(int(run_part[-12:], 16) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _may_be_in_flight(run_part: str) -> bool:
    """Whether a run with this id may have been issued recently enough to be still landing."""
    issued = _issued_at(run_part)
    if issued is None:
        return False
    now = datetime.now(UTC)
    return now - LANDING_WINDOW <= issued <= now + _CLOCK_SKEW


def _carried_user(digest: str, carried: str) -> UserRef | None:
    """The user a trajectory id names in its third part, if it decodes to a label whose
    digest is the id's first part."""
    try:
        label = base64.urlsafe_b64decode(carried + "=" * (-len(carried) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if label != DEFAULT_LABEL and (
        not label or label.startswith("%%") or encode_label(decode_label(label)) != label
    ):
        return None  # not a label this package mints for a user
    user = UserRef.from_label(label)
    return user if user.digest == digest else None


@dataclass(frozen=True, slots=True)
class PinResult:
    """What `StoreLayout.pin` read in its one batch."""

    active: dict[str, ActivePrompt]
    user_registered: bool
    config: PromptConfig | None
    thread_trajectory: str | None = None
    thread_versions: dict[str, int] | None = None

    @property
    def specs(self) -> dict[str, PromptSpec]:
        """The recorded managed prompts (empty if none recorded yet)."""
        return self.config.specs if self.config is not None else {}


class Runs(Directory, LeaseJobs, FeedbackQueue, EvaluationQueue):
    """The run path (one read batch to pin, one write batch to capture) and trajectories
    (resolve by id, load for an optimization, prune beyond retention), as `StoreLayout` jobs."""

    @staticmethod
    def new_trajectory_id(user: UserRef, *, carry_user: bool = False) -> str:
        """Mint a trajectory id: `<user digest>-<run>`, where `<run>` is 20 random hex digits
        then 12 of the issue time (ms); random first, so short prefixes stay unique.

        With `carry_user` (the user is not in the users directory yet, or that is unknown),
        the id ends with `-<the user label, base64url>`, so feedback given with the id alone
        finds the user's namespace before the run's capture (which registers the user) lands.
        """
        millis = int(datetime.now(UTC).timestamp() * 1000)
        tid = f"{user.digest}-{uuid.uuid4().hex[:20]}{millis:012x}"
        if carry_user:
            label = base64.urlsafe_b64encode(user.label.encode("utf-8")).decode("ascii")
            tid = f"{tid}-{label.rstrip('=')}"
        return tid

    def pin(
        self,
        user: UserRef,
        owner: UserRef,
        prompts: Iterable[str],
        *,
        thread_id: str | None = None,
    ) -> Job[PinResult]:
        """Read, in ONE batch, the active version of each prompt, the user and the config.

        Prompts are read from the lineage `owner` (the user itself, or the global lineage).
        With `thread_id`, the same batch also reads the thread's last trajectory id (for
        in-band feedback on an agent without a checkpointer).
        """
        names = list(prompts)
        ops: list[Op] = [GetOp(self._prompt_ns(owner, name), ACTIVE_KEY) for name in names]
        ops.append(GetOp(self._users_ns(), user.digest))
        ops.append(self._config_get())
        if thread_id is not None:
            ops.append(GetOp(self._thread_ns(user), thread_id))
        results = yield from batch(ops)
        thread_item = results[len(names) + 2] if thread_id is not None else None
        active: dict[str, ActivePrompt] = {}
        for name, item in zip(names, results[: len(names)], strict=True):
            if isinstance(item, Item):
                active[name] = ActivePrompt.from_json(item.value)
        user_item, config_item = results[len(names)], results[len(names) + 1]
        thread = thread_item.value if isinstance(thread_item, Item) else None
        return PinResult(
            active=active,
            user_registered=isinstance(user_item, Item),
            config=config_from(config_item),
            thread_trajectory=thread["trajectory_id"] if thread is not None else None,
            thread_versions=thread.get("prompt_versions") if thread is not None else None,
        )

    def capture_ops(
        self,
        user: UserRef,
        owner: UserRef,
        trajectory: TrajectoryRecord,
        *,
        register_user: bool,
        config: PromptConfig | None,
        feedback: FeedbackItem | None = None,
        ttl_minutes: float | None = None,
        mark_pending: bool = False,
    ) -> list[Op]:
        """The ops of a run's ONE write batch: its trajectory and what else the run learned.

        The same batch carries the thread pointer, the user's registration and the prompt
        configuration when they are new, and in-band feedback on the previous run. (Every
        string in them is made storable when the batch is sent: see `io.batch`.)
        """
        ops: list[Op] = [
            PutOp(
                self._trajectory_ns(user),
                trajectory.id,
                trajectory.to_json(),
                ttl=ttl_minutes,
            ),
        ]
        if feedback is not None:
            ops.append(PutOp(self._feedback_ns(owner), feedback.id, feedback.to_json()))
            if mark_pending:
                ops.append(self._pending_mark_op(owner))
        if trajectory.thread_id is not None:
            ops.append(
                PutOp(
                    self._thread_ns(user),
                    trajectory.thread_id,
                    {
                        "trajectory_id": trajectory.id,
                        "prompt_versions": dict(trajectory.prompt_versions),
                        "updated_at": trajectory.created_at.isoformat(),
                    },
                )
            )
        if register_user:
            ops.append(self._register_user_op(user))
        if config is not None:
            ops.append(self._config_op(config))
        return ops

    def resolve_run(self, trajectory_id: str) -> Job[tuple[UserRef, TrajectoryRecord | None]]:
        """Find a run's user, and its record if stored, from its id alone.

        The user comes from the id (ids minted for a user not yet registered carry it) or
        from the users directory (the id's digest). A run not stored yet whose id was issued
        within `LANDING_WINDOW` gives `(user, None)`: its capture may still land.

        Raises:
            TypeError: If `trajectory_id` is not a str.
            TrajectoryNotFoundError: If the id is malformed, names no known user, or names a
                run that is not stored and cannot still be landing.
        """
        if not isinstance(trajectory_id, str):
            msg = f"trajectory_id must be a str, got {type(trajectory_id).__name__}"
            raise TypeError(msg)
        match = _TRAJECTORY_ID.match(trajectory_id)
        if match is None:
            raise TrajectoryNotFoundError(trajectory_id, "not a trajectory id of this package")
        digest, run_part, carried = match.groups()
        if carried is not None:
            user = _carried_user(digest, carried)
            if user is None:
                raise TrajectoryNotFoundError(trajectory_id, "its user part does not match")
        else:
            (user_item,) = yield from batch([GetOp(self._users_ns(), digest)])
            if not isinstance(user_item, Item):
                raise TrajectoryNotFoundError(trajectory_id, "no user namespace for this id")
            user = UserRef.from_label(user_item.value["label"])
        (item,) = yield from batch([GetOp(self._trajectory_ns(user), trajectory_id)])
        if isinstance(item, Item):
            return user, TrajectoryRecord.from_json(item.value)
        if not _may_be_in_flight(run_part):
            raise TrajectoryNotFoundError(trajectory_id, "no such trajectory in the store")
        return user, None

    def resolve_trajectory(self, trajectory_id: str) -> Job[tuple[UserRef, TrajectoryRecord]]:
        """Find a stored trajectory from its id alone.

        Raises:
            TrajectoryNotFoundError: If the id is malformed or no such trajectory is stored.
        """
        user, run = yield from self.resolve_run(trajectory_id)
        if run is None:
            raise TrajectoryNotFoundError(trajectory_id, "no such trajectory in the store yet")
        return user, run

    def load_trajectories(self, items: Sequence[FeedbackItem]) -> Job[dict[str, TrajectoryRecord]]:
        """Load the trajectories feedback items are about, in one batch; missing ones are
        left out (each is read from its own user's namespace)."""
        keys = list(dict.fromkeys((fb.user_label, fb.trajectory_id) for fb in items))
        if not keys:
            return {}
        results = yield from batch(
            [GetOp(self._trajectory_ns(UserRef.from_label(lb)), tid) for lb, tid in keys]
        )
        return {
            tid: TrajectoryRecord.from_json(item.value)
            for (_, tid), item in zip(keys, results, strict=True)
            if isinstance(item, Item)
        }

    def prune_trajectories(self, user: UserRef, owner: UserRef, *, keep: int) -> Job[int]:
        """Delete a user's oldest trajectories beyond `keep`; runs whose feedback is pending or
        quarantined for review stay.

        Returns:
            How many were deleted.
        """
        ns = self._trajectory_ns(user)
        (beyond,) = yield from batch([SearchOp(ns, limit=1, offset=keep)])
        if not beyond:
            return 0  # at most `keep` stored: one small read instead of reading them all
        items = yield from self._search_all(ns, None)
        if len(items) <= keep:
            return 0
        pending = yield from self.pending_feedback(owner)
        quarantined = yield from self._quarantined_feedback(owner)
        protected = {
            fb.trajectory_id for fb in (*pending, *quarantined) if fb.user_label == user.label
        }
        ordered = sorted(items, key=lambda item: (item.value.get("created_at", ""), item.key))
        excess = len(items) - keep
        doomed = [item.key for item in ordered if item.key not in protected][:excess]
        if doomed:
            yield from batch([PutOp(ns, key, None) for key in doomed])
        return len(doomed)

    def prune_all(self, *, keep: int, holder: str, wait: float = 5.0) -> Job[int]:
        """`prune_trajectories` for every user, each under its lineage owner's lease (so
        feedback arriving meanwhile cannot lose its run); busy owners are skipped."""
        config = yield from self.read_config()
        deleted = 0
        for user_id in (yield from self.users()):
            user = UserRef.of(user_id)
            owner = UserRef.global_lineage() if config.scope == "global" else user
            try:
                deleted += yield from self.under_lease(
                    owner, holder, self.prune_trajectories(user, owner, keep=keep),
                    ttl=60.0, wait=wait,
                )  # fmt: skip
            except NamespaceBusyError:
                logger.info("prune skipped %r: busy", user_id)
        return deleted
