"""`open_store(uri)`: a ready LangGraph `BaseStore` from a URI."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import re
import sqlite3
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from langgraph.store.base import BaseStore
    from langgraph.store.sqlite import SqliteStore

__all__ = ["aopen_store", "default_store_uri", "mask_uri", "open_store", "shared_store"]

logger = logging.getLogger(__name__)

STORE_ENV = "PROMPTOPT_STORE"

# A server that stops answering without closing the connection (network partition, frozen
# host) is detected within seconds instead of the kernel's ~15 minutes.
_TCP_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
"""Environment variable naming the store URI used when none is given."""


def default_store_uri() -> str:
    """The embedded SQLite store used when neither the middleware nor the agent has one.

    `$PROMPTOPT_STORE` if set, else `sqlite:///` + `$XDG_DATA_HOME` (default
    `~/.local/share`) + `/langchain-prompt-optimization/store.db`.
    """
    env = os.environ.get(STORE_ENV)
    if env:
        return env
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return "sqlite:///" + str(base / "langchain-prompt-optimization" / "store.db")


_shared: dict[str, BaseStore] = {}
_shared_locks: dict[str, threading.Lock] = {}
_shared_guard = threading.Lock()


def shared_store(uri: str) -> BaseStore:
    """The store at `uri` opened once per process and shared (the embedded default store
    of middleware built without one): concurrent first callers wait for one `open_store`.

    Raises:
        ValueError: As `open_store` (a failed open is tried again by the next caller).
    """
    store = _shared.get(uri)
    if store is not None:
        return store
    with _shared_guard:
        lock = _shared_locks.setdefault(uri, threading.Lock())
    with lock:
        store = _shared.get(uri)
        if store is None:
            store = open_store(uri)
            _shared[uri] = store
        return store


def mask_uri(uri: str) -> str:
    """The URI with any password replaced by `***`, for error messages and logs."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", uri)


def open_store(uri: str, *, create: bool = True, read_only: bool = False) -> BaseStore:
    """Open a LangGraph store from a URI, with its tables set up.

    Supported URIs:

    - `memory://` — a new `InMemoryStore` (tests; nothing persists).
    - `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` — a `SqliteStore` file
      (the SQLAlchemy convention), opened with WAL and a busy timeout so several processes can
      share it; parent directories are created. Needs the `sqlite` extra. Commits use
      `PRAGMA synchronous=NORMAL`: a commit survives a crash of the process, an OS crash or
      power cut may undo the last commits (the file stays consistent); append
      `?synchronous=full` for a commit that is on disk when it returns (one fsync each).
    - `postgresql://user:pass@host:port/db` (or `postgres://`) — a pooled `PostgresStore`.
      Needs the `postgres` extra.
    - `http://host:port`, `https://...` — a LangGraph server's store through its HTTP API
      (`RemoteStore`; langgraph-sdk, the `server` extra). The API key is what the SDK reads
      from the environment (`LANGGRAPH_API_KEY`, `LANGSMITH_API_KEY`). `create` and
      `read_only` do not apply; leases are best effort (see `RemoteStore`).

    Args:
        uri: The store URI.
        create: Create a missing SQLite file. With `False` (the CLI), a missing file is an
            error instead of a new empty store.
        read_only: Open only to read (the CLI's read commands): no table setup or
            migrations. A SQLite file is opened through SQLite's own read-only mode, so it
            works on a file and directory the process cannot write, never changes the file
            and any write through the store raises `sqlite3.OperationalError`; a missing
            file is an error. See `_connect_sqlite_read_only` for how a live file is read.

    Returns:
        A ready `BaseStore`.

    Raises:
        ValueError: If the URI is malformed, its scheme unknown, or the store cannot be
            opened (the message names the URI with its password masked).

    Example:
        ```python
        store = open_store("sqlite:///prompts.db")
        ```
    """
    kind = _kind(uri)
    if kind == "memory":
        from langgraph.store.memory import InMemoryStore

        return InMemoryStore()
    if kind == "sqlite":
        if read_only:
            return _open_sqlite_read_only(uri)
        return _open_sqlite(uri, create=create)
    if kind == "http":
        return _open_remote(uri)
    return _open_postgres(uri, setup=not read_only)


