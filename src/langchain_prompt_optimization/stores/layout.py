"""The store layout: namespaces, keys and every read/write the package makes, as jobs.

Layout under `prefix` (default `("prompt_optimization",)`), `<user>` an encoded user label:

```
(*prefix, "%%users")                       key <user digest>  -> {user_id, label, created_at}
(*prefix, "%%config")                      key "prompts"      -> {prompts: {name: PromptSpec}}
(*prefix, <user>)                          key "lease"        -> {owner, expires_at}
(*prefix, <user>, "prompts", <prompt>)     key "active"       -> {version, text, latest, ...}
(*prefix, <user>, "prompts", <prompt>)     key "v00000001"... -> PromptVersion (append-only)
(*prefix, <user>, "prompts", <prompt>)     key "scores"       -> {versions: {"3": {n, sum}}}
(*prefix, <user>, "trajectories")          key <trajectory id>-> TrajectoryRecord
(*prefix, <user>, "feedback")              key <feedback id>  -> FeedbackItem
(*prefix, <user>, "threads")               key <thread id>    -> {trajectory_id, prompt_versions}
```

User ids and prompt names are arbitrary strings; labels escape `%`, `.` and control characters
as `%XX`, so the encoding is reversible and two ids never share a label. Labels that start
with `%%` are reserved for the package. A trajectory id carries the digest of its user label,
so feedback given with the id alone finds its namespace.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph.store.base import GetOp, Item, PutOp, SearchOp

from langchain_prompt_optimization.errors import (
    InvalidTransitionError,
    NamespaceBusyError,
    TrajectoryNotFoundError,
    UnknownFeedbackError,
    UnknownPromptError,
    UnknownUserError,
    UnknownVersionError,
)
from langchain_prompt_optimization.stores.io import Job, LocalClaim, Sleep, StoreBatch
from langchain_prompt_optimization.stores.leases import StoreLease
from langchain_prompt_optimization.stores.records import (
    Example,
    FeedbackItem,
    PromptConfig,
    PromptSpec,
    PromptVersion,
    TrajectoryRecord,
    content_hash,
    parse_time,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime

    from langgraph.store.base import Op

__all__ = [
    "DEFAULT_PREFIX",
    "ActivePrompt",
    "NewVersion",
    "PinResult",
    "StoreLayout",
    "UserRef",
    "decode_label",
    "encode_label",
]

logger = logging.getLogger(__name__)

DEFAULT_PREFIX: tuple[str, ...] = ("prompt_optimization",)
_DEFAULT_LABEL = "%%default"
_GLOBAL_LABEL = "%%global"
_USERS = "%%users"
_CONFIG = "%%config"
_PENDING = "%%pending"
_ACTIVE_KEY = "active"
_SCORES_KEY = "scores"
_LEASE_KEY = "lease"
_PAGE = 200
_MAX_PAGE = 6_400
_ESCAPE = re.compile(r"[%.\x00-\x1f\x7f]")
_TRAJECTORY_ID = re.compile(r"^([0-9a-f]{24})-([0-9a-f]{32})$")
T = TypeVar("T")


def encode_label(value: str) -> str:
    """Encode an arbitrary non-empty string as a BaseStore namespace label (reversible)."""
    return _ESCAPE.sub(lambda m: f"%{ord(m.group()):02X}", value)


def decode_label(label: str) -> str:
    """Inverse of `encode_label`."""
    return re.sub(r"%([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), label)


def _version_key(version: int) -> str:
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
            return cls(None, _DEFAULT_LABEL)
        if not isinstance(user_id, str):
            msg = f"user_id must be a str or None, got {type(user_id).__name__}"
            raise TypeError(msg)
        if not user_id:
            msg = "user_id must not be empty (use None for the default namespace)"
            raise ValueError(msg)
        try:
            user_id.encode("utf-8")
        except UnicodeEncodeError:
            msg = f"user_id {user_id!r} is not valid Unicode text (lone surrogate)"
            raise ValueError(msg) from None
        return cls(user_id, encode_label(user_id))

    @classmethod
    def from_label(cls, label: str) -> UserRef:
        """The namespace with this label (inverse of `of(...).label`)."""
        if label in (_DEFAULT_LABEL, _GLOBAL_LABEL):
            return cls(None, label)
        return cls(decode_label(label), label)

    @classmethod
    def global_lineage(cls) -> UserRef:
        """The owner of the one lineage shared by all users in `scope="global"`."""
        return cls(None, _GLOBAL_LABEL)

    @property
    def digest(self) -> str:
        """Short stable digest of the label, embedded in trajectory ids."""
        return hashlib.sha256(self.label.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class ActivePrompt:
    """A prompt's pointer: the active version (pinned for runs), the latest number, the
    base hash of the active lineage and the versions awaiting approval.

    `hold` is set (to the reason) when monitoring rolled the lineage back: new candidates
    then wait as pending until a reviewer approves, rolls back or releases it.
    `hold_released` records the last release: `{at, note, hold}`.
    """

    version: int
    text: str
    latest: int
    base_hash: str = ""
    pending: tuple[int, ...] = ()
    retired_bases: tuple[str, ...] = ()
    hold: str | None = None
    hold_released: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ActivePrompt:
        """Build from the stored pointer record."""
        return cls(
            version=int(data["version"]),
            text=data["text"],
            latest=int(data["latest"]),
            base_hash=data.get("base_hash", ""),
            pending=tuple(int(n) for n in data.get("pending", ())),
            retired_bases=tuple(data.get("retired_bases", ())),
            hold=data.get("hold"),
            hold_released=data.get("hold_released"),
        )

    def to_json(self, prompt: str, now: datetime) -> dict[str, Any]:
        """The stored pointer record."""
        return {
            "prompt": prompt,
            "version": self.version,
            "text": self.text,
            "latest": self.latest,
            "base_hash": self.base_hash,
            "pending": list(self.pending),
            "retired_bases": list(self.retired_bases),
            "hold": self.hold,
            "hold_released": self.hold_released,
            "updated_at": now.isoformat(),
        }

    def replace(self, **changes: Any) -> ActivePrompt:
        """A copy with `changes`."""
        return replace(self, **changes)

    def released(self, by: str, note: str, now: datetime) -> ActivePrompt:
        """A copy without its hold, recording who released it (`by`: the action)."""
        if self.hold is None:
            return self
        return replace(
            self,
            hold=None,
            hold_released={"at": now.isoformat(), "by": by, "note": note, "hold": self.hold},
        )


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


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A candidate to append to a prompt's history."""

    prompt: str
    text: str
    outcome: str
    reason: str
    scores: dict[str, Any] | None = None
    hold: str | None = None


