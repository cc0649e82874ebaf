"""`SystemPromptSettings` and the `prompts=` list: which prompts the middleware manages."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from langchain_prompt_optimization.stores import PromptSpec

if TYPE_CHECKING:
    from langmem import Prompt

    from langchain_prompt_optimization.stores.records import LearnedSectionMode

__all__ = ["SYSTEM_PROMPT", "ManagedPrompts", "SystemPromptSettings", "validate_prompts"]

SYSTEM_PROMPT = "system"
"""Name under which the agent's own system prompt is managed."""


@dataclass(frozen=True, slots=True)
class SystemPromptSettings:
    """How the agent's own system prompt is managed.

    Attributes:
        name: The name under which the system prompt is managed (shown to langmem's credit
            assignment next to the named prompts, and used in the registry).
        update_instructions: langmem guidance on how to update the system prompt.
        when_to_update: langmem guidance on when the system prompt should change (used for
            credit assignment when several prompts are managed).
        learned_section: Learned-section mode. `True`: the system prompt from code is served
            byte-identical, followed by a delimited section of preferences learned from
            feedback, introduced as never granting permissions, never changing who receives
            anything and never overriding the instructions above it; the optimizer sees the
            base as read-only context and may edit only that section's content (the package
            splices it in, so no optimizer output can change the base or forge the
            section's delimiters). A lineage already rewritten whole restarts from the base.
            `False`: the optimizer rewrites the whole system prompt. `None` (the default):
            `False` with `scope="user"`; with `scope="global"`, on for every lineage that has
            not been rewritten whole (a new one, or one serving its base), so a shared lineage
            that already learned keeps learning as before. See
            docs/safety.md#learned-section-mode.

    Raises:
        ValueError: If `name` is empty.
        TypeError: If a field has the wrong type.

    Example:
        ```python
        PromptOptimizationMiddleware(
            system_prompt=SystemPromptSettings(
                update_instructions="Keep the tone formal; add rules, do not rewrite.",
            )
        )
        ```
    """

    name: str = SYSTEM_PROMPT
    update_instructions: str | None = None
    when_to_update: str | None = None
    learned_section: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            msg = f"SystemPromptSettings.name must be a non-empty str; got {self.name!r}"
            raise ValueError(msg)
        if self.learned_section is not None and not isinstance(self.learned_section, bool):
            msg = (
                "SystemPromptSettings.learned_section must be True, False or None; "
                f"got {self.learned_section!r}"
            )
            raise TypeError(msg)
        for key in ("update_instructions", "when_to_update"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                msg = f"SystemPromptSettings.{key} must be a str or None; got {value!r}"
                raise TypeError(msg)

    def learned_section_mode(self, scope: str) -> LearnedSectionMode:
        """The learned-section mode in effect for a middleware of `scope`."""
        if self.learned_section is None:
            return "new_lineages" if scope == "global" else "off"
        return "on" if self.learned_section else "off"


def validate_prompts(
    prompts: Sequence[Prompt] | None, system_name: str = SYSTEM_PROMPT
) -> dict[str, PromptSpec]:
    """The named prompts of `prompts=` (langmem `Prompt` dicts) as specs, by name.

    Raises:
        TypeError: If `prompts` is not a list of dicts, or an entry has a non-str field.
        ValueError: On unknown keys, an empty or duplicate name, or the system prompt's name.
    """
    if prompts is None:
        return {}
    if isinstance(prompts, str | bytes | Mapping) or not isinstance(prompts, Sequence):
        msg = "prompts must be a list of langmem Prompt dicts ({'name': ..., 'prompt': ...})"
        raise TypeError(msg)
    specs: dict[str, PromptSpec] = {}
    allowed = {"name", "prompt", "update_instructions", "when_to_update"}
    for entry in prompts:
        if not isinstance(entry, Mapping):
            msg = f"each prompt must be a dict with 'name' and 'prompt'; got {entry!r}"
            raise TypeError(msg)
        unknown = set(entry) - allowed
        if unknown:
            msg = f"prompt {entry.get('name')!r} has unknown keys {sorted(unknown)}"
            raise ValueError(msg)
        name, text = entry.get("name"), entry.get("prompt")
        if not isinstance(name, str) or not name.strip():
            msg = f"prompt name must be a non-empty str; got {name!r}"
            raise ValueError(msg)
        if name == system_name:
            msg = (
                f"{system_name!r} is the agent's system prompt; configure it with "
                "system_prompt=SystemPromptSettings(...)"
            )
            raise ValueError(msg)
        if name in specs:
            msg = f"duplicate prompt name {name!r}"
            raise ValueError(msg)
        if not isinstance(text, str):
            msg = f"prompt {name!r} must have a str 'prompt'"
            raise TypeError(msg)
        for key in ("update_instructions", "when_to_update"):
            if entry.get(key) is not None and not isinstance(entry.get(key), str):
                msg = f"prompt {name!r}: {key} must be a str or None"
                raise TypeError(msg)
        specs[name] = PromptSpec(
            name=name,
            prompt=text,
            update_instructions=entry.get("update_instructions"),
            when_to_update=entry.get("when_to_update"),
        )
    return specs


class ManagedPrompts:
    """The prompts one middleware manages: the agent's system prompt (its base text as last
    seen in a model request) and the named prompts of `prompts=`."""

    def __init__(
        self,
        system: SystemPromptSettings,
        named: Mapping[str, PromptSpec],
        *,
        learned_section: LearnedSectionMode = "off",
    ) -> None:
        self.system = system
        self.learned_section = learned_section
        """The system prompt's learned-section mode (resolved for the scope)."""
        self.names = [system.name, *named]
        """Managed prompt names: the system prompt's name first, then the named prompts."""
        self._specs: dict[str, PromptSpec] = dict(named)
        self._lock = threading.Lock()

    def live(self) -> Mapping[str, PromptSpec]:
        """The specs now, without a copy (replaced whole, never mutated)."""
        return self._specs

    def current(self) -> dict[str, PromptSpec]:
        """A copy of the specs now."""
        with self._lock:
            return dict(self._specs)

    def observe(self, text: str | None) -> None:
        """Record the system prompt's base text as a model request carried it."""
        base = text or ""
        name = self.system.name
        spec = self._specs.get(name)
        if spec is not None and spec.prompt == base:
            return
        with self._lock:
            self._specs = {
                name: PromptSpec(
                    name,
                    base,
                    self.system.update_instructions,
                    self.system.when_to_update,
                    learned_section=self.learned_section,
                ),
                **{k: v for k, v in self._specs.items() if k != name},
            }
