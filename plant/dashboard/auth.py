"""Access control for the dashboard: loopback is open, any other address needs a token.

The operator sets the token in an environment variable or a file (never in the repository
or on the command line, where ``ps`` would show it). Every request is checked: either an
``Authorization: Bearer <token>`` header (scripts, wall-screen kiosks) or a session cookie
set by the login form. The cookie holds an HMAC of the token, not the token; neither is
ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from peakline.config import read_secret
from peakline.errors import ConfigError

__all__ = [
    "COOKIE",
    "MIN_TOKEN_LENGTH",
    "TokenAuth",
    "is_loopback",
    "require_token_for",
    "resolve_token",
    "session_value",
]

COOKIE = "peakline_session"
MIN_TOKEN_LENGTH = 12
#: paths served without a token (the login form and what it needs)
PUBLIC_PATHS = frozenset({"/login", "/static/app.css", "/static/favicon.svg", "/healthz"})

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for 0.0.0.0 and real interfaces."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(
    env: str = "PEAKLINE_DASHBOARD_TOKEN", token_file: str | os.PathLike[str] | None = None
) -> str | None:
    """The operator's token by the secrets rule of :func:`peakline.config.read_secret`.

    Raises ConfigError for a token shorter than MIN_TOKEN_LENGTH or an unreadable file.
    """
    token = read_secret("dashboard.token", env, token_file)
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"dashboard token is shorter than {MIN_TOKEN_LENGTH} characters")
    return token


def require_token_for(host: str, token: str | None, env: str = "PEAKLINE_DASHBOARD_TOKEN") -> None:
    """Refuse (ConfigError) to listen off loopback without an operator-set token."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"dashboard: listening on {host} (not loopback) requires an access token; "
            f"set ${env} or put it in a file named by ${env}_FILE (at least "
            f"{MIN_TOKEN_LENGTH} characters), or listen on 127.0.0.1"
        )


def session_value(token: str) -> str:
    """The cookie value for a logged-in browser: an HMAC of the token, not the token."""
    return hmac.new(token.encode(), b"peakline-dashboard-session/1", hashlib.sha256).hexdigest()


class TokenAuth:
    """ASGI middleware: every HTTP request must carry the token (header) or session cookie."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token
        self._session = session_value(token) if token else ""

    def allowed(self, headers: dict[str, str]) -> bool:
        """Whether these request headers (lower-case names) carry valid credentials."""
        if self.token is None:
            return True
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and hmac.compare_digest(
            auth[7:].strip().encode(), self.token.encode()
        ):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is simply not a session
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and hmac.compare_digest(
            morsel.value.encode(), self._session.encode()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.allowed(headers):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/api/"):
            status, body = 401, b'{"error": "token required"}'
            extra = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
        else:
            status, body = 303, b""
            extra = [(b"location", b"/login")]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), *extra],
            }
        )
        await send({"type": "http.response.body", "body": body})