def _kind(uri: object) -> str:
    """`memory`, `sqlite` or `postgres` for a store URI.

    Raises:
        ValueError: If the URI is malformed or its scheme unknown (password masked).
    """
    if not isinstance(uri, str) or "://" not in uri:
        msg = (
            f"malformed store URI {uri!r}: expected memory://, sqlite:///path, "
            "postgresql:// or http(s)://"
        )
        raise ValueError(msg)
    scheme = uri.split("://", 1)[0].lower()
    if scheme in ("memory", "sqlite"):
        return scheme
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    if scheme in ("http", "https"):
        return "http"
    msg = (
        f"unknown store URI scheme {scheme!r} in {mask_uri(uri)!r}: "
        "expected memory://, sqlite:///path, postgresql:// or http(s)://"
    )
    raise ValueError(msg)


_SYNCHRONOUS = ("normal", "full", "extra")
"""SQLite `PRAGMA synchronous` levels a URI may ask for (`?synchronous=...`)."""


def _sqlite_path(uri: str) -> Path:
    """The file path of a `sqlite:///...` URI (SQLAlchemy convention; any `?query` is
    `_sqlite_synchronous`'s)."""
    rest = uri[len("sqlite://") :].split("?", 1)[0]
    if not rest.startswith("/") or rest == "/":
        msg = f"malformed SQLite URI {uri!r}: use sqlite:///relative.db or sqlite:////abs.db"
        raise ValueError(msg)
    return Path(rest[1:])


def _sqlite_synchronous(uri: str) -> str:
    """The `PRAGMA synchronous` level of a `sqlite:///path?synchronous=...` URI: `normal`
    by default (with WAL: a commit survives a crash of the process; an OS crash or power cut
    may undo the last commits, the file stays consistent), `full` or `extra` (a commit is
    on disk when it returns: one fsync per commit).

    Raises:
        ValueError: On another query parameter or level.
    """
    from urllib.parse import parse_qsl

    query = uri.split("?", 1)[1] if "?" in uri else ""
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - {"synchronous"})
    level = options.get("synchronous", "normal").lower()
    if unknown or level not in _SYNCHRONOUS:
        msg = (
            f"malformed SQLite URI {uri!r}: the only option is ?synchronous= one of "
            f"{', '.join(_SYNCHRONOUS)}"
        )
        raise ValueError(msg)
    return level


def _missing_sqlite(path: Path, uri: str) -> ValueError:
    return ValueError(f"no SQLite store at {str(path)!r} (from {uri!r})")


def _pool_kwargs() -> dict[str, Any]:
    """Connection settings shared by the sync and async PostgreSQL pools."""
    from psycopg.rows import dict_row

    return {
        "autocommit": True,
        "prepare_threshold": 0,
        "row_factory": dict_row,
        **_TCP_KEEPALIVE,
    }


def _postgres_error(uri: str, exc: BaseException) -> ValueError:
    detail = " ".join(str(exc).split())
    msg = f"cannot open PostgreSQL store {mask_uri(uri)!r}: {type(exc).__name__}: {detail}"
    return ValueError(mask_uri(msg))


def _sqlite_store_class() -> type[SqliteStore]:
    """`SqliteStore`, or a clear error naming the extra that installs it."""
    try:
        from langgraph.store.sqlite import SqliteStore
    except ImportError as exc:  # pragma: no cover - depends on installed extras
        msg = (
            "sqlite:// stores need the 'sqlite' extra: "
            "pip install 'langchain-prompt-optimization[sqlite]'"
        )
        raise ValueError(msg) from exc
    return SqliteStore


