"""Record shapes kept in the store, and their JSON (de)serialization."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from langchain_prompt_optimization._deprecated import warn_renamed

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.messages import BaseMessage

__all__ = [
    "EVALUATOR_SOURCE",
    "LEGACY_FEEDBACK_STATUS",
    "ActivePrompt",
    "Example",
    "FeedbackItem",
    "FeedbackValue",
    "LearnedSectionMode",
    "PromptConfig",
    "PromptSpec",
    "PromptVersion",
    "Retention",
    "TrajectoryRecord",
    "VersionOutcome",
    "check_feedback_id",
    "content_hash",
    "is_flagged",
    "messages_from_json",
    "messages_to_json",
    "parse_time",
    "review_stamp",
    "utcnow",
]

EVALUATOR_SOURCE = "evaluator:"
"""`FeedbackItem.source` prefix of feedback an evaluator gave (`"evaluator:<name>"`)."""

LEGACY_FEEDBACK_STATUS = {"held": "quarantined"}
"""Feedback statuses written before the rename, and what they are read as."""

LEGACY_KEY = "hold"
"""The key the previous release used for a paused lineage (pointer) and a flagged version.
Still written next to the new key for one release, so processes not yet upgraded keep
treating those lineages and versions as stopped during a rolling upgrade."""

FeedbackValue = str | dict[str, Any]
"""Feedback is free text, or a dict in langmem's `AnnotatedTrajectory` feedback shape."""

VersionOutcome = Literal["accepted", "pending", "canary", "superseded", "rejected", "failed"]
"""The stored state of a history entry.

`accepted` versions were activated (the pointer decides whether one is still `active`);
`pending` ones wait for approval; `canary` ones are served to a fraction of runs until the
monitor promotes (`accepted`) or rejects them; `superseded` pending ones were overtaken by a newer
candidate; `rejected` ones failed a check or a reviewer; `failed` marks an optimizer error
(the entry carries no usable text).
"""


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def parse_time(value: str) -> datetime:
    """Parse a stored ISO-8601 timestamp."""
    return datetime.fromisoformat(value)


def review_stamp(action: str, note: str, now: datetime) -> dict[str, Any]:
    """The `review` entry a state change leaves on a record: `{action, at, note}`."""
    return {"action": action, "at": now.isoformat(), "note": note}


MAX_FEEDBACK_ID_CHARS = 128
"""Longest caller-chosen `feedback_id` (it is the feedback record's store key)."""


def check_feedback_id(value: object) -> str:
    """A caller-chosen feedback id (an idempotency key), validated.

    Raises:
        TypeError: If it is not a str.
        ValueError: If it is empty or blank, longer than `MAX_FEEDBACK_ID_CHARS`, or holds
            control characters or lone surrogates (it becomes a store key on every backend).
    """
    if not isinstance(value, str):
        msg = f"feedback_id must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    if not value.strip():
        msg = "feedback_id must be a non-empty string"
        raise ValueError(msg)
    if len(value) > MAX_FEEDBACK_ID_CHARS:
        msg = f"feedback_id is {len(value)} characters; at most {MAX_FEEDBACK_ID_CHARS}"
        raise ValueError(msg)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        msg = "feedback_id must not hold control characters or lone surrogates"
        raise ValueError(msg)
    return value


def _inband_feedback_id(trajectory_id: str, feedback: object, score: float | None) -> str:
    """The id of in-band feedback: derived from the run it is about and its content, so a
    retried invoke that carries the same feedback writes the same record, never a copy."""
    canonical = json.dumps([trajectory_id, feedback, score], sort_keys=True, default=str)
    return "inband-" + content_hash(canonical)[:32]


def content_hash(text: str) -> str:
    """Stable hash of a prompt text (hex sha256), stored on every version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def messages_to_json(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Serialize messages to plain JSON dicts (whatever provider metadata they carry)."""
    from langchain_core.messages import messages_to_dict  # deferred: review commands skip it

    return json.loads(json.dumps(messages_to_dict(list(messages)), default=str))  # type: ignore[no-any-return]


def messages_from_json(data: list[dict[str, Any]]) -> list[BaseMessage]:
    """Inverse of `messages_to_json`."""
    from langchain_core.messages import messages_from_dict

    return messages_from_dict(data)


