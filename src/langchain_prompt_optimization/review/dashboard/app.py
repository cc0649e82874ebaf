"""The review dashboard as an ASGI app (Starlette, server-rendered Jinja2 templates)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from langchain_prompt_optimization.errors import (
    InvalidTransitionError,
    NamespaceBusyError,
    PromptOptimizationError,
)
from langchain_prompt_optimization.review.dashboard import pages
from langchain_prompt_optimization.review.dashboard.access import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Access,
)
from langchain_prompt_optimization.review.registry import FEEDBACK_STATUSES, PromptRegistry
from langchain_prompt_optimization.stores import DEFAULT_PREFIX, UserRef

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Sequence

    from langgraph.store.base import BaseStore
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACTIONS", "create_app"]

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent
_FLASH_COOKIE = "promptopt_flash"
_MAX_FORM_BYTES = 64 * 1024
_PAGE_SIZE = 25
_WRONG_TOKEN_DELAY = 0.5
"""Seconds a wrong token waits for its answer (slows guessing; the event loop is free)."""

ACTIONS = (
    "approve",
    "reject",
    "rollback",
    "resume",
    "release-feedback",
    "discard-feedback",
)
"""Every change the dashboard makes, each a POST to `/act/<name>`."""


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates are read once, here: rendering never touches the disk (no stat either),
        # so no request blocks the event loop on file I/O.
        auto_reload=False,
        cache_size=-1,
    )
    env.filters["shown"] = pages.shown
    env.filters["when"] = pages.when
    env.filters["label"] = _label
    env.filters["who"] = _who
    env.globals["extra_fields"] = pages.extra_fields
    env.globals["VERSION_FIELDS"] = pages.VERSION_FIELDS
    env.globals["FEEDBACK_FIELDS"] = pages.FEEDBACK_FIELDS
    env.globals["FEEDBACK_STATUSES"] = FEEDBACK_STATUSES
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return env


def _label(user_id: str | None) -> str:
    """The `u` parameter that names a user in the dashboard's URLs (the user's label:
    reversible, and the default namespace has its own)."""
    return UserRef.of(user_id).label


def _who(user_id: str | None, shared: bool = False) -> str:
    if shared:
        return "(shared lineage)"
    return "(default namespace)" if user_id is None else user_id


def _user_of(label: str) -> str | None:
    if not label:
        msg = "no user given"
        raise ValueError(msg)
    return UserRef.from_label(label).user_id


def _safe_next(target: str | None) -> str:
    """A redirect target within the dashboard (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _error_message(exc: BaseException) -> tuple[str, int]:
    """What the page says about a failed read or action, and the HTTP status."""
    if isinstance(exc, NamespaceBusyError):
        return str(exc), 503
    if isinstance(exc, KeyError) and isinstance(exc, PromptOptimizationError):
        return str(exc).strip("'\""), 404
    if isinstance(exc, InvalidTransitionError | PromptOptimizationError | ValueError | TypeError):
        return str(exc), 409 if isinstance(exc, InvalidTransitionError) else 400
    logger.exception("dashboard: store error")
    return f"store error: {type(exc).__name__}: {exc}", 500


class _Dashboard:
    """The app's state and handlers: one registry, the access rules, the templates."""

    def __init__(
        self, registry: PromptRegistry, access: Access, *, read_only: bool, page_size: int
    ) -> None:
        self.registry = registry
        self.access = access
        self.read_only = read_only
        self.page_size = page_size
        self.env = _templates()

    # -- rendering ------------------------------------------------------------------------------

    def render(
        self, request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        nonce = request.cookies.get(CSRF_COOKIE) or self.access.new_csrf_nonce()
        flash = _read_flash(request.cookies.get(_FLASH_COOKIE))
        body = self.env.get_template(template).render(
            request_path=_safe_next(str(request.url.path) + _query(request)),
            csrf_token=self.access.csrf_token(nonce),
            read_only=self.read_only,
            can_sign_in=self.access.token is not None,
            signed_in=self.signed_in(request),
            flash=flash,
            **context,
        )
        response = HTMLResponse(body, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != nonce:
            response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict")
        if flash is not None:
            response.delete_cookie(_FLASH_COOKIE)
        return response

    def error_page(self, request: Request, message: str, status: int) -> HTMLResponse:
        return self.render(request, "error.html", {"message": message}, status)

    def signed_in(self, request: Request) -> bool:
        return self.access.session_valid(request.cookies.get(SESSION_COOKIE))

    def may_read(self, request: Request) -> bool:
        return (
            not self.access.reading_needs_sign_in
            or self.signed_in(request)
            or self.access.bearer_matches(request.headers.get("authorization"))
        )

    def page(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A GET handler behind the reading rule, its errors shown as a message."""

        async def guarded(request: Request) -> Response:
            if not self.may_read(request):
                return RedirectResponse(
                    "/login?" + urlencode({"next": _safe_next(str(request.url))}), 303
                )
            try:
                return await handler(request)
            except Exception as exc:
                message, status = _error_message(exc)
                return self.error_page(request, message, status)

        return guarded

    # -- pages ----------------------------------------------------------------------------------

    async def users(self, request: Request) -> Response:
        query = request.query_params.get("q", "")
        page = _int(request.query_params.get("page"), 1)
        data = await pages.users_page(
            self.registry, query=query, page=page, page_size=self.page_size
        )
        return self.render(request, "users.html", {"data": data, "title": "Users"})

    async def lineage(self, request: Request) -> Response:
        label = request.query_params.get("u", "")
        user_id = _user_of(label)
        prompt = request.query_params.get("p") or await self._first_prompt()
        data = await pages.lineage_page(self.registry, user_id, prompt)
        return self.render(
            request,
            "lineage.html",
            {"user_id": user_id, "u": label, "prompt": prompt, "title": _who(user_id), **data},
        )

    async def _first_prompt(self) -> str:
        prompts = await self.registry.aprompts()
        return prompts[0] if prompts else "system"

    async def diff(self, request: Request) -> Response:
        label = request.query_params.get("u", "")
        user_id = _user_of(label)
        prompt = request.query_params.get("p") or "system"
        a = _int(request.query_params.get("a"), 0)
        b = _int(request.query_params.get("b"), 0)
        data = await pages.diff_page(self.registry, user_id, prompt, a, b)
        return self.render(
            request,
            "diff.html",
            {"user_id": user_id, "u": label, "prompt": prompt, "title": "Diff", **data},
        )

    async def feedback(self, request: Request) -> Response:
        label = request.query_params.get("u", "")
        user_id = _user_of(label)
        status = request.query_params.get("status") or None
        items = await self.registry.afeedback(user_id, pending_only=False, status=status)
        counts = await self.registry.afeedback_counts(user_id)
        return self.render(
            request,
            "feedback.html",
            {"user_id": user_id, "u": label, "items": items, "status": status,
             "counts": counts, "title": "Feedback"},
        )  # fmt: skip

    async def examples(self, request: Request) -> Response:
        label = request.query_params.get("u", "")
        user_id = _user_of(label)
        examples = await self.registry.aexamples(user_id)
        return self.render(
            request,
            "examples.html",
            {"user_id": user_id, "u": label, "examples": examples, "title": "Examples"},
        )

    async def queue(self, request: Request) -> Response:
        pending = await self.registry.apending_versions()
        return self.render(request, "queue.html", {"pending": pending, "title": "Approval queue"})

    async def quarantined(self, request: Request) -> Response:
        items = await self.registry.aquarantined_feedback()
        return self.render(
            request, "quarantined.html", {"items": items, "title": "Quarantined feedback"}
        )

    async def paused(self, request: Request) -> Response:
        lineages = await self.registry.apaused_lineages()
        return self.render(request, "paused.html", {"lineages": lineages, "title": "Paused"})

    # -- signing in -----------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        return self.render(
            request,
            "login.html",
            {"next": _safe_next(request.query_params.get("next")), "title": "Sign in"},
        )

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        if form is None or not self._csrf_ok(request, form):
            return self.error_page(request, "the form expired: reload the page and retry", 403)
        target = _safe_next(form.get("next"))
        if not self.access.token_matches(form.get("token")):
            await asyncio.sleep(_WRONG_TOKEN_DELAY)
            return self.render(
                request,
                "login.html",
                {"next": target, "title": "Sign in", "message": "wrong token"},
                401,
            )
        response = RedirectResponse(target, 303)
        response.set_cookie(
            SESSION_COOKIE,
            self.access.new_session(),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request) -> Response:
        form = await _form(request)
        if form is None or not self._csrf_ok(request, form):
            return self.error_page(request, "the form expired: reload the page and retry", 403)
        response = RedirectResponse("/", 303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- actions --------------------------------------------------------------------------------

    def _csrf_ok(self, request: Request, form: dict[str, str]) -> bool:
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
            return False
        return self.access.csrf_valid(request.cookies.get(CSRF_COOKIE), form.get("csrf_token"))

    async def act(self, request: Request) -> Response:
        name = request.path_params["action"]
        api = "authorization" in request.headers
        form = await _form(request)
        if name not in ACTIONS or form is None:
            return _refuse(request, api, "unknown action or unreadable form", 400, self)
        if api:
            if not self.access.bearer_matches(request.headers.get("authorization")):
                await asyncio.sleep(_WRONG_TOKEN_DELAY)
                return _refuse(request, api, "the token is wrong", 401, self)
        elif not self.signed_in(request):
            return self.render(
                request,
                "login.html",
                {
                    "next": _safe_next(form.get("next")),
                    "title": "Sign in",
                    "message": "sign in with the dashboard token to act",
                },
                401,
            )
        elif not self._csrf_ok(request, form):
            return _refuse(request, api, "refused: the form's CSRF token does not match", 403, self)
        try:
            message = await self._run(name, form)
        except Exception as exc:
            message, status = _error_message(exc)
            if api:
                return JSONResponse({"ok": False, "error": message}, status_code=status)
            return _flash_redirect(form.get("next"), "error", message)
        if api:
            return JSONResponse({"ok": True, "message": message})
        return _flash_redirect(form.get("next"), "ok", message)

    async def _run(self, name: str, form: dict[str, str]) -> str:
        """Do one action through the registry; the message the page shows."""
        user_id = _user_of(form.get("u", ""))
        who = _who(user_id)
        prompt = form.get("p") or "system"
        note = form.get("note", "")
        registry = self.registry
        if name in ("approve", "reject", "rollback"):
            version = _int(form.get("version"), 0)
            act = {
                "approve": registry.aapprove,
                "reject": registry.areject,
                "rollback": registry.arollback,
            }[name]
            result = await act(user_id, version, prompt, note=note)
            if name == "rollback":
                return f"{prompt} of {who} rolled back to v{version}: v{result.version} is active"
            return f"v{version} of {prompt} for {who} is now {result.status}"
        if name == "resume":
            reason = await registry.aresume(user_id, prompt, note=note)
            return f"{prompt} of {who} resumed (was paused: {reason})"
        change = (
            registry.arelease_feedback if name == "release-feedback" else registry.adiscard_feedback
        )
        item = await change(user_id, form.get("feedback_id", ""), note=note)
        return f"feedback {item.id} of {who} is now {item.status}"


def _refuse(
    request: Request, api: bool, message: str, status: int, dashboard: _Dashboard
) -> Response:
    if api:
        return JSONResponse({"ok": False, "error": message}, status_code=status)
    return dashboard.error_page(request, message, status)


def _flash_redirect(target: str | None, kind: str, message: str) -> Response:
    response = RedirectResponse(_safe_next(target), 303)
    response.set_cookie(
        _FLASH_COOKIE,
        quote(json.dumps({"kind": kind, "text": message[:2000]})),
        httponly=True,
        samesite="strict",
    )
    return response


def _read_flash(cookie: str | None) -> dict[str, str] | None:
    if not cookie:
        return None
    try:
        data = json.loads(unquote(cookie))
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return {"kind": "error" if data.get("kind") == "error" else "ok", "text": data["text"]}
    return None


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


async def _form(request: Request) -> dict[str, str] | None:
    """The URL-encoded form of a POST (last value of each field); `None` if it is too large
    or not a form."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return None
    return {key: values[-1] for key, values in fields.items()}


def create_app(
    store: BaseStore | str | PromptRegistry,
    *,
    token: str | None = None,
    read_only: bool = False,
    namespace_prefix: Sequence[str] = DEFAULT_PREFIX,
    scope: str | None = None,
    reading_needs_sign_in: bool = False,
    page_size: int = _PAGE_SIZE,
    allowed_hosts: Collection[str] | None = None,
) -> Starlette:
    """The review dashboard as an ASGI app.

    Every read and action goes through `PromptRegistry`'s async API (the same leases as
    the CLI; sync stores run in worker threads, never blocking the event loop).

    Args:
        store: A `BaseStore`, a store URI (`open_store`), or a `PromptRegistry`.
        token: The token that allows actions (as `Authorization: Bearer <token>` or through
            the sign-in form's session cookie). Required unless `read_only`.
        read_only: Serve no action at all (no forms, no `/act` route; sign-in only when
            `reading_needs_sign_in`).
        namespace_prefix: The middleware's `namespace_prefix` (ignored with a registry).
        scope: The middleware's `scope` (ignored with a registry).
        reading_needs_sign_in: Pages too require the token (served beyond loopback).
        page_size: Users per page.
        allowed_hosts: Answer only requests whose `Host` is one of these (`promptopt serve`
            passes the loopback names when it binds one, so a DNS-rebinding page cannot
            read the dashboard); `None`: any host.

    Raises:
        ValueError: If `token` is missing and not `read_only`, or `page_size` < 1.

    Example:
        ```python
        import uvicorn

        app = create_app("sqlite:///prompts.db", token="a-long-secret")
        uvicorn.run(app, host="127.0.0.1", port=8765)
        ```
    """
    if not read_only and not token:
        msg = "the dashboard needs a token to serve actions (or read_only=True)"
        raise ValueError(msg)
    if page_size < 1:
        msg = f"page_size must be at least 1; got {page_size!r}"
        raise ValueError(msg)
    registry = (
        store
        if isinstance(store, PromptRegistry)
        else PromptRegistry(
            store,
            namespace_prefix=namespace_prefix,
            scope=scope,  # type: ignore[arg-type]
            read_only=read_only,
        )
    )
    if reading_needs_sign_in and not token:
        msg = "reading_needs_sign_in needs a token to sign in with"
        raise ValueError(msg)
    access = Access(token or None, reading_needs_sign_in=reading_needs_sign_in)
    dash = _Dashboard(registry, access, read_only=read_only, page_size=page_size)

    async def home(request: Request) -> Response:
        return RedirectResponse("/users", 303)

    routes: list[Route | Mount] = [
        Route("/", home),
        Route("/users", dash.page(dash.users)),
        Route("/user", dash.page(dash.lineage)),
        Route("/diff", dash.page(dash.diff)),
        Route("/feedback", dash.page(dash.feedback)),
        Route("/examples", dash.page(dash.examples)),
        Route("/queue", dash.page(dash.queue)),
        Route("/quarantined", dash.page(dash.quarantined)),
        Route("/paused", dash.page(dash.paused)),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    if access.token is not None:
        routes += [
            Route("/login", dash.login_form, methods=["GET"]),
            Route("/login", dash.login, methods=["POST"]),
            Route("/logout", dash.logout, methods=["POST"]),
        ]
    if not read_only:
        routes.append(Route("/act/{action}", dash.act, methods=["POST"]))

    async def server_error(request: Request, exc: Exception) -> Response:
        logger.exception("dashboard: unexpected error", exc_info=exc)
        return HTMLResponse("<h1>Internal error</h1><p>See the server log.</p>", 500)

    middleware = [Middleware(_SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=sorted(allowed_hosts)))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={500: server_error})
    app.state.registry = registry
    return app


_SECURITY_HEADERS = [
    # no script at all, no framing (clickjacking), nothing loaded from elsewhere
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class _SecurityHeaders:
    """ASGI middleware: the headers above on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
