"""What the benchmark scripts share: the PostgreSQL test server, a throwaway schema on it,
and the scripted one-tool-call agent they time."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["PG_URI", "instant", "lookup", "pg_schema"]

PG_URI = os.environ.get("PROMPTOPT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@tool
def lookup(name: str) -> str:
    """Look something up."""
    return f"found {name}"


def instant(request: Any) -> AIMessage | str:
    """The timed agent's scripted model: one `lookup` call, then the answer."""
    if any(isinstance(m, ToolMessage) for m in request.messages):
        return "done"
    return AIMessage("", tool_calls=[{"name": "lookup", "args": {"name": "x"}, "id": "1"}])


@contextlib.contextmanager
def pg_schema() -> Iterator[str | None]:
    """A fresh PostgreSQL schema (dropped afterwards); yields its store URI, or None when
    the server does not answer."""
    try:
        import psycopg

        with psycopg.connect(PG_URI, autocommit=True, connect_timeout=3) as conn:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            conn.execute(f"CREATE SCHEMA {schema}")
    except Exception as exc:
        print(f"(PostgreSQL skipped: {exc})", file=sys.stderr)
        yield None
        return
    sep = "&" if "?" in PG_URI else "?"
    try:
        yield f"{PG_URI}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URI, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
