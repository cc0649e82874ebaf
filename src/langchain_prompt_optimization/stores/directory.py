"""The user directory and the recorded configuration: who has a namespace, which prompts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langgraph.store.base import GetOp, Item, PutOp

from langchain_prompt_optimization.stores.io import batch
from langchain_prompt_optimization.stores.labels import CONFIG_KEY, Namespaces, UserRef
from langchain_prompt_optimization.stores.records import PromptConfig, PromptSpec, utcnow

if TYPE_CHECKING:
    from langchain_prompt_optimization.stores.io import Job

__all__ = ["Directory", "config_from", "specs_from"]


def config_from(item: Item | Any | None) -> PromptConfig | None:
    """The configuration in a read `"prompts"` config record (`None` if there is none)."""
    return PromptConfig.from_json(item.value) if isinstance(item, Item) else None


def specs_from(item: Item | Any | None) -> dict[str, PromptSpec]:
    """The managed prompts in a read config record (empty if there is none)."""
    if not isinstance(item, Item):
        return {}
    return {
        name: PromptSpec.from_json(data) for name, data in item.value.get("prompts", {}).items()
    }


def _user_id(record: dict[str, Any]) -> str | None:
    label = record.get("label")
    if isinstance(label, str):
        return UserRef.from_label(label).user_id
    user_id = record.get("user_id")
    return user_id if isinstance(user_id, str) else None


class Directory(Namespaces):
    """Users and the configuration the middleware records, as `StoreLayout` jobs."""

    def _register_user_op(self, user: UserRef) -> PutOp:
        return PutOp(
            self._users_ns(),
            user.digest,
            {"user_id": user.user_id, "label": user.label, "created_at": utcnow().isoformat()},
        )

    def _config_op(self, config: PromptConfig) -> PutOp:
        return PutOp(
            self._config_ns(),
            CONFIG_KEY,
            {**config.to_json(), "updated_at": utcnow().isoformat()},
        )

    def _config_get(self) -> GetOp:
        return GetOp(self._config_ns(), CONFIG_KEY)

    def read_config(self) -> Job[PromptConfig]:
        """The configuration recorded by the middleware (prompts, approval policy)."""
        (item,) = yield from batch([self._config_get()])
        return config_from(item) or PromptConfig()

    def users(self) -> Job[list[str | None]]:
        """Every user id with a namespace (original strings, decoded from the labels: exact
        even where the stored `user_id` field had to be made storable; `None` is the default
        one)."""
        items = yield from self._search_all(self._users_ns(), None)
        ordered = sorted(items, key=lambda item: item.value.get("created_at", ""))
        return [_user_id(item.value) for item in ordered]

    def is_known_user(self, user: UserRef) -> Job[bool]:
        """Whether the user has ever been seen."""
        (item,) = yield from batch([GetOp(self._users_ns(), user.digest)])
        return isinstance(item, Item)
