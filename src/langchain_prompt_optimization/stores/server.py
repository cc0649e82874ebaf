"""The LangGraph server's own store, found from inside the server process (runs and routes)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore

__all__ = ["aserver_store", "server_store"]


def _run_store() -> BaseStore | None:
    """The store of the LangGraph run this code is inside, if any."""
    try:
        from langgraph.config import get_store

        return get_store()
    except RuntimeError:  # not inside a runnable context
        return None


def _in_server() -> bool:
    """Whether this process is a LangGraph API server (`langgraph dev`, `langgraph up`)."""
    return "langgraph_api.store" in sys.modules


def server_store() -> BaseStore | None:
    """The store of the LangGraph server running this process, or `None` outside one.

    Inside a run it is the run's store; elsewhere in the server process (a custom `http.app`
    route) it is the store the server gives its graphs: the built-in one, or the custom store
    of `langgraph.json` once the server has opened it. Never opens a file.
    """
    store = _run_store()
    if store is not None or not _in_server():
        return store
    from langgraph_api import store as api_store

    if api_store.CUSTOM_STORE:
        custom: BaseStore | None = getattr(api_store.STORE_STACK, "store", None)
        return custom
    from langgraph_runtime.store import Store

    built_in: BaseStore = Store()
    return built_in


async def aserver_store() -> BaseStore | None:
    """Async twin of `server_store`: asks the server (`langgraph_api.store.get_store`)."""
    store = _run_store()
    if store is not None or not _in_server():
        return store
    from langgraph_api.store import get_store

    found: BaseStore = await get_store()
    return found