LearnedSectionMode = Literal["off", "on", "new_lineages"]
"""Whether a prompt is optimized in learned-section mode (see `PromptSpec`)."""


def _learned_section_mode(value: object) -> LearnedSectionMode:
    if value == "on":
        return "on"
    if value == "new_lineages":
        return "new_lineages"
    return "off"


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """A managed prompt: its base text from code and langmem's update guidance.

    `learned_section` says whether the optimizer edits only a delimited section appended to
    the base, never the base (see `SystemPromptSettings.learned_section`): `"off"`, `"on"`,
    or `"new_lineages"` (on for a lineage whose text is its base, or its base plus a
    section; off for one already rewritten whole).
    """

    name: str
    prompt: str
    update_instructions: str | None = None
    when_to_update: str | None = None
    learned_section: LearnedSectionMode = "off"

    def to_json(self) -> dict[str, Any]:
        """JSON form, as stored in the prompt configuration record."""
        data: dict[str, Any] = {
            "name": self.name,
            "prompt": self.prompt,
            "update_instructions": self.update_instructions,
            "when_to_update": self.when_to_update,
        }
        if self.learned_section != "off":  # absent otherwise: as earlier releases wrote it
            data["learned_section"] = self.learned_section
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PromptSpec:
        """Inverse of `to_json`."""
        return cls(
            name=data["name"],
            prompt=data["prompt"],
            update_instructions=data.get("update_instructions"),
            when_to_update=data.get("when_to_update"),
            learned_section=_learned_section_mode(data.get("learned_section")),
        )


