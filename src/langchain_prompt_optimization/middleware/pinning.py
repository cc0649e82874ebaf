"""Pinning: which prompt versions serve a run, lineage restarts on a changed base, last pins."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from langchain_prompt_optimization.middleware.pin_cache import PinCache
from langchain_prompt_optimization.middleware.prompt_texts import PromptTexts, is_text_hash
from langchain_prompt_optimization.optimizer.learned_section import (
    compose,
    section_content,
    split,
)
from langchain_prompt_optimization.stores import UserRef
from langchain_prompt_optimization.stores.canary_record import serve_arm
from langchain_prompt_optimization.stores.records import content_hash

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from langgraph.store.base import BaseStore

    from langchain_prompt_optimization.optimizer.run import OptimizationOutcome
    from langchain_prompt_optimization.stores import (
        ActivePrompt,
        Job,
        PinResult,
        PromptConfig,
        PromptSpec,
        StoreLayout,
    )
    from langchain_prompt_optimization.stores.records import LearnedSectionMode

__all__ = [
    "FEEDBACK_OUTCOME",
    "LAST_MESSAGE",
    "META",
    "PINNED",
    "Pin",
    "Pinned",
    "Pinner",
    "active_text_job",
    "config_hash",
    "pinned_system_prompt",
]

logger = logging.getLogger(__name__)

PINNED: Final = "prompt_optimization_pinned"
"""State key: `{prompt name: content hash of the text}` pinned for the run (the texts stay in
process memory, `PromptTexts`: a checkpoint never holds a learned prompt)."""
META: Final = "prompt_optimization_meta"
"""State key: what `before_agent` learned that `after_agent` needs (user, errors, hashes; the
stored configuration only as a hash)."""
FEEDBACK_OUTCOME: Final = "feedback_outcome"
"""State key (output only): what became of the run's in-band feedback."""
LAST_MESSAGE: Final = "prompt_optimization_last_message_id"
"""State key: the id of the last message of the thread's previous run."""

_LAST_PIN_CACHE = 1024


def config_hash(config_json: Mapping[str, Any]) -> str:
    """A stable hash of a prompt configuration's JSON (compared instead of keeping it)."""
    return content_hash(json.dumps(config_json, sort_keys=True, separators=(",", ":")))


@dataclass(frozen=True, slots=True)
class Pin:
    """What a run is served: version numbers, texts and lineage base hashes by prompt."""

    versions: dict[str, int]
    texts: dict[str, str]
    base_hashes: dict[str, str]


@dataclass(frozen=True, slots=True)
class Pinned:
    """The pin read, after any lineage restart for a base changed in code."""

    active: dict[str, ActivePrompt]
    deferred: dict[str, str]
    registered: bool
    config: PromptConfig | None
    target: str | None
    requeued: int
    target_versions: dict[str, int] | None = None