class StoreLayout:
    """Every namespace, key and record shape of the package, over any `BaseStore`.

    Methods return jobs (see `stores.io`): drive them with `drive(job, store)` or
    `await adrive(job, store)`.

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

    # -- namespaces -------------------------------------------------------------------------

    def _users_ns(self) -> tuple[str, ...]:
        return (*self.prefix, _USERS)

    def _config_ns(self) -> tuple[str, ...]:
        return (*self.prefix, _CONFIG)

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

    # -- ids ------------------------------------------------------------------------------------

    @staticmethod
    def new_trajectory_id(user: UserRef) -> str:
        """Mint a trajectory id that carries its namespace digest."""
        return f"{user.digest}-{uuid.uuid4().hex}"

    # -- the run path -------------------------------------------------------------------------

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
        ops: list[Op] = [GetOp(self._prompt_ns(owner, name), _ACTIVE_KEY) for name in names]
        ops.append(GetOp(self._users_ns(), user.digest))
        ops.append(GetOp(self._config_ns(), "prompts"))
        if thread_id is not None:
            ops.append(GetOp(self._thread_ns(user), thread_id))
        results = yield StoreBatch(ops)
        thread_item = results[len(names) + 2] if thread_id is not None else None
        active: dict[str, ActivePrompt] = {}
        for name, item in zip(names, results[: len(names)], strict=True):
            if isinstance(item, Item):
                active[name] = ActivePrompt.from_json(item.value)
        user_item, config_item = results[len(names)], results[len(names) + 1]
        return PinResult(
            active=active,
            user_registered=isinstance(user_item, Item),
            config=_config_from(config_item),
            thread_trajectory=(
                thread_item.value["trajectory_id"] if isinstance(thread_item, Item) else None
            ),
            thread_versions=(
                thread_item.value.get("prompt_versions") if isinstance(thread_item, Item) else None
            ),
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
        configuration when they are new, and in-band feedback on the previous run.
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

    def _register_user_op(self, user: UserRef) -> PutOp:
        return PutOp(
            self._users_ns(),
            user.digest,
            {"user_id": user.user_id, "label": user.label, "created_at": utcnow().isoformat()},
        )

    def _config_op(self, config: PromptConfig) -> PutOp:
        return PutOp(
            self._config_ns(),
            "prompts",
            {**config.to_json(), "updated_at": utcnow().isoformat()},
        )

    # -- pending work (for workers) ------------------------------------------------------------

    def _pending_ns(self) -> tuple[str, ...]:
        return (*self.prefix, _PENDING)

    def _pending_mark_op(self, owner: UserRef) -> PutOp:
        return PutOp(
            self._pending_ns(),
            owner.label,
            {"owner": owner.label, "marked_at": utcnow().isoformat()},
        )

    def mark_pending(self, owner: UserRef) -> Job[None]:
        """Put the owner in the pending-work index that workers read."""
        yield StoreBatch([self._pending_mark_op(owner)])

    def pending_owners(self) -> Job[list[UserRef]]:
        """Owners marked as having triggered, not yet optimized work (oldest mark first)."""
        items = yield from self._search_all(self._pending_ns(), None)
        ordered = sorted(items, key=lambda item: item.value.get("marked_at", ""))
        return [UserRef.from_label(item.key) for item in ordered]

    def settle_pending(self, owner: UserRef) -> Job[bool]:
        """Remove the owner's mark, then put it back if any feedback is still pending
        (untried, or failed fewer than `max_attempts` times: it will be retried).

        The removal comes before the re-count, so feedback that arrives meanwhile is never
        left unmarked. Returns whether the owner is still marked.
        """
        yield StoreBatch([PutOp(self._pending_ns(), owner.label, None)])
        remaining = yield from self.pending_feedback(owner)
        if remaining:
            yield StoreBatch([self._pending_mark_op(owner)])
        return bool(remaining)

    def owner_due(self, owner: UserRef, optimize_every: int) -> Job[bool]:
        """Whether a marked owner has enough work: `optimize_every` untried items, or an
        item to retry after a failed attempt."""
        pending = yield from self.pending_feedback(owner)
        untried = sum(1 for fb in pending if fb.attempts == 0)
        return untried >= optimize_every or any(fb.attempts > 0 for fb in pending)

    # -- feedback ------------------------------------------------------------------------------

    def resolve_trajectory(self, trajectory_id: str) -> Job[tuple[UserRef, TrajectoryRecord]]:
        """Find a trajectory from its id alone.

        Raises:
            TrajectoryNotFoundError: If the id is malformed or no such trajectory is stored.
        """
        if not isinstance(trajectory_id, str):
            msg = f"trajectory_id must be a str, got {type(trajectory_id).__name__}"
            raise TypeError(msg)
        match = _TRAJECTORY_ID.match(trajectory_id)
        if match is None:
            raise TrajectoryNotFoundError(trajectory_id, "not a trajectory id of this package")
        (user_item,) = yield StoreBatch([GetOp(self._users_ns(), match.group(1))])
        if not isinstance(user_item, Item):
            raise TrajectoryNotFoundError(trajectory_id, "no user namespace for this id")
        user = UserRef(user_item.value.get("user_id"), user_item.value["label"])
        (item,) = yield StoreBatch([GetOp(self._trajectory_ns(user), trajectory_id)])
        if not isinstance(item, Item):
            raise TrajectoryNotFoundError(trajectory_id, "no such trajectory in the store")
        return user, TrajectoryRecord.from_json(item.value)

    def add_feedback(
        self,
        owner: UserRef,
        item: FeedbackItem,
        *,
        mark_pending: bool = False,
        keep_run: TrajectoryRecord | None = None,
    ) -> Job[int]:
        """Store a feedback item with its lineage owner; return `new_pending_count` after it.

        In the same batch: the owner's pending-work mark (external mode: workers apply the
        trigger) and, with `keep_run`, the run it is about written again without a TTL so it
        cannot expire while its feedback waits.
        """
        ops: list[Op] = [PutOp(self._feedback_ns(owner), item.id, item.to_json())]
        if mark_pending:
            ops.append(self._pending_mark_op(owner))
        if keep_run is not None:
            user = UserRef.from_label(item.user_label) if item.user_label else owner
            ops.append(PutOp(self._trajectory_ns(user), keep_run.id, keep_run.to_json()))
        yield StoreBatch(ops)
        return (yield from self.new_pending_count(owner))

    def new_pending_count(self, owner: UserRef) -> Job[int]:
        """How many pending feedback items no optimization has attempted yet (the trigger)."""
        pending = yield from self.pending_feedback(owner)
        return sum(1 for fb in pending if fb.attempts == 0)

    def pending_feedback(self, owner: UserRef) -> Job[list[FeedbackItem]]:
        """All pending feedback of a lineage owner, oldest first (paginated, never cut at 10)."""
        items = yield from self._search_all(self._feedback_ns(owner), {"status": "pending"})
        feedback = [FeedbackItem.from_json(item.value) for item in items]
        return sorted(feedback, key=lambda fb: (fb.created_at, fb.id))

    def _search_all(
        self, namespace: tuple[str, ...], filter: dict[str, Any] | None
    ) -> Job[list[Item]]:
        """Every item of `namespace` (matching `filter`), in pages that double in size from
        `_PAGE` up to `_MAX_PAGE`: one round trip for a small namespace, few for a large one
        (SQL stores sort the whole namespace again for every page)."""
        found: dict[str, Item] = {}
        offset, limit = 0, _PAGE
        while True:
            (page,) = yield StoreBatch(
                [SearchOp(namespace, filter=filter, limit=limit, offset=offset)]
            )
            for item in page:
                if item.namespace == namespace:
                    found[item.key] = item
            if len(page) < limit:
                return list(found.values())
            offset += limit
            limit = min(limit * 2, _MAX_PAGE)

    def load_trajectories(self, items: Sequence[FeedbackItem]) -> Job[dict[str, TrajectoryRecord]]:
        """Load the trajectories feedback items are about, in one batch; missing ones are
        left out (each is read from its own user's namespace)."""
        keys = list(dict.fromkeys((fb.user_label, fb.trajectory_id) for fb in items))
        if not keys:
            return {}
        results = yield StoreBatch(
            [GetOp(self._trajectory_ns(UserRef.from_label(lb)), tid) for lb, tid in keys]
        )
        return {
            tid: TrajectoryRecord.from_json(item.value)
            for (_, tid), item in zip(keys, results, strict=True)
            if isinstance(item, Item)
        }

    def mark_attempted(
        self, owner: UserRef, items: Sequence[FeedbackItem], *, max_attempts: int
    ) -> Job[None]:
        """Count a failed optimization attempt on each item still pending.

        Items stay pending until `max_attempts` failures, then become `failed` so one bad
        item cannot block a namespace's learning forever (they stay readable). Items are
        read again first: one consumed meanwhile is left as it is.
        """
        if not items:
            return
        ns = self._feedback_ns(owner)
        fresh = yield StoreBatch([GetOp(ns, fb.id) for fb in items])
        items = [
            FeedbackItem.from_json(item.value)
            for item in fresh
            if isinstance(item, Item) and item.value.get("status") == "pending"
        ]
        ops: list[Op] = [
            PutOp(
                self._feedback_ns(owner),
                fb.id,
                {
                    **fb.to_json(),
                    "attempts": fb.attempts + 1,
                    "status": "failed" if fb.attempts + 1 >= max_attempts else "pending",
                },
            )
            for fb in items
        ]
        if ops:
            yield StoreBatch(ops)

    def hold_feedback(self, owner: UserRef, held: Sequence[tuple[FeedbackItem, str]]) -> Job[None]:
        """Set flagged items aside as `held` with the firewall's reason (not fed, not lost)."""
        ops: list[Op] = [
            PutOp(
                self._feedback_ns(owner),
                fb.id,
                {**fb.to_json(), "status": "held", "hold_reason": reason},
            )
            for fb, reason in held
        ]
        if ops:
            yield StoreBatch(ops)

    def review_feedback(
        self, owner: UserRef, user: UserRef, feedback_id: str, *, release: bool, note: str
    ) -> Job[FeedbackItem]:
        """Release a held item (pending again, trusted: not screened again) or discard it.

        Raises:
            UnknownFeedbackError: If `user` has no such item under `owner`.
            InvalidTransitionError: If the item is not held.
        """
        ns = self._feedback_ns(owner)
        (item,) = yield StoreBatch([GetOp(ns, feedback_id)])
        if not isinstance(item, Item) or (
            owner != user and item.value.get("user_label") != user.label
        ):
            raise UnknownFeedbackError(user.user_id, feedback_id)
        fb = FeedbackItem.from_json(item.value)
        action = "released" if release else "discarded"
        if fb.status != "held":
            msg = f"feedback {feedback_id!r} is {fb.status}: only held feedback can be {action}"
            raise InvalidTransitionError(msg)
        record = {
            **fb.to_json(),
            "status": "pending" if release else "discarded",
            "trusted": release,
            "review": _review("release" if release else "discard", note, utcnow()),
        }
        ops: list[Op] = [PutOp(ns, feedback_id, record)]
        if release:
            ops.append(self._pending_mark_op(owner))
        yield StoreBatch(ops)
        return FeedbackItem.from_json(record)

    # -- leases --------------------------------------------------------------------------------

    def _lease_key(self, owner: UserRef) -> str:
        return "/".join(self._user_ns(owner))

    def acquire_lease(self, owner: UserRef, holder: str, ttl: float) -> Job[bool]:
        """Take the lineage owner's lease unless another live holder has it.

        Atomic within a process (`LocalClaim`, not re-entrant) and, on SQLite and PostgreSQL
        stores, across processes (`StoreLease`: one atomic statement on the lease table).
        Other stores use a lease record (`"lease"` key) read, written and read back. Every
        lease expires after `ttl` seconds, so a crashed holder cannot block the owner.
        """
        key = self._lease_key(owner)
        if not (yield LocalClaim(key, holder, ttl)):
            return False
        try:
            won = yield StoreLease(key, holder, ttl, "acquire")
            if won is None:
                won = yield from self._acquire_record(owner, holder, ttl)
        except BaseException:
            yield LocalClaim(key, holder, ttl, release=True)
            raise
        if not won:
            yield LocalClaim(key, holder, ttl, release=True)
        return bool(won)

    def _acquire_record(self, owner: UserRef, holder: str, ttl: float) -> Job[bool]:
        ns, now = self._user_ns(owner), time.time()
        (item,) = yield StoreBatch([GetOp(ns, _LEASE_KEY)])
        if isinstance(item, Item) and item.value:
            current = item.value.get("owner")
            if current != holder and float(item.value.get("expires_at", 0)) > now:
                return False
        yield StoreBatch([PutOp(ns, _LEASE_KEY, {"owner": holder, "expires_at": now + ttl})])
        (check,) = yield StoreBatch([GetOp(ns, _LEASE_KEY)])
        return isinstance(check, Item) and check.value.get("owner") == holder

    def renew_lease(self, owner: UserRef, holder: str, ttl: float) -> Job[bool]:
        """Extend our lease; `False` if it expired and someone else may have taken it."""
        renewed = yield StoreLease(self._lease_key(owner), holder, ttl, "renew")
        if renewed is not None:
            return bool(renewed)
        ns = self._user_ns(owner)
        (item,) = yield StoreBatch([GetOp(ns, _LEASE_KEY)])
        if not (isinstance(item, Item) and item.value and item.value.get("owner") == holder):
            return False
        lease = {"owner": holder, "expires_at": time.time() + ttl}
        yield StoreBatch([PutOp(ns, _LEASE_KEY, lease)])
        return True

    def release_lease(self, owner: UserRef, holder: str) -> Job[None]:
        """Give the lease back if we still hold it."""
        key = self._lease_key(owner)
        try:
            released = yield StoreLease(key, holder, 0.0, "release")
            if released is None:
                ns = self._user_ns(owner)
                (item,) = yield StoreBatch([GetOp(ns, _LEASE_KEY)])
                if isinstance(item, Item) and item.value.get("owner") == holder:
                    yield StoreBatch([PutOp(ns, _LEASE_KEY, None)])
        finally:
            yield LocalClaim(key, holder, 0.0, release=True)

    def under_lease(
        self, owner: UserRef, holder: str, job: Job[T], *, ttl: float, wait: float
    ) -> Job[T]:
        """Run `job` holding the owner's lease, waiting up to `wait` seconds for it.

        Raises:
            NamespaceBusyError: If the lease stays taken for `wait` seconds.
        """
        deadline = time.monotonic() + wait
        while not (yield from self.acquire_lease(owner, holder, ttl)):
            if time.monotonic() >= deadline:
                raise NamespaceBusyError(owner.user_id)
            yield Sleep(0.05)
        try:
            return (yield from job)
        finally:
            yield from self.release_lease(owner, holder)

    # -- versions ------------------------------------------------------------------------------

    def read_active(
        self, owner: UserRef, names: Sequence[str]
    ) -> Job[tuple[dict[str, ActivePrompt], dict[str, PromptSpec]]]:
        """Active version of each named prompt (missing: never changed) and the config."""
        ops: list[Op] = [GetOp(self._prompt_ns(owner, name), _ACTIVE_KEY) for name in names]
        ops.append(GetOp(self._config_ns(), "prompts"))
        results = yield StoreBatch(ops)
        active = {
            name: ActivePrompt.from_json(item.value)
            for name, item in zip(names, results[:-1], strict=True)
            if isinstance(item, Item)
        }
        return active, _specs_from(results[-1])

    def read_config(self) -> Job[PromptConfig]:
        """The configuration recorded by the middleware (prompts, approval policy)."""
        (item,) = yield StoreBatch([GetOp(self._config_ns(), "prompts")])
        return _config_from(item) or PromptConfig()

    def _pointer_op(self, owner: UserRef, prompt: str, state: ActivePrompt, now: datetime) -> PutOp:
        return PutOp(self._prompt_ns(owner, prompt), _ACTIVE_KEY, state.to_json(prompt, now))

    def _version_op(self, owner: UserRef, version: PromptVersion) -> PutOp:
        return PutOp(
            self._prompt_ns(owner, version.prompt), _version_key(version.version), version.to_json()
        )

    def _read_versions(
        self, owner: UserRef, wanted: Sequence[tuple[str, int]]
    ) -> Job[dict[tuple[str, int], dict[str, Any]]]:
        if not wanted:
            return {}
        results = yield StoreBatch(
            [GetOp(self._prompt_ns(owner, name), _version_key(n)) for name, n in wanted]
        )
        return {
            key: dict(item.value)
            for key, item in zip(wanted, results, strict=True)
            if isinstance(item, Item)
        }

    def _supersede_ops(
        self,
        owner: UserRef,
        records: dict[tuple[str, int], dict[str, Any]],
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
                    "review": _review("supersede", note, now),
                }
                ops.append(PutOp(self._prompt_ns(owner, key[0]), _version_key(key[1]), record))
        return ops

    def pending_heads(
        self, owner: UserRef, active: dict[str, ActivePrompt]
    ) -> Job[dict[str, tuple[int, str]]]:
        """For prompts with versions awaiting approval, the newest one: `(number, text)`.

        New candidates build on it, so what a pending version learned is not lost when a
        newer one supersedes it. Versions a safety check held are never built on.
        """
        wanted = [(name, n) for name, state in active.items() for n in state.pending]
        records = yield from self._read_versions(owner, wanted)
        heads: dict[str, tuple[int, str]] = {}
        for (name, n), record in sorted(records.items()):
            if record.get("outcome") == "pending" and not record.get("hold"):
                heads[name] = (n, record["text"])
        return heads

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
        score_deltas: dict[str, dict[int, tuple[int, float]]] | None = None,
    ) -> Job[dict[str, PromptVersion] | None]:
        """Append candidates as new versions and consume the feedback (one write batch).

        Must run under the owner's lease: version numbers are allocated here from a fresh
        read of each prompt's pointer. A prompt with no lineage yet first gets its base text
        as version 1. An `accepted` candidate becomes active, or `pending` when
        `require_approval` or when the lineage is held (monitoring rolled it back); a new
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
            new_examples: Evaluation-gate examples to add (runs with positive feedback).
            drop_examples: Ids of examples to delete (the oldest, over the gate's cap).

        Returns:
            The appended versions by prompt name, or `None` on a conflict.
        """
        names = [c.prompt for c in candidates]
        active, _ = yield from self.read_active(owner, names)
        if expected_latest is not None:
            for name in names:
                latest = active[name].latest if name in active else 0
                if latest != expected_latest.get(name, 0):
                    logger.warning(
                        "prompt %r of %r changed during the optimization; not committing",
                        name,
                        owner.user_id,
                    )
                    return None
        superseding = [
            (c.prompt, n)
            for c in candidates
            if c.prompt in active
            for n in active[c.prompt].pending
        ]
        pending_records = yield from self._read_versions(owner, superseding)
        now = utcnow()
        ops: list[Op] = []
        appended: dict[str, PromptVersion] = {}
        feedback_ids = tuple(fb.id for fb in feedback)
        for cand in candidates:
            state = active.get(cand.prompt)
            if state is None:
                base = base_texts[cand.prompt]
                first = PromptVersion(
                    prompt=cand.prompt,
                    version=1,
                    text=base,
                    status="active",
                    created_at=now,
                    reason="base prompt",
                    base_hash=content_hash(base),
                )
                ops.append(self._version_op(owner, first))
                state = ActivePrompt(1, base, 1, content_hash(base), ())
            outcome, reason = cand.outcome, cand.reason
            if outcome == "accepted" and state.hold is not None:
                outcome = "pending"
                reason = f"{reason}; pending: the lineage is held for review ({state.hold})"
            elif outcome == "accepted" and require_approval:
                outcome = "pending"
            version = PromptVersion(
                prompt=cand.prompt,
                version=state.latest + 1,
                text=cand.text,
                status="active" if outcome == "accepted" else outcome,
                created_at=now,
                reason=reason,
                parent=(parents or {}).get(cand.prompt, state.version),
                feedback_ids=feedback_ids,
                optimizer_kind=optimizer_kind,
                content_hash=content_hash(cand.text),
                usage=usage,
                base_hash=state.base_hash,
                scores=cand.scores,
                hold=cand.hold,
                replaced=state.version if outcome == "accepted" else None,
            )
            ops.append(self._version_op(owner, version))
            held = tuple(
                n for n in state.pending if pending_records.get((cand.prompt, n), {}).get("hold")
            )
            if cand.hold is not None:
                pending = (*state.pending, version.version)
                state = state.replace(latest=version.version, pending=pending)
            elif outcome in ("pending", "accepted"):
                older = [(cand.prompt, n) for n in state.pending if n not in held]
                note = f"superseded by v{version.version}"
                ops += self._supersede_ops(owner, pending_records, older, note, now)
                if outcome == "pending":
                    state = state.replace(latest=version.version, pending=(*held, version.version))
                else:
                    state = state.replace(
                        version=version.version,
                        text=cand.text,
                        latest=version.version,
                        pending=held,
                    )
            else:
                state = state.replace(latest=version.version)
            ops.append(self._pointer_op(owner, cand.prompt, state, now))
            appended[cand.prompt] = version
        consumed_by = {name: v.version for name, v in appended.items() if v.status != "failed"}
        if feedback:
            ops += yield from self._score_ops(owner, score_deltas or {}, now)
        ops += self._consume_ops(owner, feedback, consumed_by, feedback_ttl_minutes)
        ops += [PutOp(self._examples_ns(owner), e.id, e.to_json()) for e in new_examples]
        ops += [PutOp(self._examples_ns(owner), key, None) for key in drop_examples]
        if ops:
            yield StoreBatch(ops)
        return appended

    def examples(self, owner: UserRef) -> Job[list[Example]]:
        """The lineage's evaluation-gate examples, newest first."""
        items = yield from self._search_all(self._examples_ns(owner), None)
        examples = [Example.from_json(item.value) for item in items]
        return sorted(examples, key=lambda e: (e.created_at, e.id), reverse=True)

    def add_example(self, owner: UserRef, example: Example) -> Job[Example]:
        """Store a reference trajectory for the lineage's evaluation gate."""
        yield StoreBatch([PutOp(self._examples_ns(owner), example.id, example.to_json())])
        return example

    def delete_example(self, owner: UserRef, example_id: str) -> Job[bool]:
        """Delete an example; `False` if there was none with this id."""
        ns = self._examples_ns(owner)
        (item,) = yield StoreBatch([GetOp(ns, example_id)])
        if not isinstance(item, Item):
            return False
        yield StoreBatch([PutOp(ns, example_id, None)])
        return True

    def _consume_ops(
        self,
        owner: UserRef,
        feedback: Sequence[FeedbackItem],
        consumed_by: dict[str, int],
        ttl_minutes: float | None,
    ) -> list[Op]:
        return [
            PutOp(
                self._feedback_ns(owner),
                fb.id,
                {**fb.to_json(), "status": "consumed", "consumed_by": consumed_by},
                ttl=ttl_minutes,
            )
            for fb in feedback
        ]

    # -- monitoring ----------------------------------------------------------------------------

    def read_scores(
        self, owner: UserRef, names: Sequence[str]
    ) -> Job[dict[str, dict[int, tuple[int, float]]]]:
        """The recorded score stats of each prompt: `{prompt: {version: (n, sum)}}`."""
        if not names:
            return {}
        results = yield StoreBatch(
            [GetOp(self._prompt_ns(owner, name), _SCORES_KEY) for name in names]
        )
        return {
            name: _scores_from(item.value)
            for name, item in zip(names, results, strict=True)
            if isinstance(item, Item)
        }

    def _score_ops(
        self, owner: UserRef, deltas: dict[str, dict[int, tuple[int, float]]], now: datetime
    ) -> Job[list[Op]]:
        """Writes of each prompt's score record with `deltas` added (read fresh; under the
        owner's lease nobody else writes them)."""
        names = [name for name, delta in deltas.items() if delta]
        current = yield from self.read_scores(owner, names)
        ops: list[Op] = []
        for name in names:
            merged = dict(current.get(name, {}))
            for version, (n, total) in deltas[name].items():
                old_n, old_total = merged.get(version, (0, 0.0))
                merged[version] = (old_n + n, old_total + total)
            record = {
                "prompt": name,
                "versions": {
                    str(v): {"n": n, "sum": total} for v, (n, total) in sorted(merged.items())
                },
                "updated_at": now.isoformat(),
            }
            ops.append(PutOp(self._prompt_ns(owner, name), _SCORES_KEY, record))
        return ops

    def read_monitoring(
        self, owner: UserRef, active: dict[str, ActivePrompt]
    ) -> Job[tuple[dict[str, PromptVersion], dict[str, dict[int, tuple[int, float]]]]]:
        """What monitoring judges, in ONE batch: each prompt's active version record (status
        as stored: `accepted` reads as `inactive`) and its recorded score stats."""
        names = list(active)
        if not names:
            return {}, {}
        results = yield StoreBatch(
            [GetOp(self._prompt_ns(owner, n), _version_key(active[n].version)) for n in names]
            + [GetOp(self._prompt_ns(owner, n), _SCORES_KEY) for n in names]
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

    def commit_auto_rollback(
        self,
        owner: UserRef,
        *,
        rollbacks: dict[str, tuple[int, str, dict[str, Any]]],
        feedback: Sequence[FeedbackItem],
        score_deltas: dict[str, dict[int, tuple[int, float]]],
        expected_latest: dict[str, int],
        feedback_ttl_minutes: float | None = None,
    ) -> Job[dict[str, PromptVersion] | None]:
        """Monitoring found regressions: roll each prompt back to an earlier served version
        (`{prompt: (to_version, reason, review details)}`), hold its lineage, add the
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
        records = yield from self._read_versions(owner, wanted)
        now = utcnow()
        ops: list[Op] = []
        appended: dict[str, PromptVersion] = {}
        for name, (target, reason, details) in rollbacks.items():
            if records.get((name, target), {}).get("outcome") != "accepted":
                logger.warning("v%s of %r was never served; not rolling back", target, name)
                return None
            review = {**_review("auto-rollback", "", now), **details}
            version, version_ops, state = self._rollback_ops(
                owner, name, active[name], records, target, reason, review, now
            )
            ops += version_ops
            ops.append(self._pointer_op(owner, name, state.replace(hold=reason), now))
            appended[name] = version
        ops += yield from self._score_ops(owner, score_deltas, now)
        consumed_by = {name: v.version for name, v in appended.items()}
        ops += self._consume_ops(owner, feedback, consumed_by, feedback_ttl_minutes)
        yield StoreBatch(ops)
        return appended

    def scores(
        self, owner: UserRef, prompt: str
    ) -> Job[tuple[dict[int, tuple[int, float]], str | None]]:
        """A prompt's score stats `{version: (n, sum)}` and its lineage's hold (or `None`).

        Raises:
            UnknownPromptError: If the prompt is not managed.
        """
        ns = self._prompt_ns(owner, prompt)
        stats, pointer, config_item = yield StoreBatch(
            [GetOp(ns, _SCORES_KEY), GetOp(ns, _ACTIVE_KEY), GetOp(self._config_ns(), "prompts")]
        )
        if not isinstance(pointer, Item) and prompt not in _specs_from(config_item):
            raise UnknownPromptError(owner.user_id, prompt)
        hold = ActivePrompt.from_json(pointer.value).hold if isinstance(pointer, Item) else None
        return (_scores_from(stats.value) if isinstance(stats, Item) else {}), hold

    def release_hold(self, owner: UserRef, prompt: str, *, note: str) -> Job[str]:
        """Clear the hold monitoring put on a lineage: accepted candidates become active
        again (unless approval is required). Run under the owner's lease.

        Returns:
            The reason the lineage was held.

        Raises:
            InvalidTransitionError: If the lineage is not held.
            UnknownPromptError: If the prompt is not managed.
        """
        state = yield from self._lineage(owner, prompt)
        if state is None or state.hold is None:
            msg = f"{prompt!r} is not held: nothing to release"
            raise InvalidTransitionError(msg)
        now = utcnow()
        yield StoreBatch(
            [self._pointer_op(owner, prompt, state.released("release", note, now), now)]
        )
        return state.hold

    def _lineage(self, owner: UserRef, prompt: str) -> Job[ActivePrompt | None]:
        """The prompt's pointer; `None` for a managed prompt never changed (only its base).

        Raises:
            UnknownPromptError: If the prompt is not managed.
        """
        item, config_item = yield StoreBatch(
            [
                GetOp(self._prompt_ns(owner, prompt), _ACTIVE_KEY),
                GetOp(self._config_ns(), "prompts"),
            ]
        )
        if isinstance(item, Item):
            return ActivePrompt.from_json(item.value)
        if prompt not in _specs_from(config_item):
            raise UnknownPromptError(owner.user_id, prompt)
        return None

    def review(
        self, owner: UserRef, prompt: str, version: int, *, approve: bool, note: str
    ) -> Job[PromptVersion]:
        """Approve (activate) or reject a pending version. Run under the owner's lease.

        Approving supersedes any other pending version.

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
        records = yield from self._read_versions(owner, [(prompt, version), *others])
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
            "review": _review("approve" if approve else "reject", note, now),
        }
        if approve:
            record["replaced"] = state.version
        ops: list[Op] = [PutOp(self._prompt_ns(owner, prompt), _version_key(version), record)]
        if approve:
            ops += self._supersede_ops(owner, records, others, f"v{version} approved", now)
            state = state.replace(version=version, text=record["text"], pending=())
            state = state.released(f"approve v{version}", note, now)
        else:
            state = state.replace(pending=tuple(n for n in state.pending if n != version))
        ops.append(self._pointer_op(owner, prompt, state, now))
        yield StoreBatch(ops)
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
        records = yield from self._read_versions(owner, [(prompt, to_version), *pending])
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
        version, ops, state = self._rollback_ops(
            owner, prompt, state, records, to_version, reason, _review("rollback", note, now), now
        )
        state = state.released(f"rollback to v{to_version}", note, now)
        ops.append(self._pointer_op(owner, prompt, state, now))
        yield StoreBatch(ops)
        return version

    def _rollback_ops(
        self,
        owner: UserRef,
        prompt: str,
        state: ActivePrompt,
        records: dict[tuple[str, int], dict[str, Any]],
        to_version: int,
        reason: str,
        review: dict[str, Any],
        now: datetime,
    ) -> tuple[PromptVersion, list[Op], ActivePrompt]:
        """The new active version equal to `to_version` (an accepted record in `records`),
        its write and the supersession of pending versions; and the pointer after (not
        written: the caller sets or clears the hold)."""
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
        after = state.replace(
            version=version.version, text=version.text, latest=version.version, pending=()
        )
        return version, ops, after

    def rebase(
        self, owner: UserRef, prompt: str, base_text: str, *, reason: str
    ) -> Job[tuple[ActivePrompt, int | None] | None]:
        """Start a new lineage from a changed base text. Run under the owner's lease.

        Appends the new base as an active version (its `base_hash` starts the new lineage,
        the old base hash is retired so a replica still running the old code never rebases
        back); pending candidates of the old lineage are superseded. The old history stays
        readable.

        Returns:
            `None` when the prompt has no lineage; else the pointer after, and the version
            that was active before (`None` if the lineage already started from this base).
        """
        active, _ = yield from self.read_active(owner, [prompt])
        state = active.get(prompt)
        new_hash = content_hash(base_text)
        if state is None:
            return None
        if state.base_hash == new_hash:
            return state, None
        pending = yield from self._read_versions(owner, [(prompt, n) for n in state.pending])
        now = utcnow()
        version = PromptVersion(
            prompt=prompt,
            version=state.latest + 1,
            text=base_text,
            status="active",
            created_at=now,
            reason=reason,
            parent=None,
            content_hash=new_hash,
            base_hash=new_hash,
        )
        ops: list[Op] = [self._version_op(owner, version)]
        ops += self._supersede_ops(
            owner, pending, [(prompt, n) for n in state.pending], reason, now
        )
        retired = tuple(h for h in (*state.retired_bases, state.base_hash) if h != new_hash)
        after = ActivePrompt(version.version, base_text, version.version, new_hash, (), retired)
        ops.append(self._pointer_op(owner, prompt, after, now))
        yield StoreBatch(ops)
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
        if not ids:
            return 0
        ns = self._feedback_ns(owner)
        keys = sorted(ids)
        results = yield StoreBatch([GetOp(ns, fid) for fid in keys])
        ops: list[Op] = [
            PutOp(
                ns,
                item.key,
                {
                    **item.value,
                    "status": "pending",
                    "attempts": 0,
                    "consumed_by": None,
                    "only_prompts": [prompt],
                    # its score was counted when it was consumed: never count it twice
                    "prompt_versions": None,
                },
            )
            for item in results
            if isinstance(item, Item)
        ]
        if ops:
            yield StoreBatch(ops)
        return len(ops)

    def history(self, user: UserRef, owner: UserRef, prompt: str) -> Job[list[PromptVersion]]:
        """Every version of a prompt served to `user` (lineage of `owner`), newest first.

        A prompt with no lineage yet has one entry: its base text (version 1, active).

        Raises:
            UnknownUserError: If nothing is stored for this user.
            UnknownPromptError: If the prompt is not managed.
        """
        ns = self._prompt_ns(owner, prompt)
        pointer, user_item, config_item = yield StoreBatch(
            [
                GetOp(ns, _ACTIVE_KEY),
                GetOp(self._users_ns(), user.digest),
                GetOp(self._config_ns(), "prompts"),
            ]
        )
        if not isinstance(pointer, Item):
            if not isinstance(user_item, Item) and user != owner:
                raise UnknownUserError(user.user_id)
            if not isinstance(user_item, Item) and owner.label != _GLOBAL_LABEL:
                raise UnknownUserError(user.user_id)
            spec = _specs_from(config_item).get(prompt)
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
        results = yield StoreBatch([GetOp(ns, _version_key(n)) for n in numbers])
        return [
            PromptVersion.from_json(item.value, active_version=state.version)
            for item in results
            if isinstance(item, Item)
        ]

    def feedback_of(
        self, user: UserRef, owner: UserRef, *, pending_only: bool, status: str | None = None
    ) -> Job[list[FeedbackItem]]:
        """A user's feedback items (stored under the lineage owner), oldest first.

        `status` keeps only items in that state (`pending_only` is `status="pending"`).
        """
        query: dict[str, Any] = {}
        if pending_only or status is not None:
            query["status"] = status or "pending"
        if owner != user:
            query["user_label"] = user.label
        items = yield from self._search_all(self._feedback_ns(owner), query or None)
        feedback = [FeedbackItem.from_json(item.value) for item in items]
        return sorted(feedback, key=lambda fb: (fb.created_at, fb.id))

    def prune_trajectories(self, user: UserRef, owner: UserRef, *, keep: int) -> Job[int]:
        """Delete a user's oldest trajectories beyond `keep`; runs whose feedback is pending or
        held for review stay.

        Returns:
            How many were deleted.
        """
        ns = self._trajectory_ns(user)
        (beyond,) = yield StoreBatch([SearchOp(ns, limit=1, offset=keep)])
        if not beyond:
            return 0  # at most `keep` stored: one small read instead of reading them all
        items = yield from self._search_all(ns, None)
        if len(items) <= keep:
            return 0
        pending = yield from self.pending_feedback(owner)
        held = yield from self._search_all(self._feedback_ns(owner), {"status": "held"})
        waiting = [*pending, *(FeedbackItem.from_json(item.value) for item in held)]
        protected = {fb.trajectory_id for fb in waiting if fb.user_label == user.label}
        ordered = sorted(items, key=lambda item: (item.value.get("created_at", ""), item.key))
        excess = len(items) - keep
        doomed = [item.key for item in ordered if item.key not in protected][:excess]
        if doomed:
            yield StoreBatch([PutOp(ns, key, None) for key in doomed])
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

    def users(self) -> Job[list[str | None]]:
        """Every user id with a namespace (original strings; `None` is the default one)."""
        items = yield from self._search_all(self._users_ns(), None)
        ordered = sorted(items, key=lambda item: item.value.get("created_at", ""))
        return [item.value.get("user_id") for item in ordered]

    def is_known_user(self, user: UserRef) -> Job[bool]:
        """Whether the user has ever been seen."""
        (item,) = yield StoreBatch([GetOp(self._users_ns(), user.digest)])
        return isinstance(item, Item)


def _review(action: str, note: str, now: datetime) -> dict[str, Any]:
    return {"action": action, "at": now.isoformat(), "note": note}


def _scores_from(value: dict[str, Any]) -> dict[int, tuple[int, float]]:
    """The stats of a `"scores"` record; unreadable entries are skipped (and logged), so a
    damaged record never blocks a lineage's learning."""
    scores: dict[int, tuple[int, float]] = {}
    for version, entry in (value.get("versions") or {}).items():
        try:
            scores[int(version)] = (int(entry.get("n", 0)), float(entry.get("sum", 0.0)))
        except (AttributeError, TypeError, ValueError):
            logger.warning("unreadable score entry %r: %r; skipped", version, entry)
    return scores


def _config_from(item: Item | Any | None) -> PromptConfig | None:
    return PromptConfig.from_json(item.value) if isinstance(item, Item) else None


def _specs_from(item: Item | Any | None) -> dict[str, PromptSpec]:
    if not isinstance(item, Item):
        return {}
    return {
        name: PromptSpec.from_json(data) for name, data in item.value.get("prompts", {}).items()
    }
