"""`RemoteStore`: a LangGraph server's store over HTTP (`open_store("http://...")`)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    PutOp,
    SearchItem,
    SearchOp,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from langgraph.store.base import Op, Result
    from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

__all__ = ["RemoteStore"]


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.now(UTC)


def _item(raw: Mapping[str, Any] | None) -> Item | None:
    if not raw:
        return None
    return Item(
        value=dict(raw.get("value") or {}),
        key=str(raw["key"]),
        namespace=tuple(raw.get("namespace") or ()),
        created_at=_when(raw.get("created_at")),
        updated_at=_when(raw.get("updated_at")),
    )


def _search_item(raw: Mapping[str, Any]) -> SearchItem:
    return SearchItem(
        namespace=tuple(raw.get("namespace") or ()),
        key=str(raw["key"]),
        value=dict(raw.get("value") or {}),
        created_at=_when(raw.get("created_at")),
        updated_at=_when(raw.get("updated_at")),
        score=raw.get("score"),
    )


def _list_args(op: ListNamespacesOp) -> dict[str, Any]:
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    for condition in op.match_conditions or ():
        if condition.match_type == "prefix" and prefix is None:
            prefix = list(condition.path)
        elif condition.match_type == "suffix" and suffix is None:
            suffix = list(condition.path)
    return {
        "prefix": prefix,
        "suffix": suffix,
        "max_depth": op.max_depth,
        "limit": op.limit,
        "offset": op.offset,
    }


def _is_not_found(exc: BaseException) -> bool:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) == 404


class RemoteStore(BaseStore):
    """The store of a LangGraph server (`langgraph dev`, LangGraph Platform) through its
    HTTP store API (`/store/items`, `/store/namespaces`), with langgraph-sdk's clients.

    Each operation is one HTTP request; `batch` runs them in order. The API key is what
    langgraph-sdk reads when none is given (`LANGGRAPH_API_KEY`, `LANGSMITH_API_KEY`,
    `LANGCHAIN_API_KEY`); it is sent as a header and never stored. TTLs are not forwarded.

    The server has no lease table this package can use: leases on this store are lease
    records (read, write, read back), which keep one optimization per lineage only among
    callers in one process. Run optimizations inside the server (`inline` or `background`
    mode), and use this store to review and to record feedback (see docs/deployment.md).

    Args:
        url: The server's base URL, `http://host:port` or `https://...`.
        api_key: An API key; default: the SDK's environment lookup.
        headers: Extra headers sent with every request.
        timeout: Request timeout in seconds (default: the SDK's).
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._options: dict[str, Any] = {"url": self.url}
        if api_key is not None:
            self._options["api_key"] = api_key
        if headers:
            self._options["headers"] = dict(headers)
        if timeout is not None:
            self._options["timeout"] = timeout
        self._sync: SyncLangGraphClient | None = None
        self._async: dict[int, tuple[asyncio.AbstractEventLoop, LangGraphClient]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # -- clients -------------------------------------------------------------------------------

    def _sync_client(self) -> SyncLangGraphClient:
        with self._lock:
            if self._sync is None:
                from langgraph_sdk import get_sync_client

                self._sync = get_sync_client(**self._options)
            return self._sync

    async def _async_client(self) -> LangGraphClient:
        """One client per event loop (an httpx async client belongs to the loop that made
        it), built in a thread: building one reads CA certificates from disk."""
        loop = asyncio.get_running_loop()
        found = self._async.get(id(loop))
        if found is not None and found[0] is loop:
            return found[1]
        from langgraph_sdk import get_client

        client = await asyncio.to_thread(get_client, **self._options)
        self._async[id(loop)] = (loop, client)
        return client

    # -- batch -----------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the operations in order, one request each."""
        store = self._sync_client().store
        results: list[Result] = []
        for op in ops:
            request = _request(op)
            try:
                raw = getattr(store, request.method)(*request.args, **request.kwargs)
            except Exception as exc:
                if not (request.missing_is_none and _is_not_found(exc)):
                    raise
                raw = None
            results.append(request.parse(raw))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async twin of `batch`."""
        store = (await self._async_client()).store
        results: list[Result] = []
        for op in ops:
            request = _request(op)
            try:
                raw = await getattr(store, request.method)(*request.args, **request.kwargs)
            except Exception as exc:
                if not (request.missing_is_none and _is_not_found(exc)):
                    raise
                raw = None
            results.append(request.parse(raw))
        return results

    def close(self) -> None:
        """Close the sync client (async clients close with their event loop)."""
        with self._lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None


@dataclass(frozen=True, slots=True)
class _Request:
    """One store operation as a langgraph-sdk store call (the same for the sync and async
    clients) and how to read its answer."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    parse: Callable[[Any], Result]
    missing_is_none: bool = False


def _request(op: Op) -> _Request:
    """The SDK call for `op`.

    Raises:
        TypeError: On an operation the SDK store API has no call for.
    """
    if isinstance(op, GetOp):
        return _Request("get_item", (op.namespace,), {"key": op.key}, _item, missing_is_none=True)
    if isinstance(op, PutOp):
        if op.value is None:
            return _Request("delete_item", (op.namespace,), {"key": op.key}, _nothing)
        kwargs: dict[str, Any] = {"key": op.key, "value": op.value, "index": op.index}
        return _Request("put_item", (op.namespace,), kwargs, _nothing)
    if isinstance(op, SearchOp):
        search = {"filter": op.filter, "limit": op.limit, "offset": op.offset, "query": op.query}
        return _Request("search_items", (op.namespace_prefix,), search, _search_items)
    if isinstance(op, ListNamespacesOp):
        return _Request("list_namespaces", (), _list_args(op), _namespaces)
    msg = f"unknown store operation {type(op).__name__}"
    raise TypeError(msg)


def _nothing(_raw: Any) -> None:
    return None


def _search_items(response: Any) -> list[SearchItem]:
    return [_search_item(raw) for raw in response["items"]]


def _namespaces(listed: Any) -> list[tuple[str, ...]]:
    return [tuple(ns) for ns in listed["namespaces"]]