@dataclass(frozen=True, slots=True)
class Retention:
    """How long run data is kept. Prompt versions are never deleted.

    Attributes:
        max_trajectories_per_user: Keep at most this many trajectories per user (the
            oldest go first; runs with pending feedback are always kept). `None`: no cap.
            Enforced after each optimization for the users involved, by workers
            periodically, and by `PromptRegistry.prune()` / `promptopt prune`.
        trajectory_ttl_minutes: Time-to-live of each trajectory, on stores that support
            TTL (SQLite, PostgreSQL; expired items are removed by the store's TTL sweeper).
        consumed_feedback_ttl_minutes: Time-to-live of feedback once consumed, likewise.
    """

    max_trajectories_per_user: int | None = 1_000
    trajectory_ttl_minutes: float | None = None
    consumed_feedback_ttl_minutes: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_trajectories_per_user", "trajectory_ttl_minutes",
                     "consumed_feedback_ttl_minutes"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value <= 0):
                msg = f"Retention.{name} must be positive or None; got {value!r}"
                raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class PromptConfig:
    """What the middleware records so any process (a worker) can optimize without the code:
    the managed prompts' base texts and guidance, and whether new versions need approval."""

    specs: dict[str, PromptSpec] = field(default_factory=dict)
    require_approval: bool = False
    scope: str = "user"
    optimize_every: int = 1
    system_prompt: str = "system"
    monitor: dict[str, Any] | None = None
    """The monitoring policy (`Monitor.to_json()`); `None`: not recorded (the default)."""
    policy: dict[str, Any] | None = None
    """The candidate budgets (`CandidatePolicy.to_json()`); `None`: not recorded."""
    firewall: dict[str, Any] | None = None
    """The feedback firewall's settings (`FeedbackFirewall.to_json()`); `None`: not recorded."""
    screeners: list[dict[str, Any]] | None = None
    """The screeners in order (`{"kind": "rules" | "model" | "custom", ...}`); `None`: not
    recorded (workers use the defaults)."""
    canary: dict[str, Any] | None = None
    """The canary rollout policy (`Canary.to_json()`); `None`: candidates go live at once."""

    def to_json(self) -> dict[str, Any]:
        """JSON form, as stored in the configuration record."""
        return {
            "prompts": {name: spec.to_json() for name, spec in self.specs.items()},
            "require_approval": self.require_approval,
            "scope": self.scope,
            "optimize_every": self.optimize_every,
            "system_prompt": self.system_prompt,
            "monitor": self.monitor,
            "policy": self.policy,
            "firewall": self.firewall,
            "screeners": self.screeners,
            "canary": self.canary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PromptConfig:
        """Inverse of `to_json`."""
        return cls(
            specs={
                name: PromptSpec.from_json(spec)
                for name, spec in (data.get("prompts") or {}).items()
            },
            require_approval=bool(data.get("require_approval", False)),
            scope=str(data.get("scope", "user")),
            optimize_every=int(data.get("optimize_every", 1)),
            system_prompt=str(data.get("system_prompt", "system")),
            monitor=data.get("monitor") if isinstance(data.get("monitor"), dict) else None,
            policy=data.get("policy") if isinstance(data.get("policy"), dict) else None,
            firewall=data.get("firewall") if isinstance(data.get("firewall"), dict) else None,
            screeners=data.get("screeners") if isinstance(data.get("screeners"), list) else None,
            canary=data.get("canary") if isinstance(data.get("canary"), dict) else None,
        )


@dataclass(frozen=True, slots=True)
class ActivePrompt:
    """A prompt's pointer: the active version (pinned for runs), the latest number, the
    base hash of the active lineage and the versions awaiting approval.

    `paused` is set (to the reason) when monitoring rolled the lineage back: new candidates
    then wait as pending until a reviewer approves, rolls back or resumes it.
    `resumed` records the last resume: `{at, by, note, paused}`. Records written before the
    rename (`hold`, `hold_released`) are read too. `canary` is the running canary
    (`stores.canary.CanaryRecord`'s JSON), served to a fraction of runs; `None`: none.
    """

    version: int
    text: str
    latest: int
    base_hash: str = ""
    pending: tuple[int, ...] = ()
    retired_bases: tuple[str, ...] = ()
    paused: str | None = None
    resumed: dict[str, Any] | None = None
    canary: dict[str, Any] | None = None

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
            paused=data["paused"] if "paused" in data else data.get("hold"),
            resumed=_resumed_from(data),
            canary=data.get("canary") if isinstance(data.get("canary"), dict) else None,
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
            "paused": self.paused,
            "resumed": self.resumed,
            "canary": self.canary,
            # Also under the name the previous release reads (one release), so a process
            # not yet upgraded still sees the lineage as stopped during a rolling upgrade.
            LEGACY_KEY: self.paused,
            "updated_at": now.isoformat(),
        }

    def replace(self, **changes: Any) -> ActivePrompt:
        """A copy with `changes`."""
        return replace(self, **changes)

    def resume(self, by: str, note: str, now: datetime) -> ActivePrompt:
        """A copy no longer paused, recording who resumed it (`by`: the action)."""
        if self.paused is None:
            return self
        return replace(
            self,
            paused=None,
            resumed={"at": now.isoformat(), "by": by, "note": note, "paused": self.paused},
        )

    @property
    def hold(self) -> str | None:
        """Deprecated alias of `paused`."""
        warn_renamed("ActivePrompt.hold", "ActivePrompt.paused")
        return self.paused

    @property
    def hold_released(self) -> dict[str, Any] | None:
        """Deprecated alias of `resumed`."""
        warn_renamed("ActivePrompt.hold_released", "ActivePrompt.resumed")
        return self.resumed


def _resumed_from(data: dict[str, Any]) -> dict[str, Any] | None:
    """The pointer's last resume, also from a record written before the rename."""
    resumed = data["resumed"] if "resumed" in data else data.get("hold_released")
    if isinstance(resumed, dict) and "hold" in resumed and "paused" not in resumed:
        resumed = {k: v for k, v in resumed.items() if k != "hold"} | {"paused": resumed["hold"]}
    return resumed


def is_flagged(record: dict[str, Any]) -> bool:
    """Whether a stored version record was flagged by a safety check (also before the
    rename, when the key was `hold`)."""
    return bool(record.get("flagged") or record.get("hold"))