def _open_sqlite(uri: str, *, create: bool) -> BaseStore:
    SqliteStore = _sqlite_store_class()
    path, synchronous = _sqlite_path(uri), _sqlite_synchronous(uri)
    if not create and not path.is_file():
        raise _missing_sqlite(path, uri)
    from langchain_prompt_optimization.stores.sqlite_lane import StoreConnection, register_lane

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path),
            check_same_thread=False,
            isolation_level=None,
            timeout=30.0,
            factory=StoreConnection,
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        store = SqliteStore(conn)
        store.setup()
    except (OSError, sqlite3.Error) as exc:
        raise _sqlite_open_error(uri, exc) from exc
    register_lane(store, str(path), synchronous)
    return store


def _sqlite_open_error(uri: str, exc: BaseException) -> ValueError:
    """The error for a SQLite file that cannot be opened to write; a read-only file or
    directory says so and names the way out."""
    if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
    ):
        return ValueError(
            f"cannot open SQLite store {uri!r} to write: {exc} (the file or its directory "
            "is read-only for this process; commands that only read open it read-only)"
        )
    return ValueError(f"cannot open SQLite store {uri!r}: {exc}")


def _read_only_sqlite_uri(path: Path) -> str:
    """The `file:` URI that opens `path` read-only.

    A file with a `-wal` next to it may have a writer right now (a WAL file exists while any
    connection has the database open, or after a crash): it is opened `mode=ro`, which takes
    SQLite's shared locks and reads the committed WAL content. A file without one is
    quiescent (cleanly closed): it is opened `mode=ro&immutable=1`, which creates no `-wal`
    or `-shm` file (a plain `mode=ro` open of a WAL database would, and cannot at all in a
    directory this process cannot write). Either way a write raises "attempt to write a
    readonly database".
    """
    from urllib.parse import quote

    query = "mode=ro" if Path(f"{path}-wal").exists() else "mode=ro&immutable=1"
    return f"file:{quote(str(path.resolve()))}?{query}"


def _check_sqlite_schema(conn: sqlite3.Connection, migrations: int, uri: str) -> None:
    """Raise a clear error when the file lacks the store tables or pending migrations
    (a read-only open cannot apply them)."""
    try:
        row = conn.execute("SELECT MAX(v) FROM store_migrations").fetchone()
    except sqlite3.Error as exc:
        msg = f"cannot open SQLite store {uri!r} read-only: not a store ({exc})"
        raise ValueError(msg) from exc
    if row is None or row[0] is None or int(row[0]) < migrations - 1:
        msg = (
            f"cannot open SQLite store {uri!r} read-only: its tables need migrations; "
            "open it once with write access (any write command, or the app)"
        )
        raise ValueError(msg)


def _open_sqlite_read_only(uri: str) -> BaseStore:
    SqliteStore = _sqlite_store_class()
    path = _sqlite_path(uri)
    _sqlite_synchronous(uri)  # validated; a read-only connection commits nothing
    if not path.is_file():
        raise _missing_sqlite(path, uri)
    try:
        conn = sqlite3.connect(
            _read_only_sqlite_uri(path),
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            timeout=30.0,
        )
    except (OSError, sqlite3.Error) as exc:
        msg = f"cannot open SQLite store {uri!r} read-only: {exc}"
        raise ValueError(msg) from exc
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        _check_sqlite_schema(conn, len(SqliteStore.MIGRATIONS), uri)
    except sqlite3.Error as exc:
        conn.close()
        msg = f"cannot open SQLite store {uri!r} read-only: {exc}"
        raise ValueError(msg) from exc
    except BaseException:
        conn.close()
        raise
    store = SqliteStore(conn)
    store.is_setup = True  # the tables exist (checked); setup would write
    return store


