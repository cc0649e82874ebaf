"""Serving the dashboard: `promptopt serve`, and a server in a thread for tests and scripts."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from langchain_prompt_optimization.review.dashboard.access import (
    TOKEN_ENV,
    check_bind,
    is_loopback,
    resolve_token,
)
from langchain_prompt_optimization.review.dashboard.app import create_app
from langchain_prompt_optimization.stores import mask_uri, open_store

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from starlette.types import ASGIApp

__all__ = ["serve", "serve_in_thread"]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
"""The `Host` names a browser on this machine sends to a loopback bind."""


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve(
    store_uri: str,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    read_only: bool = False,
    namespace_prefix: Sequence[str] = ("prompt_optimization",),
    scope: str | None = None,
    out: TextIO | None = None,
) -> None:
    """Serve the dashboard until interrupted (what `promptopt serve` runs).

    Actions require the token: `token`, else `$PROMPTOPT_UI_TOKEN`, else a generated one
    printed at start. Reading is open on a loopback address; on any other address pages
    require signing in too.

    Raises:
        ValueError: If `host` is not a loopback address and no token was given, the token
            is too short, or the store cannot be opened.
    """
    out = out or sys.stdout
    chosen, generated = resolve_token(token)
    check_bind(host, token_given=not generated, read_only=read_only)
    store = open_store(store_uri, create=False, read_only=read_only)
    app = create_app(
        store,
        token=None if read_only and generated else chosen,
        read_only=read_only,
        namespace_prefix=namespace_prefix,
        scope=scope,
        reading_needs_sign_in=not is_loopback(host),
        allowed_hosts=_LOOPBACK_HOSTS | {host} if is_loopback(host) else None,
    )
    import uvicorn

    url = f"http://{_display_host(host)}:{port}/"
    out.write(f"promptopt dashboard: {url} (store {mask_uri(store_uri)})\n")
    if read_only:
        out.write("read-only: no action is served\n")
    elif generated:
        out.write(
            f"token for actions (sign in with it; set ${TOKEN_ENV} to choose one): {chosen}\n"
        )
    out.flush()
    uvicorn.run(app, host=host, port=port, log_level="warning")


@contextlib.contextmanager
def serve_in_thread(
    app: ASGIApp, *, host: str = DEFAULT_HOST, startup: float = 30.0
) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of `host` in a daemon thread; yield its base
    URL (`http://127.0.0.1:PORT`) once it accepts connections, stop it on exit.

    Raises:
        RuntimeError: If the server does not start within `startup` seconds.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="promptopt-dashboard", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            msg = f"the dashboard did not start on {host}:{port}"
            raise RuntimeError(msg)
        time.sleep(0.02)
    try:
        yield f"http://{_display_host(host)}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
