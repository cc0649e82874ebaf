"""The store layout: namespaces, keys and every read/write the package makes, as jobs.

Layout under `prefix` (default `("prompt_optimization",)`), `<user>` an encoded user label:

```
(*prefix, "%%users")                       key <user digest>  -> {user_id, label, created_at}
(*prefix, "%%config")                      key "prompts"      -> {prompts: {name: PromptSpec}}
(*prefix, <user>)                          key "lease"        -> {owner, expires_at}
(*prefix, <user>, "prompts", <prompt>)     key "active"       -> {version, text, latest, ...}
(*prefix, <user>, "prompts", <prompt>)     key "v00000001"... -> PromptVersion (append-only)
(*prefix, <user>, "trajectories")          key <trajectory id>-> TrajectoryRecord
(*prefix, <user>, "feedback")              key <feedback id>  -> FeedbackItem
(*prefix, <user>, "threads")               key <thread id>    -> {trajectory_id}
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langgraph.store.base import GetOp, Item, PutOp, SearchOp

from langchain_prompt_optimization.errors import (
    TrajectoryNotFoundError,
    UnknownPromptError,
    UnknownUserError,
)
from langchain_prompt_optimization.stores.io import Job, StoreBatch
from langchain_prompt_optimization.stores.records import (
    FeedbackItem,
    PromptSpec,
    PromptVersion,
    TrajectoryRecord,
    content_hash,
    parse_time,
    utcnow,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

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
_USERS = "%%users"
_CONFIG = "%%config"
_ACTIVE_KEY = "active"
_LEASE_KEY = "lease"
_PAGE = 200
_ESCAPE = re.compile(r"[%.\x00-\x1f\x7f]")
_TRAJECTORY_ID = re.compile(r"^([0-9a-f]{24})-([0-9a-f]{32})$")


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
        return cls(user_id, encode_label(user_id))

    @property
    def digest(self) -> str:
        """Short stable digest of the label, embedded in trajectory ids."""
        return hashlib.sha256(self.label.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class ActivePrompt:
    """The active version of one prompt for one user, as pinned for a run."""

    version: int
    text: str
    latest: int


@dataclass(frozen=True, slots=True)
class PinResult:
    """What `StoreLayout.pin` read in its one batch."""

    active: dict[str, ActivePrompt]
    user_registered: bool
    specs: dict[str, PromptSpec]
    thread_trajectory: str | None = None


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A candidate to append to a prompt's history."""

    prompt: str
    text: str
    outcome: str
    reason: str


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

    # -- ids ------------------------------------------------------------------------------------

    @staticmethod
    def new_trajectory_id(user: UserRef) -> str:
        """Mint a trajectory id that carries its namespace digest."""
        return f"{user.digest}-{uuid.uuid4().hex}"

    # -- the run path -------------------------------------------------------------------------

    def pin(
        self, user: UserRef, prompts: Iterable[str], *, thread_id: str | None = None
    ) -> Job[PinResult]:
        """Read, in ONE batch, the active version of each prompt, the user and the config.

        With `thread_id`, the same batch also reads the thread's last trajectory id (for
        in-band feedback on an agent without a checkpointer).
        """
        names = list(prompts)
        ops: list[Op] = [GetOp(self._prompt_ns(user, name), _ACTIVE_KEY) for name in names]
        ops.append(GetOp(self._users_ns(), user.digest))
        ops.append(GetOp(self._config_ns(), "prompts"))
        if thread_id is not None:
            ops.append(GetOp(self._thread_ns(user), thread_id))
        results = yield StoreBatch(ops)
        thread_item = results[len(names) + 2] if thread_id is not None else None
        active: dict[str, ActivePrompt] = {}
        for name, item in zip(names, results[: len(names)], strict=True):
            if isinstance(item, Item):
                value = item.value
                active[name] = ActivePrompt(
                    version=int(value["version"]), text=value["text"], latest=int(value["latest"])
                )
        user_item, config_item = results[len(names)], results[len(names) + 1]
        return PinResult(
            active=active,
            user_registered=isinstance(user_item, Item),
            specs=_specs_from(config_item),
            thread_trajectory=(
                thread_item.value["trajectory_id"] if isinstance(thread_item, Item) else None
            ),
        )

    def capture(
        self,
        user: UserRef,
        trajectory: TrajectoryRecord,
        *,
        register_user: bool,
        specs: dict[str, PromptSpec] | None,
        feedback: FeedbackItem | None = None,
    ) -> Job[None]:
        """Write a run's trajectory in ONE batch, with what else the run learned.

        The same batch carries the thread pointer, the user's registration and the prompt
        configuration when they are new, and in-band feedback on the previous run.
        """
        ops: list[Op] = [
            PutOp(self._trajectory_ns(user), trajectory.id, trajectory.to_json()),
        ]
        if feedback is not None:
            ops.append(PutOp(self._feedback_ns(user), feedback.id, feedback.to_json()))
        if trajectory.thread_id is not None:
            ops.append(
                PutOp(
                    self._thread_ns(user),
                    trajectory.thread_id,
                    {
                        "trajectory_id": trajectory.id,
                        "updated_at": trajectory.created_at.isoformat(),
                    },
                )
            )
        if register_user:
            ops.append(self._register_user_op(user))
        if specs is not None:
            ops.append(self._config_op(specs))
        yield StoreBatch(ops)

    def _register_user_op(self, user: UserRef) -> PutOp:
        return PutOp(
            self._users_ns(),
            user.digest,
            {"user_id": user.user_id, "label": user.label, "created_at": utcnow().isoformat()},
        )

    def _config_op(self, specs: dict[str, PromptSpec]) -> PutOp:
        return PutOp(
            self._config_ns(),
            "prompts",
            {
                "prompts": {name: spec.to_json() for name, spec in specs.items()},
                "updated_at": utcnow().isoformat(),
            },
        )

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

    def add_feedback(self, user: UserRef, item: FeedbackItem) -> Job[int]:
        """Store a feedback item; return `new_pending_count` after it."""
        yield StoreBatch([PutOp(self._feedback_ns(user), item.id, item.to_json())])
        return (yield from self.new_pending_count(user))

    def new_pending_count(self, user: UserRef) -> Job[int]:
        """How many pending feedback items no optimization has attempted yet (the trigger)."""
        pending = yield from self.pending_feedback(user)
        return sum(1 for fb in pending if fb.attempts == 0)

    def pending_feedback(self, user: UserRef) -> Job[list[FeedbackItem]]:
        """All pending feedback of a user, oldest first (paginated, never cut at 10)."""
        items = yield from self._search_all(self._feedback_ns(user), {"status": "pending"})
        feedback = [FeedbackItem.from_json(item.value) for item in items]
        return sorted(feedback, key=lambda fb: (fb.created_at, fb.id))

    def all_feedback(self, user: UserRef) -> Job[list[FeedbackItem]]:
        """All feedback of a user, oldest first."""
        items = yield from self._search_all(self._feedback_ns(user), None)
        feedback = [FeedbackItem.from_json(item.value) for item in items]
        return sorted(feedback, key=lambda fb: (fb.created_at, fb.id))

    def _search_all(
        self, namespace: tuple[str, ...], filter: dict[str, Any] | None
    ) -> Job[list[Item]]:
        found: dict[str, Item] = {}
        offset = 0
        while True:
            (page,) = yield StoreBatch(
                [SearchOp(namespace, filter=filter, limit=_PAGE, offset=offset)]
            )
            for item in page:
                if item.namespace == namespace:
                    found[item.key] = item
            if len(page) < _PAGE:
                return list(found.values())
            offset += _PAGE

    def load_trajectories(
        self, user: UserRef, ids: Sequence[str]
    ) -> Job[dict[str, TrajectoryRecord]]:
        """Load trajectories by id in one batch; missing ones are left out."""
        if not ids:
            return {}
        ns = self._trajectory_ns(user)
        results = yield StoreBatch([GetOp(ns, tid) for tid in ids])
        return {
            tid: TrajectoryRecord.from_json(item.value)
            for tid, item in zip(ids, results, strict=True)
            if isinstance(item, Item)
        }

    def mark_attempted(self, user: UserRef, items: Sequence[FeedbackItem]) -> Job[None]:
        """Count a failed optimization attempt on each item (they stay pending)."""
        ops: list[Op] = [
            PutOp(
                self._feedback_ns(user),
                fb.id,
                {**fb.to_json(), "attempts": fb.attempts + 1},
            )
            for fb in items
        ]
        if ops:
            yield StoreBatch(ops)

    # -- leases --------------------------------------------------------------------------------

    def acquire_lease(self, user: UserRef, owner: str, ttl: float) -> Job[bool]:
        """Take the namespace's optimizer lease unless another live owner holds it."""
        ns, now = self._user_ns(user), time.time()
        (item,) = yield StoreBatch([GetOp(ns, _LEASE_KEY)])
        if isinstance(item, Item):
            holder, expires = item.value.get("owner"), float(item.value.get("expires_at", 0))
            if holder != owner and expires > now:
                return False
        yield StoreBatch([PutOp(ns, _LEASE_KEY, {"owner": owner, "expires_at": now + ttl})])
        (check,) = yield StoreBatch([GetOp(ns, _LEASE_KEY)])
        return isinstance(check, Item) and check.value.get("owner") == owner

    def release_lease(self, user: UserRef, owner: str) -> Job[None]:
        """Give the lease back if we still hold it."""
        ns = self._user_ns(user)
        (item,) = yield StoreBatch([GetOp(ns, _LEASE_KEY)])
        if isinstance(item, Item) and item.value.get("owner") == owner:
            yield StoreBatch([PutOp(ns, _LEASE_KEY, None)])

    # -- versions ------------------------------------------------------------------------------

    def read_active(
        self, user: UserRef, names: Sequence[str]
    ) -> Job[tuple[dict[str, ActivePrompt], dict[str, PromptSpec]]]:
        """Active version of each named prompt (missing: never optimized) and the config."""
        ops: list[Op] = [GetOp(self._prompt_ns(user, name), _ACTIVE_KEY) for name in names]
        ops.append(GetOp(self._config_ns(), "prompts"))
        results = yield StoreBatch(ops)
        active = {
            name: ActivePrompt(
                int(item.value["version"]), item.value["text"], int(item.value["latest"])
            )
            for name, item in zip(names, results[:-1], strict=True)
            if isinstance(item, Item)
        }
        return active, _specs_from(results[-1])

    def read_specs(self) -> Job[dict[str, PromptSpec]]:
        """The prompt configuration recorded by the middleware (base texts and guidance)."""
        (item,) = yield StoreBatch([GetOp(self._config_ns(), "prompts")])
        return _specs_from(item)

    def commit_optimization(
        self,
        user: UserRef,
        *,
        bases: dict[str, ActivePrompt | str],
        candidates: Sequence[NewVersion],
        feedback: Sequence[FeedbackItem],
        optimizer_kind: str,
        usage: dict[str, int],
    ) -> Job[dict[str, PromptVersion]]:
        """Append the candidates as new versions and consume the feedback, in ONE batch.

        Must run under the namespace lease: version numbers are allocated here.

        Args:
            user: The namespace.
            bases: Per prompt, its active version, or its base text when it has no lineage yet
                (the base is then written as version 1 first).
            candidates: New entries; `accepted` ones become active.
            feedback: The items consumed.
            optimizer_kind: langmem kind that produced the candidates.
            usage: Optimizer usage to store on each new version.

        Returns:
            The appended versions by prompt name.
        """
        now = utcnow()
        ops: list[Op] = []
        appended: dict[str, PromptVersion] = {}
        feedback_ids = tuple(fb.id for fb in feedback)
        for cand in candidates:
            base = bases[cand.prompt]
            ns = self._prompt_ns(user, cand.prompt)
            if isinstance(base, ActivePrompt):
                active_version, active_text, latest = base.version, base.text, base.latest
            else:
                active_version, active_text, latest = 1, base, 1
                first = PromptVersion(
                    prompt=cand.prompt,
                    version=1,
                    text=base,
                    status="active",
                    created_at=now,
                    reason="base prompt",
                )
                ops.append(PutOp(ns, _version_key(1), first.to_json()))
            number = latest + 1
            version = PromptVersion(
                prompt=cand.prompt,
                version=number,
                text=cand.text,
                status="active" if cand.outcome == "accepted" else cand.outcome,
                created_at=now,
                reason=cand.reason,
                parent=active_version,
                feedback_ids=feedback_ids,
                optimizer_kind=optimizer_kind,
                content_hash=content_hash(cand.text),
                usage=usage,
            )
            ops.append(PutOp(ns, _version_key(number), version.to_json()))
            serving = (
                (number, cand.text)
                if cand.outcome == "accepted"
                else (
                    active_version,
                    active_text,
                )
            )
            ops.append(
                PutOp(
                    ns,
                    _ACTIVE_KEY,
                    {
                        "prompt": cand.prompt,
                        "version": serving[0],
                        "text": serving[1],
                        "latest": number,
                        "updated_at": now.isoformat(),
                    },
                )
            )
            appended[cand.prompt] = version
        consumed_by = {name: v.version for name, v in appended.items() if v.status == "active"}
        for fb in feedback:
            record = {**fb.to_json(), "status": "consumed", "consumed_by": consumed_by}
            ops.append(PutOp(self._feedback_ns(user), fb.id, record))
        if ops:
            yield StoreBatch(ops)
        return appended

    def history(self, user: UserRef, prompt: str) -> Job[list[PromptVersion]]:
        """Every version of a prompt for a user, newest first.

        A prompt with no lineage yet has one entry: its base text (version 1, active).

        Raises:
            UnknownUserError: If nothing is stored for this user.
            UnknownPromptError: If the prompt is not managed for this user.
        """
        ns = self._prompt_ns(user, prompt)
        pointer, user_item, config_item = yield StoreBatch(
            [
                GetOp(ns, _ACTIVE_KEY),
                GetOp(self._users_ns(), user.digest),
                GetOp(self._config_ns(), "prompts"),
            ]
        )
        if not isinstance(pointer, Item):
            if not isinstance(user_item, Item):
                raise UnknownUserError(user.user_id)
            spec = _specs_from(config_item).get(prompt)
            if spec is None:
                raise UnknownPromptError(user.user_id, prompt)
            created = parse_time(user_item.value["created_at"])
            return [
                PromptVersion(
                    prompt=prompt,
                    version=1,
                    text=spec.prompt,
                    status="active",
                    created_at=created,
                    reason="base prompt",
                    content_hash=content_hash(spec.prompt),
                )
            ]
        active, latest = int(pointer.value["version"]), int(pointer.value["latest"])
        numbers = list(range(latest, 0, -1))
        results = yield StoreBatch([GetOp(ns, _version_key(n)) for n in numbers])
        return [
            PromptVersion.from_json(item.value, active_version=active)
            for item in results
            if isinstance(item, Item)
        ]

    def users(self) -> Job[list[str | None]]:
        """Every user id with a namespace (original strings; `None` is the default one)."""
        items = yield from self._search_all(self._users_ns(), None)
        ordered = sorted(items, key=lambda item: item.value.get("created_at", ""))
        return [item.value.get("user_id") for item in ordered]


def _specs_from(item: Item | Any | None) -> dict[str, PromptSpec]:
    if not isinstance(item, Item):
        return {}
    return {
        name: PromptSpec.from_json(data) for name, data in item.value.get("prompts", {}).items()
    }
