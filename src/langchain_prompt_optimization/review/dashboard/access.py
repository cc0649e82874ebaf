"""Who may act on the dashboard: the token, sign-in sessions, CSRF tokens, loopback binds."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import time
from dataclasses import dataclass, field

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "TOKEN_ENV",
    "Access",
    "check_bind",
    "is_loopback",
    "resolve_token",
]

logger = logging.getLogger(__name__)

TOKEN_ENV = "PROMPTOPT_UI_TOKEN"
"""The environment variable holding the token that allows actions."""

SESSION_COOKIE = "promptopt_session"
CSRF_COOKIE = "promptopt_csrf"
SESSION_SECONDS = 12 * 3600
"""How long a sign-in lasts."""
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether `host` (a bind address or host name) is on this machine only."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_token(explicit: str | None) -> tuple[str, bool]:
    """The token actions require: `explicit` (`--token`), else `$PROMPTOPT_UI_TOKEN`, else a
    new random one.

    Returns:
        `(token, generated)`: `generated` is `True` when neither was set (print it).

    Raises:
        ValueError: If a given token is shorter than 8 characters.
    """
    token = explicit if explicit is not None else os.environ.get(TOKEN_ENV) or None
    if token is None:
        return secrets.token_urlsafe(24), True
    if len(token) < 8:
        msg = f"the dashboard token must be at least 8 characters (--token or ${TOKEN_ENV})"
        raise ValueError(msg)
    return token, False


def check_bind(host: str, *, token_given: bool, read_only: bool) -> None:
    """Refuse to serve beyond this machine without a token the operator chose.

    Raises:
        ValueError: If `host` is not a loopback address and no token was given (with
            `--token` or `$PROMPTOPT_UI_TOKEN`), even read-only: pages then require sign-in.
    """
    if is_loopback(host) or token_given:
        return
    mode = "read-only " if read_only else ""
    msg = (
        f"refusing to serve the {mode}dashboard on {host!r} (not a loopback address) without a "
        f"token: set ${TOKEN_ENV} or pass --token"
    )
    raise ValueError(msg)


@dataclass
class Access:
    """The token, and the signed values derived from it: sign-in sessions and CSRF tokens.

    A session cookie and a CSRF token are HMACs under a key that lives only in this process,
    so a restart signs everyone out and no secret is stored in a cookie.

    Args:
        token: The token that allows actions (`None`: actions are not served: read-only).
        reading_needs_sign_in: Pages also require the token (served beyond loopback).
    """

    token: str | None
    reading_needs_sign_in: bool = False
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def _sign(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def token_matches(self, candidate: str | None) -> bool:
        """Whether `candidate` is the token (constant time)."""
        if self.token is None or not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def bearer_matches(self, authorization: str | None) -> bool:
        """Whether an `Authorization: Bearer <token>` header carries the token."""
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(value.strip())

    def new_session(self, now: float | None = None) -> str:
        """A signed session cookie value for a signed-in reviewer (valid `SESSION_SECONDS`)."""
        nonce = secrets.token_urlsafe(16)
        issued = str(int(time.time() if now is None else now))
        return f"{nonce}.{issued}.{self._sign('session', f'{nonce}.{issued}')}"

    def session_valid(self, cookie: str | None, now: float | None = None) -> bool:
        """Whether a session cookie was signed by this process and has not expired."""
        if self.token is None or not cookie or cookie.count(".") != 2:
            return False
        nonce, issued, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign("session", f"{nonce}.{issued}")):
            return False
        age = (time.time() if now is None else now) - int(issued)
        return 0 <= age < SESSION_SECONDS

    @staticmethod
    def new_csrf_nonce() -> str:
        """A fresh value for the CSRF cookie."""
        return secrets.token_urlsafe(16)

    def csrf_token(self, nonce: str) -> str:
        """The form token that goes with a CSRF cookie value."""
        return self._sign("csrf", nonce)

    def csrf_valid(self, nonce: str | None, form_token: str | None) -> bool:
        """Whether a submitted form token matches the browser's CSRF cookie."""
        if not nonce or not form_token:
            return False
        return hmac.compare_digest(form_token, self.csrf_token(nonce))