def _open_postgres(uri: str, *, setup: bool = True) -> BaseStore:
    try:
        import psycopg
        from langgraph.store.postgres import PostgresStore
        from psycopg_pool import ConnectionPool
    except ImportError as exc:  # pragma: no cover - depends on installed extras
        msg = (
            "postgresql:// stores need the 'postgres' extra: "
            "pip install 'langchain-prompt-optimization[postgres]'"
        )
        raise ValueError(msg) from exc
    parts = urlsplit(uri)
    if not parts.hostname and not parts.path.strip("/"):
        msg = f"malformed PostgreSQL URI {mask_uri(uri)!r}"
        raise ValueError(msg)
    pool: ConnectionPool | None = None
    try:
        # One direct connection first: an unreachable server fails fast with its own error,
        # not after the pool's retries.
        psycopg.connect(uri, connect_timeout=5).close()
        pool = ConnectionPool(
            uri,
            min_size=1,
            max_size=10,
            kwargs=_pool_kwargs(),
            max_lifetime=600.0,
            # Connections broken by a server restart are replaced, not handed out: the app
            # recovers from an outage without a restart.
            check=ConnectionPool.check_connection,
            timeout=5.0,  # wait for a free connection at most this long (server down)
            open=False,
        )
        pool.open(wait=True, timeout=10.0)
        store = PostgresStore(pool)  # type: ignore[arg-type]
        if setup:
            store.setup()
    except Exception as exc:
        if pool is not None:
            pool.close()
        raise _postgres_error(uri, exc) from None
    return store


async def aopen_store(uri: str, *, create: bool = True, read_only: bool = False) -> BaseStore:
    """Open an async LangGraph store from a URI, with its tables set up.

    `memory://` gives an `InMemoryStore`, `sqlite:///...` an `AsyncSqliteStore`,
    `postgresql://...` a pooled `AsyncPostgresStore`. Use them with `ainvoke`. (The sync
    stores of `open_store` also serve async agents, from worker threads. Both kinds take
    the optimizer's lease atomically across processes.)

    `read_only=True` opens as `open_store` does: no setup, a SQLite file through SQLite's
    read-only mode.

    Raises:
        ValueError: As `open_store`.
    """
    kind = _kind(uri)
    await _aimport_drivers(kind)
    if kind == "memory":
        from langgraph.store.memory import InMemoryStore

        return InMemoryStore()
    if kind == "sqlite":
        if read_only:
            return await _aopen_sqlite_read_only(uri)
        return await _aopen_sqlite(uri, create=create)
    if kind == "http":
        return await _aopen_remote(uri)
    return await _aopen_postgres(uri, setup=not read_only)


# What each kind of async store imports: a first import reads files (modules, package
# metadata), so it is done in a worker thread, never on the event loop.
_ASYNC_DRIVERS: dict[str, tuple[str, ...]] = {
    "memory": ("langgraph.store.memory",),
    "sqlite": ("aiosqlite", "langgraph.store.sqlite.aio"),
    "postgres": ("psycopg", "psycopg_pool", "langgraph.store.postgres.aio"),
    "http": ("langgraph_sdk", "langchain_prompt_optimization.stores.remote"),
}


def _import_drivers(names: list[str]) -> None:
    for name in names:
        # A missing extra is reported where the store is opened, with its install hint.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


async def _aimport_drivers(kind: str) -> None:
    missing = [name for name in _ASYNC_DRIVERS[kind] if name not in sys.modules]
    if missing:
        await asyncio.to_thread(_import_drivers, missing)


async def _aopen_sqlite(uri: str, *, create: bool) -> BaseStore:
    import aiosqlite
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    path, synchronous = _sqlite_path(uri), _sqlite_synchronous(uri)
    if not create and not await asyncio.to_thread(path.is_file):
        raise _missing_sqlite(path, uri)
    try:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=30.0)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA synchronous={synchronous}")
        await conn.execute("PRAGMA busy_timeout=30000")
        store = AsyncSqliteStore(conn)
        await store.setup()
    except (OSError, sqlite3.Error) as exc:
        raise _sqlite_open_error(uri, exc) from exc
    return store


