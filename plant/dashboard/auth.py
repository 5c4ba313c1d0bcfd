"""Access control for the dashboard: loopback is open, any other address needs a token.

The operator sets the token in an environment variable or a file (never in the repository
or on the command line, where ``ps`` would show it). Every request is checked: either an
``Authorization: Bearer <token>`` header (scripts, wall-screen kiosks) or a session cookie
set by the login form. The cookie holds an expiry, a nonce and their HMAC with the token,
not the token (a new one per login, valid ``SESSION_S``; ``Secure`` when the login came over
HTTPS); neither is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from peakline.config import read_secret
from peakline.errors import ConfigError

__all__ = [
    "COOKIE",
    "MIN_TOKEN_LENGTH",
    "SESSION_S",
    "TokenAuth",
    "is_loopback",
    "require_token_for",
    "resolve_token",
    "session_valid",
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


#: how long a login lasts
SESSION_S = 12 * 3600


def session_value(token: str, expires: int | None = None) -> str:
    """The cookie value for a browser logged in until ``expires`` (Unix seconds; default
    ``SESSION_S`` from now): ``<expires>.<nonce>.<HMAC of those with the token>``. It is
    different for every login, never contains the token, and is worthless after it expires
    or once the token changes."""
    expires = int(time.time()) + SESSION_S if expires is None else expires
    nonce = secrets.token_hex(8)
    return f"{expires}.{nonce}.{_mac(token, expires, nonce)}"


def _mac(token: str, expires: int, nonce: str) -> str:
    msg = f"peakline-dashboard-session/2:{expires}:{nonce}".encode()
    return hmac.new(token.encode(), msg, hashlib.sha256).hexdigest()


def session_valid(token: str, value: str) -> bool:
    """Whether ``value`` is a session cookie made with ``token`` that has not expired."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
        return False
    expires, nonce, mac = int(parts[0]), parts[1], parts[2]
    return expires > time.time() and hmac.compare_digest(
        mac.encode(), _mac(token, expires, nonce).encode())


class TokenAuth:
    """ASGI middleware: every HTTP request must carry the token (header) or session cookie."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

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
        return morsel is not None and session_valid(self.token, morsel.value)

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
