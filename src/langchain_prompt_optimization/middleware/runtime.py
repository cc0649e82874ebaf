"""What the middleware takes from runs and their runtime: user, thread, store, models."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from langgraph.errors import GraphBubbleUp

from langchain_prompt_optimization.stores import UserRef, default_store_uri
from langchain_prompt_optimization.stores.open import shared_store
from langchain_prompt_optimization.stores.server import aserver_store, server_store

if TYPE_CHECKING:
    from collections.abc import Callable

    from langchain.agents.middleware.types import ModelRequest
    from langchain_core.language_models import BaseChatModel
    from langgraph.runtime import Runtime
    from langgraph.store.base import BaseStore

__all__ = ["ModelSource", "StoreResolver", "default_user_id", "resolve_user", "thread_id"]

logger = logging.getLogger(__name__)


def default_user_id(runtime: Runtime[Any]) -> object:
    """`runtime.context.user_id` (or `["user_id"]`), else the run's
    `config["configurable"]["user_id"]` (how LangGraph server clients often pass it);
    `None` if neither is set."""
    context = getattr(runtime, "context", None)
    found: object = None
    if isinstance(context, Mapping):
        found = context.get("user_id")
    elif context is not None:
        found = getattr(context, "user_id", None)
    if found is not None:
        return found
    return _configurable_user_id()


def _configurable_user_id() -> object:
    from langgraph.config import get_config

    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # not inside a run
        return None
    return configurable.get("user_id") if isinstance(configurable, Mapping) else None


def resolve_user(get_user_id: Callable[[Runtime[Any]], object], runtime: Runtime[Any]) -> UserRef:
    """The run's user; the default namespace when `get_user_id` raises or returns nothing
    usable (an id that is not a str, int or UUID, or that `UserRef` refuses), logged."""
    try:
        raw = get_user_id(runtime)
    except GraphBubbleUp:
        raise
    except Exception:
        logger.exception("get_user_id raised; using the default namespace")
        return UserRef.of(None)
    if raw is None:
        return UserRef.of(None)
    if not isinstance(raw, str):
        if isinstance(raw, bool) or not isinstance(raw, int | uuid.UUID):
            logger.warning(
                "user id of type %s is not usable; using the default namespace",
                type(raw).__name__,
            )
            return UserRef.of(None)
        raw = str(raw)
    try:
        return UserRef.of(raw)
    except ValueError as exc:
        logger.warning("unusable user id (%s); using the default namespace", exc)
        return UserRef.of(None)


def thread_id(runtime: Runtime[Any]) -> str | None:
    """The run's thread id (from the runtime, else the LangGraph config), if any."""
    info = getattr(runtime, "execution_info", None)
    found = getattr(info, "thread_id", None)
    if found is None:
        try:
            from langgraph.config import get_config

            found = get_config().get("configurable", {}).get("thread_id")
        except RuntimeError:
            return None
    return str(found) if found is not None else None


class StoreResolver:
    """Which store the middleware uses: the configured one, else the agent's, else the
    embedded default (opened once, at first need)."""

    def __init__(self, configured: BaseStore | None) -> None:
        self.configured = configured
        self.default: BaseStore | None = None
        self.seen: BaseStore | None = None

    def for_run(self, runtime: Runtime[Any]) -> BaseStore:
        """The store a run uses (remembered for API calls)."""
        store = self.configured or getattr(runtime, "store", None)
        if store is None:
            if self.default is None:
                self.default = shared_store(default_store_uri())
            store = self.default
        self.seen = store
        return store

    async def afor_run(self, runtime: Runtime[Any]) -> BaseStore:
        """Async twin of `for_run`: the first open of the default store runs in a thread."""
        no_store = self.configured is None and getattr(runtime, "store", None) is None
        if no_store and self.default is None:
            uri = default_store_uri()
            self.default = await asyncio.to_thread(shared_store, uri)
        return self.for_run(runtime)

    def for_api(self) -> BaseStore:
        """The store for API calls: the configured one, the agent's one seen in a run, the
        LangGraph server's store when this process is the server (a custom route's own
        middleware instance has seen no run), else the embedded default (what runs of an
        agent without a store write to)."""
        store = self.configured or self.seen or server_store()
        if store is None:
            if self.default is None:
                uri = default_store_uri()
                logger.warning(
                    "no store passed and no run seen yet: using the embedded default store %s "
                    "(pass store= if the agent uses another one)",
                    uri,
                )
                self.default = shared_store(uri)
            store = self.default
        return store

    async def afor_api(self) -> BaseStore:
        """Async twin of `for_api`: asks the LangGraph server for its store; the first open of
        the default store runs in a thread (no blocking I/O on the event loop)."""
        store = self.configured or self.seen or await aserver_store()
        if store is not None:
            return store
        if self.default is None:
            await asyncio.to_thread(self.for_api)
        return self.for_api()


class ModelSource:
    """The optimizer's model (configured, created at first use from a model string, else
    the agent's own) and the agent's model and tools as its first model request saw them."""

    def __init__(self, configured: str | BaseChatModel | None) -> None:
        self._optimizer = configured
        self._agent: BaseChatModel | None = None
        self._tools: list[Any] = []
        self._lock = threading.Lock()

    def observe(self, request: ModelRequest[Any]) -> None:
        """Remember the agent's model and tools from its first model request."""
        if self._agent is None:
            self._tools = list(request.tools)
            self._agent = request.model

    def optimizer(self) -> BaseChatModel | None:
        """The model that rewrites prompts (`None` until the agent's model is seen)."""
        with self._lock:
            if isinstance(self._optimizer, str):
                from langchain.chat_models import init_chat_model

                self._optimizer = init_chat_model(self._optimizer)
            return self._optimizer or self._agent

    def replay_agent(self) -> tuple[BaseChatModel, list[Any]] | None:
        """The agent's model and tools as its model calls saw them (for the gate)."""
        model = self._agent
        return (model, list(self._tools)) if model is not None else None