@dataclass(frozen=True, slots=True)
class PromptVersion:
    """One entry of a prompt's append-only history.

    Attributes:
        prompt: Name of the prompt (`"system"` for the agent's system prompt).
        version: Explicit version number, 1 for the base text, never reused.
        text: The prompt text (empty for a `failed` entry).
        status: `"active"` for the version being served; otherwise `"inactive"` (was
            accepted, since replaced), `"pending"` (awaits approval), `"canary"` (served to a
            fraction of runs until promoted or rejected), `"superseded"` (a
            pending version overtaken by a newer one), `"rejected"`, or `"failed"`.
        created_at: When the version was appended.
        reason: Why the entry exists (base, optimization, refusal reason, error).
        parent: The version the candidate was derived from.
        feedback_ids: Feedback items the optimizer consumed to produce it.
        optimizer_kind: langmem optimizer kind, when produced by an optimizer.
        content_hash: sha256 of `text`.
        usage: Optimizer usage: `calls`, `input_tokens`, `output_tokens`; the model
            screener's as `screening_calls`, `screening_input_tokens`,
            `screening_output_tokens`.
        base_hash: sha256 of the base text the version's lineage started from.
        review: The last review action: `{"action", "at", "note"}`.
        scores: The evaluation gate's verdict when one ran: `candidate` and `active` mean
            scores on the same `examples`, the scoring `method`, and `best_of` (every
            candidate's score) when several were generated.
        flagged: Why a safety check flagged this version for review (firewall, personal
            data, evaluation gate); flagged versions stay `pending` until a reviewer acts, are
            not superseded by later candidates, and later candidates do not build on them.
            (Stored as `hold` before the rename; such records are read too.)
        replaced: The version that was active when this one was activated (what online
            monitoring compares it with; its `parent` may be a pending version never served).
        verdicts: The screeners' verdicts on the candidate, in the order they ran: each
            `{"screener", "verdict" ("pass" / "hold" / "review"), "category", "reason"}`, and
            `usage` when the screener called a model. Empty for versions no screener saw
            (base, rollbacks, versions written before screening existed).
        canary: The canary evidence once a canary is decided: `decision` (`promote` /
            `reject`), `test` (`welch-t`), `canary` and `active` (`{n, mean}` of each arm's
            scored runs), `p_value`, `alpha`, `why` and `sources` (whose scores counted).
            `None` for versions never canaried
            or canaries still running (or stopped by a reviewer).
    """

    prompt: str
    version: int
    text: str
    status: str
    created_at: datetime
    reason: str
    parent: int | None = None
    feedback_ids: tuple[str, ...] = ()
    optimizer_kind: str | None = None
    content_hash: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    base_hash: str = ""
    review: dict[str, Any] | None = None
    scores: dict[str, Any] | None = None
    flagged: str | None = None
    replaced: int | None = None
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    canary: dict[str, Any] | None = None

    @property
    def hold(self) -> str | None:
        """Deprecated alias of `flagged`."""
        warn_renamed("PromptVersion.hold", "PromptVersion.flagged")
        return self.flagged

    def to_json(self) -> dict[str, Any]:
        """JSON form. `status` is stored as the creation outcome, not as `active`."""
        return {
            "prompt": self.prompt,
            "version": self.version,
            "text": self.text,
            "outcome": "accepted" if self.status in ("active", "inactive") else self.status,
            "created_at": self.created_at.isoformat(),
            "reason": self.reason,
            "parent": self.parent,
            "feedback_ids": list(self.feedback_ids),
            "optimizer_kind": self.optimizer_kind,
            "content_hash": self.content_hash or content_hash(self.text),
            "usage": dict(self.usage),
            "base_hash": self.base_hash,
            "review": self.review,
            "scores": self.scores,
            "flagged": self.flagged,
            LEGACY_KEY: self.flagged,  # read by the previous release (see ActivePrompt.to_json)
            "replaced": self.replaced,
            "verdicts": [dict(v) for v in self.verdicts],
            "canary": self.canary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, active_version: int | None) -> PromptVersion:
        """Build from a stored record; `active_version` decides `active` vs `inactive`."""
        outcome = data["outcome"]
        if outcome == "accepted":
            status = "active" if data["version"] == active_version else "inactive"
        else:
            status = outcome
        return cls(
            prompt=data["prompt"],
            version=int(data["version"]),
            text=data["text"],
            status=status,
            created_at=parse_time(data["created_at"]),
            reason=data.get("reason", ""),
            parent=data.get("parent"),
            feedback_ids=tuple(data.get("feedback_ids", ())),
            optimizer_kind=data.get("optimizer_kind"),
            content_hash=data.get("content_hash", ""),
            usage=dict(data.get("usage") or {}),
            base_hash=data.get("base_hash", ""),
            review=data.get("review"),
            scores=data.get("scores"),
            flagged=data["flagged"] if "flagged" in data else data.get("hold"),
            replaced=data.get("replaced"),
            verdicts=[dict(v) for v in data.get("verdicts") or () if isinstance(v, dict)],
            canary=data.get("canary") if isinstance(data.get("canary"), dict) else None,
        )