class Pinner:
    """Reads a run's pin (one store batch), restarts lineages whose base changed in code,
    and remembers each user's last good pin for when the store does not answer.

    Args:
        layout: The store layout.
        holder: Lease holder id used while restarting a lineage.
        prompt_names: Managed prompt names (system prompt first).
        specs: The current prompt specs in code (the system prompt as last observed).
        on_base_change: `"new_lineage"` or `"carry"` (requeue the learned feedback).
        global_scope: One lineage shared by all users.
        lease_seconds: Time-to-live of the lease taken while restarting a lineage.
        pin_cache_seconds: How long a pin read is served again (`PinCache`); 0: never.
        learned_sections: The learned-section mode of prompts (absent: `"off"`). With
            `"on"`, a lineage whose active text is not its base byte-identical (plus a
            learned section) restarts from the base (the mode was just turned on); with `"on"`
            and `"new_lineages"`, a changed base carries the section over.
    """

    def __init__(
        self,
        layout: StoreLayout,
        *,
        holder: str,
        prompt_names: Sequence[str],
        specs: Callable[[], Mapping[str, PromptSpec]],
        on_base_change: Literal["new_lineage", "carry"],
        global_scope: bool,
        lease_seconds: float = 60.0,
        pin_cache_seconds: float = 0.0,
        learned_sections: Mapping[str, LearnedSectionMode] | None = None,
    ) -> None:
        self._layout = layout
        self._holder = holder
        self._prompt_names = list(prompt_names)
        self._specs = specs
        self._on_base_change = on_base_change
        self._global_scope = global_scope
        self._lease_seconds = lease_seconds
        self._learned = {k: v for k, v in (learned_sections or {}).items() if v != "off"}
        self._last_pins: OrderedDict[str, Pin] = OrderedDict()
        self._lock = threading.Lock()
        self.texts = PromptTexts()
        self.cache = PinCache(pin_cache_seconds)
        self._config_memo: tuple[PromptConfig | None, str] | None = None

    def _owner_label(self, user: UserRef) -> str:
        return UserRef.global_lineage().label if self._global_scope else user.label

    # -- the texts a run state refers to (no store I/O) ----------------------------------------

    def text_for(self, state: Mapping[str, Any], name: str) -> str | None:
        """The text pinned for `name` in this run, from process memory: `None` if nothing is
        pinned or this process does not hold it (see `missing`)."""
        pinned = (state.get(PINNED) or {}).get(name)
        if pinned is None:
            return None
        pinned = str(pinned)
        if not is_text_hash(pinned):
            return pinned  # a checkpoint of an earlier release holds the text itself
        meta = state.get(META) or {}
        version = int((state.get("prompt_versions") or {}).get(name, 0))
        owner = self._owner_label(UserRef.of(meta.get("user")))
        text = self.texts.lookup(owner, state.get("trajectory_id"), name, version, pinned)
        if text is None:
            spec = self._specs().get(name)  # a base served as pinned (deferred, or unchanged)
            if spec is not None and content_hash(spec.prompt) == pinned:
                return spec.prompt
        return text

    def missing(self, state: Mapping[str, Any]) -> list[tuple[str, int]]:
        """The `(prompt, version)`s pinned for this run whose text this process lacks."""
        versions = state.get("prompt_versions") or {}
        return [
            (name, int(versions[name]))
            for name in (state.get(PINNED) or {})
            if int(versions.get(name, 0)) > 0 and self.text_for(state, name) is None
        ]

    def read_missing_job(
        self, state: Mapping[str, Any], wanted: Sequence[tuple[str, int]]
    ) -> Job[int]:
        """Read the missing texts by version (ONE batch) into process memory; how many."""
        owner = UserRef.of((state.get(META) or {}).get("user"))
        lineage = UserRef.global_lineage() if self._global_scope else owner
        texts = yield from self._layout.read_version_texts(lineage, wanted)
        self.texts.remember_versions(lineage.label, texts)
        return len(texts)

    # -- reading the pin (sans I/O: driven by the hooks) ---------------------------------------

    def _code_base(self, name: str, stored: Mapping[str, PromptSpec]) -> str | None:
        """The base text of a prompt in code (system: as last observed, else as recorded)."""
        spec = self._specs().get(name) or stored.get(name)
        return spec.prompt if spec is not None else None

    def _in_learned_form(self, name: str, text: str, base: str) -> bool:
        """Whether `text` may serve `name` as is: always, unless `name` is in learned-section
        mode `"on"` and `text` is not `base` byte-identical plus a learned section."""
        return self._learned.get(name) != "on" or (
            split(text, base, shared=self._global_scope) is not None
        )

    def _restart(self, name: str, base: str) -> Callable[[ActivePrompt], str | None] | None:
        """Learned-section mode: the new lineage starts from `base` plus the section of the
        active text (carried over a base change); no restart if it is already in form."""
        if name not in self._learned:
            return None
        code_hash, shared = content_hash(base), self._global_scope

        def restart(state: ActivePrompt) -> str | None:
            if state.base_hash == code_hash and self._in_learned_form(name, state.text, base):
                return None
            return compose(base, section_content(state.text) or "", shared=shared)

        return restart

    def rebase_job(
        self, owner: UserRef, name: str, base: str, *, switched: bool = False
    ) -> Job[tuple[ActivePrompt, int] | None]:
        """Start a new lineage from a changed base (or, `switched`, from the same base when
        learned-section mode was turned on): the pointer after, and how much feedback was
        requeued to carry over. `None` if the lease is taken right now."""
        if not (yield from self._layout.acquire_lease(owner, self._holder, self._lease_seconds)):
            return None
        requeued = 0
        try:
            restart = self._restart(name, base)
            rebased = yield from self._layout.rebase(
                owner, name, base, reason=self._rebase_reason(name, switched), restart=restart
            )
            if rebased is None:
                return None
            after, previous = rebased
            carried = after.text != base  # the learned section came along: nothing to relearn
            if previous is not None and self._on_base_change == "carry" and not carried:
                requeued = yield from self._layout.requeue_learned_feedback(owner, name, previous)
        finally:
            yield from self._layout.release_lease(owner, self._holder)
        if previous is not None:
            logger.info(
                "prompt %r of %r: base changed in code, new lineage v%s",
                name,
                owner.user_id,
                after.version,
            )
        return after, requeued

    @staticmethod
    def _wants_target(state: Mapping[str, Any]) -> bool:
        """Whether the pin must also read the thread's last run (in-band feedback on an agent
        without a checkpointer): such a pin is never cached."""
        return state.get("feedback") is not None and not state.get("trajectory_id")

    def _rebase_reason(self, name: str, switched: bool) -> str:
        if switched:
            reason = "learned-section mode turned on: new lineage from the base prompt"
        elif name in self._learned:
            return "base prompt changed in code: new lineage (its learned section kept)"
        else:
            reason = "base prompt changed in code: new lineage"
        if self._on_base_change == "carry":
            reason += " (learned feedback carried over)"
        return reason

    def pin_job(
        self,
        state: Mapping[str, Any],
        user: UserRef,
        owner: UserRef,
        thread_id: str | None,
        store: BaseStore | None = None,
    ) -> Job[Pinned]:
        """Read the active version of every managed prompt (rebasing changed bases); with
        `store`, the read is kept in the pin cache (see `cached`)."""
        wants_target = self._wants_target(state)
        keep = store is not None and self.cache.enabled and not wants_target
        if keep:
            keys = self._layout.pin_keys(user, owner, self._prompt_names)
            begun = self.cache.begin(keys)
        pin = yield from self._layout.pin(
            user, owner, self._prompt_names, thread_id=thread_id if wants_target else None
        )
        if keep and store is not None:
            self.cache.put(store, user, owner, keys, begun, pin)
        return (yield from self._resolve(state, user, owner, thread_id, pin))

    def cached(
        self,
        state: Mapping[str, Any],
        user: UserRef,
        owner: UserRef,
        store: BaseStore,
        thread_id: str | None,
    ) -> Pinned | None:
        """The run's pin from the pin cache, without store I/O: `None` when the cache holds
        no current read, or a lineage needs a restart (both go through `pin_job`). The
        canary arm is chosen after the cached read, for this run's thread."""
        if not self.cache.enabled or self._wants_target(state):
            return None
        pin = self.cache.get(store, user, owner)
        if pin is None:
            return None
        job = self._resolve(state, user, owner, thread_id, pin)
        try:
            job.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        job.close()  # it asked for store I/O: a base changed in code
        return None

    def _resolve(
        self,
        state: Mapping[str, Any],
        user: UserRef,
        owner: UserRef,
        thread_id: str | None,
        pin: PinResult,
    ) -> Job[Pinned]:
        """The pin after restarting the lineages whose base changed in code."""
        active = dict(pin.active)
        deferred: dict[str, str] = {}
        requeued = 0
        for name, pointer in pin.active.items():
            base = self._code_base(name, pin.specs)
            if base is None or not pointer.base_hash:
                continue
            code_hash = content_hash(base)
            same_base = pointer.base_hash == code_hash
            if same_base and self._in_learned_form(name, pointer.text, base):
                continue
            if not same_base and code_hash in pointer.retired_bases:
                # This process runs an older base than the lineage (a rolling deploy): serve
                # its own base, never rebase backwards.
                del active[name]
                deferred[name] = base
                continue
            rebased = yield from self.rebase_job(owner, name, base, switched=same_base)
            if rebased is None:
                del active[name]
                deferred[name] = base
                continue
            active[name], count = rebased
            requeued += count
        return Pinned(
            active=self.served_arm(active, user, thread_id),
            deferred=deferred,
            registered=pin.user_registered,
            config=pin.config,
            target=state.get("trajectory_id") or pin.thread_trajectory,
            requeued=requeued,
            target_versions=(
                state.get("prompt_versions") if state.get("trajectory_id") else pin.thread_versions
            ),
        )

    def served_arm(
        self, active: dict[str, ActivePrompt], user: UserRef, thread_id: str | None
    ) -> dict[str, ActivePrompt]:
        """The versions this run is served where a canary runs: a pure function of the
        pointers (their canary) and the arm key, the thread id in user scope (a run
        without a thread is its own key) or the user id in global scope."""
        if not any(pointer.canary for pointer in active.values()):
            return active
        if self._global_scope:
            key = f"user:{user.label}"
        else:
            key = f"thread:{thread_id}" if thread_id is not None else f"run:{uuid.uuid4().hex}"
        return serve_arm(active, key)

    def _config_digest(self, config: PromptConfig | None) -> str:
        """`config_hash` of a stored configuration (the same object again, from the pin
        cache, is not hashed again)."""
        memo = self._config_memo
        if memo is not None and memo[0] is config:
            return memo[1]
        digest = config_hash(config.to_json() if config else {})
        self._config_memo = (config, digest)
        return digest

    # -- the last good pin per user ------------------------------------------------------------

    def learned(self, owner: UserRef, outcome: OptimizationOutcome) -> None:
        """Serve what this process just activated if the store goes down before the next pin."""
        active = [v for v in outcome.versions.values() if v.status == "active"]
        if not active:
            return
        self.texts.remember_versions(owner.label, {(v.prompt, v.version): v.text for v in active})
        with self._lock:
            labels = list(self._last_pins) if self._global_scope else [owner.label]
            for label in labels:
                pin = self._last_pins.get(label)
                if pin is None:
                    continue
                self._last_pins[label] = Pin(
                    {**pin.versions, **{v.prompt: v.version for v in active}},
                    {**pin.texts, **{v.prompt: v.text for v in active}},
                    {**pin.base_hashes, **{v.prompt: v.base_hash for v in active}},
                )

    def _remember(self, user: UserRef, pin: Pin) -> None:
        with self._lock:
            self._last_pins[user.label] = pin
            self._last_pins.move_to_end(user.label)
            while len(self._last_pins) > _LAST_PIN_CACHE:
                self._last_pins.popitem(last=False)

    # -- the state update ----------------------------------------------------------------------

    def update(
        self,
        state: Mapping[str, Any],
        user: UserRef,
        pinned: Pinned | None,
        error: BaseException | None,
    ) -> dict[str, Any]:
        """`before_agent`'s state update: the pin read, or (on `error`) the last good pin."""
        meta: dict[str, Any] = {"user": user.user_id}
        if pinned is not None:
            versions = {name: 1 for name in self._prompt_names}
            versions.update({name: p.version for name, p in pinned.active.items()})
            versions.update({name: 0 for name in pinned.deferred})
            texts = {name: p.text for name, p in pinned.active.items()}
            texts.update(pinned.deferred)
            hashes = {name: p.base_hash for name, p in pinned.active.items()}
            current = Pin(versions, texts, hashes)
            self._remember(user, current)
            meta["registered"] = pinned.registered
            meta["config_hash"] = self._config_digest(pinned.config)
            if pinned.requeued:
                meta["carry"] = pinned.requeued
            target = pinned.target
            target_versions = pinned.target_versions
        else:
            logger.warning(
                "could not read prompt versions for %r (%s); serving the last good prompts",
                user.user_id,
                error,
            )
            with self._lock:
                cached = self._last_pins.get(user.label)
            current = cached or Pin({name: 1 for name in self._prompt_names}, {}, {})
            target = state.get("trajectory_id")
            target_versions = state.get("prompt_versions")
            meta["pin_error"] = f"{type(error).__name__}: {error}"
        meta["base_hashes"] = current.base_hashes
        feedback = state.get("feedback")
        if feedback is not None:
            meta["feedback"] = {"target": target, "value": feedback, "versions": target_versions}
        trajectory_id = self._layout.new_trajectory_id(
            user, carry_user=meta.get("registered") is not True
        )
        self.texts.remember(self._owner_label(user), trajectory_id, current.versions, current.texts)
        return {
            "trajectory_id": trajectory_id,
            "prompt_versions": current.versions,
            PINNED: {name: content_hash(text) for name, text in current.texts.items()},
            META: meta,
            LAST_MESSAGE: state.get(LAST_MESSAGE),
            "feedback": None,
            FEEDBACK_OUTCOME: None,
        }


def active_text_job(
    layout: StoreLayout, owner: UserRef, name: str, specs: Mapping[str, PromptSpec]
) -> Job[str]:
    """The text of prompt `name` active for `owner`: its active version, else its base text
    (in code, else as the apps recorded it).

    Raises:
        KeyError: If the base text is not known yet (no run, no recorded configuration).
    """
    active, stored = yield from layout.read_active(owner, [name])
    if name in active:
        return active[name].text
    spec = specs.get(name) or stored.get(name)
    if spec is None:
        msg = f"the base text of {name!r} is not known yet: run the agent once"
        raise KeyError(msg)
    return spec.prompt


def pinned_system_prompt(
    state: Mapping[str, Any], name: str, current: str | None, pinned: str | None
) -> str | None:
    """The system prompt to serve instead of `current` (the request's): `pinned`, the text
    pinned for the run, or `None` to keep `current` (nothing pinned, the same text, or a base
    that changed in code since the pin: it is served, and rebased on the next run)."""
    if pinned is None or pinned == current:
        return None
    base_hash = ((state.get(META) or {}).get("base_hashes") or {}).get(name)
    if base_hash and base_hash != content_hash(current or ""):
        return None
    return str(pinned)