async def _aopen_sqlite_read_only(uri: str) -> BaseStore:
    import aiosqlite
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    path = _sqlite_path(uri)
    _sqlite_synchronous(uri)  # validated; a read-only connection commits nothing
    if not await asyncio.to_thread(path.is_file):
        raise _missing_sqlite(path, uri)
    try:
        target = await asyncio.to_thread(_read_only_sqlite_uri, path)
        conn = await aiosqlite.connect(target, uri=True, isolation_level=None, timeout=30.0)
    except (OSError, sqlite3.Error) as exc:
        msg = f"cannot open SQLite store {uri!r} read-only: {exc}"
        raise ValueError(msg) from exc
    try:
        await conn.execute("PRAGMA busy_timeout=30000")
        try:
            async with conn.execute("SELECT MAX(v) FROM store_migrations") as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            msg = f"cannot open SQLite store {uri!r} read-only: not a store ({exc})"
            raise ValueError(msg) from exc
        if row is None or row[0] is None or int(row[0]) < len(AsyncSqliteStore.MIGRATIONS) - 1:
            msg = (
                f"cannot open SQLite store {uri!r} read-only: its tables need migrations; "
                "open it once with write access (any write command, or the app)"
            )
            raise ValueError(msg)
    except sqlite3.Error as exc:
        await conn.close()
        msg = f"cannot open SQLite store {uri!r} read-only: {exc}"
        raise ValueError(msg) from exc
    except BaseException:
        await conn.close()
        raise
    store = AsyncSqliteStore(conn)
    store.is_setup = True  # the tables exist (checked); setup would write
    return store


async def _aopen_postgres(uri: str, *, setup: bool = True) -> BaseStore:
    import psycopg
    from langgraph.store.postgres.aio import AsyncPostgresStore
    from psycopg_pool import AsyncConnectionPool

    pool: AsyncConnectionPool | None = None
    try:
        conn = await psycopg.AsyncConnection.connect(uri, connect_timeout=5)
        await conn.close()
        pool = AsyncConnectionPool(
            uri,
            min_size=1,
            max_size=10,
            kwargs=_pool_kwargs(),
            max_lifetime=600.0,
            check=AsyncConnectionPool.check_connection,
            timeout=5.0,
            open=False,
        )
        await pool.open(wait=True, timeout=10.0)
        store = AsyncPostgresStore(pool)  # type: ignore[arg-type]
        if setup:
            await store.setup()
    except Exception as exc:
        if pool is not None:
            await pool.close()
        raise _postgres_error(uri, exc) from None
    return store


def _remote(uri: str) -> BaseStore:
    """A `RemoteStore` for an http(s) URI (not yet contacted)."""
    parts = urlsplit(uri)
    if not parts.hostname:
        msg = f"malformed LangGraph server URI {mask_uri(uri)!r}: expected http(s)://host:port"
        raise ValueError(msg)
    try:
        from langchain_prompt_optimization.stores.remote import RemoteStore
    except ImportError as exc:  # pragma: no cover - depends on installed extras
        msg = (
            "http(s):// stores need langgraph-sdk (the 'server' extra): "
            "pip install 'langchain-prompt-optimization[server]'"
        )
        raise ValueError(msg) from exc
    return RemoteStore(uri)


def _remote_error(uri: str, exc: BaseException) -> ValueError:
    detail = " ".join(str(exc).split())
    msg = f"cannot reach LangGraph server store {mask_uri(uri)!r}: {type(exc).__name__}: {detail}"
    return ValueError(mask_uri(msg))


_PROBE_PREFIX = ("prompt_optimization",)


def _open_remote(uri: str) -> BaseStore:
    """A `RemoteStore`, checked with one request (an unreachable server or a refused key
    fails here, with the URI named)."""
    from langgraph.store.base import ListNamespacesOp, MatchCondition

    store = _remote(uri)
    probe = ListNamespacesOp(match_conditions=(MatchCondition("prefix", _PROBE_PREFIX),), limit=1)
    try:
        store.batch([probe])
    except Exception as exc:
        raise _remote_error(uri, exc) from None
    return store


async def _aopen_remote(uri: str) -> BaseStore:
    from langgraph.store.base import ListNamespacesOp, MatchCondition

    store = _remote(uri)
    probe = ListNamespacesOp(match_conditions=(MatchCondition("prefix", _PROBE_PREFIX),), limit=1)
    try:
        await store.abatch([probe])
    except Exception as exc:
        raise _remote_error(uri, exc) from None
    return store