@dataclass(frozen=True, slots=True)
class Example:
    """A recorded run the evaluation gate replays against candidates.

    Attributes:
        id: Example id.
        messages: The run's messages as JSON dicts (input up to the last human message,
            then the recorded output with its tool calls and tool results).
        source: `"feedback"` (a run that got positive feedback) or `"reference"` (added by
            a user).
        created_at: When it was added.
        trajectory_id: The run it was taken from, for `"feedback"` examples.
        note: Free text.
    """

    id: str
    messages: list[dict[str, Any]]
    source: str
    created_at: datetime
    trajectory_id: str | None = None
    note: str = ""

    @classmethod
    def new(
        cls,
        messages: list[dict[str, Any]],
        *,
        source: str,
        trajectory_id: str | None = None,
        note: str = "",
    ) -> Example:
        """A new example with a fresh id (a run's example reuses the run's id)."""
        return cls(
            id=trajectory_id or uuid.uuid4().hex,
            messages=messages,
            source=source,
            created_at=utcnow(),
            trajectory_id=trajectory_id,
            note=note,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "messages": self.messages,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "trajectory_id": self.trajectory_id,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Example:
        """Inverse of `to_json`."""
        return cls(
            id=data["id"],
            messages=list(data.get("messages", [])),
            source=data.get("source", "reference"),
            created_at=parse_time(data["created_at"]),
            trajectory_id=data.get("trajectory_id"),
            note=data.get("note", ""),
        )


@dataclass(frozen=True, slots=True)
class TrajectoryRecord:
    """One agent run as recorded by the middleware."""

    id: str
    user_id: str | None
    thread_id: str | None
    prompt_versions: dict[str, int]
    messages: list[dict[str, Any]]
    created_at: datetime
    pin_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "thread_id": self.thread_id,
            "prompt_versions": dict(self.prompt_versions),
            "messages": self.messages,
            "created_at": self.created_at.isoformat(),
            "pin_error": self.pin_error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrajectoryRecord:
        """Inverse of `to_json`."""
        return cls(
            id=data["id"],
            user_id=data.get("user_id"),
            thread_id=data.get("thread_id"),
            prompt_versions={k: int(v) for k, v in data.get("prompt_versions", {}).items()},
            messages=list(data.get("messages", [])),
            created_at=parse_time(data["created_at"]),
            pin_error=data.get("pin_error"),
        )


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """Feedback on one trajectory.

    Attributes:
        id: Feedback id and record key: the caller's `feedback_id` (idempotency key), a
            fresh id, or for in-band feedback one derived from the run and the content.
        trajectory_id: The run the feedback is about.
        feedback: Free text, or a dict (langmem's `AnnotatedTrajectory` feedback shape).
        score: Optional numeric score.
        source: `"api"` (`add_feedback`), `"in_band"` (the `feedback` input key), `"cli"`,
            or `"evaluator:<name>"` (an evaluator scored the run: `evaluators=`; its comment
            is the feedback text). `from_evaluator` tells the two kinds apart.
        status: `"pending"` until an optimization consumes it, then `"consumed"`; `"quarantined"`
            when the feedback firewall caught it (a reviewer releases or discards it; stored
            as `"held"` before the rename, read as `"quarantined"`),
            `"discarded"` once discarded, `"failed"` after `max_attempts` failed tries.
        attempts: Optimizations that tried this item and failed.
        created_at: When it was recorded.
        consumed_by: `{prompt: version}` the optimization that consumed it produced.
        user_id: The user whose run it is about (`None`: the default namespace).
        user_label: That user's namespace label (where the trajectory is stored).
        only_prompts: Restrict the optimization to these prompts (feedback carried over to
            a changed base concerns that prompt only).
        quarantine_reason: Why the feedback firewall quarantined the item (status
            `quarantined`; stored as `hold_reason` before the rename, read too).
        trusted: A reviewer released the item: the firewall does not screen it again.
        prompt_versions: `{prompt: version}` that served the run (copied from its
            trajectory when the feedback is recorded); its score counts for those versions
            when an optimization consumes it. `None` on items recorded before monitoring
            existed, and on items requeued after their score was counted.
    """

    id: str
    trajectory_id: str
    feedback: FeedbackValue
    score: float | None
    source: str
    status: str
    attempts: int
    created_at: datetime
    consumed_by: dict[str, int] | None = None
    user_id: str | None = None
    user_label: str = ""
    only_prompts: tuple[str, ...] | None = None
    quarantine_reason: str | None = None
    trusted: bool = False
    prompt_versions: dict[str, int] | None = None

    @property
    def hold_reason(self) -> str | None:
        """Deprecated alias of `quarantine_reason`."""
        warn_renamed("FeedbackItem.hold_reason", "FeedbackItem.quarantine_reason")
        return self.quarantine_reason

    @property
    def from_evaluator(self) -> bool:
        """Whether an evaluator gave this feedback (`source="evaluator:<name>"`), not a person."""
        return self.source.startswith(EVALUATOR_SOURCE)

    @classmethod
    def new(
        cls,
        trajectory_id: str,
        feedback: FeedbackValue,
        score: float | None,
        *,
        source: str,
        user_id: str | None,
        user_label: str,
        prompt_versions: dict[str, int] | None = None,
        feedback_id: str | None = None,
    ) -> FeedbackItem:
        """A new pending item: id `feedback_id` (the caller's idempotency key) if given, else
        a fresh id; in-band items (`source="in_band"`) get an id derived from the run and the
        feedback, so a retried invoke does not store a second copy."""
        if feedback_id is None:
            if source == "in_band":
                feedback_id = _inband_feedback_id(trajectory_id, feedback, score)
            else:
                feedback_id = uuid.uuid4().hex
        return cls(
            user_id=user_id,
            user_label=user_label,
            id=feedback_id,
            trajectory_id=trajectory_id,
            feedback=feedback,
            score=score,
            source=source,
            status="pending",
            attempts=0,
            created_at=utcnow(),
            prompt_versions=dict(prompt_versions) if prompt_versions is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "trajectory_id": self.trajectory_id,
            "feedback": self.feedback,
            "score": self.score,
            "source": self.source,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "consumed_by": self.consumed_by,
            "user_id": self.user_id,
            "user_label": self.user_label,
            "only_prompts": list(self.only_prompts) if self.only_prompts is not None else None,
            "quarantine_reason": self.quarantine_reason,
            "hold_reason": self.quarantine_reason,  # the previous release's name (one release)
            "trusted": self.trusted,
            "prompt_versions": (
                dict(self.prompt_versions) if self.prompt_versions is not None else None
            ),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedbackItem:
        """Inverse of `to_json`."""
        return cls(
            id=data["id"],
            trajectory_id=data["trajectory_id"],
            feedback=data["feedback"],
            score=data.get("score"),
            source=data.get("source", "api"),
            status=LEGACY_FEEDBACK_STATUS.get(data["status"], data["status"]),
            attempts=int(data.get("attempts", 0)),
            created_at=parse_time(data["created_at"]),
            consumed_by=data.get("consumed_by"),
            user_id=data.get("user_id"),
            user_label=data.get("user_label", ""),
            only_prompts=(
                tuple(data["only_prompts"]) if data.get("only_prompts") is not None else None
            ),
            quarantine_reason=(
                data["quarantine_reason"]
                if "quarantine_reason" in data
                else data.get("hold_reason")
            ),
            trusted=bool(data.get("trusted", False)),
            prompt_versions=(
                {str(k): int(v) for k, v in data["prompt_versions"].items()}
                if isinstance(data.get("prompt_versions"), dict)
                else None
            ),
        )
