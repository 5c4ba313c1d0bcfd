"""Request limits in front of the dashboard: the Host it answers to, body size, open streams.

The dashboard runs inside the plant service, so a flood on it must not take memory or CPU
from ingest, and a web page elsewhere must not read it through DNS rebinding:

- ``Host`` must name the dashboard: a loopback name, the address it listens on, or one of
  ``allowed_hosts``. A page on ``evil.example`` whose name was rebound to 127.0.0.1 sends
  ``Host: evil.example`` and gets 421, not the plant's data. (A dashboard listening on every
  address, 0.0.0.0, always requires a token; there ``allowed_hosts`` may stay empty.)
- a request body is at most ``MAX_BODY_BYTES`` (only ``POST /login`` takes one): a longer
  ``Content-Length`` gets 413 before anything is read, and a chunked body is cut off there;
- at most ``max_streams`` live event streams are open at once (503 beyond).

uvicorn adds the connection-level limits (``limit_concurrency``, keep-alive timeout) in
:mod:`plant.dashboard.server`.
"""

from __future__ import annotations

from collections.abc import Iterable

from plant.dashboard.auth import ASGIApp, Message, Receive, Scope, Send, is_loopback

__all__ = ["MAX_BODY_BYTES", "RequestGuard", "allowed_hosts"]

MAX_BODY_BYTES = 16 * 1024
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def allowed_hosts(listen: str, extra: Iterable[str] = ()) -> frozenset[str] | None:
    """The ``Host`` names to answer (lower case, without port); None: any (0.0.0.0 / ::)."""
    names = {h.lower().strip("[]") for h in extra}
    if listen in ("0.0.0.0", "::", ""):
        return frozenset(names) if names else None
    names.add(listen.lower().strip("[]"))
    if is_loopback(listen):
        names.update(_LOOPBACK_NAMES)
    return frozenset(names)


def _host_of(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8080
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


async def _refuse(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """ASGI middleware applying the limits of the module docstring."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None, max_streams: int = 16,
                 stream_paths: Iterable[str] = ("/api/stream",)) -> None:
        self.app = app
        self.hosts = hosts
        self.max_streams = max_streams
        self.stream_paths = frozenset(stream_paths)
        self.streams = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.hosts is not None and _host_of(headers.get("host", "")) not in self.hosts:
            self.refused += 1
            await _refuse(send, 421, "unknown Host: this dashboard answers to "
                          f"{', '.join(sorted(self.hosts))}\n")
            return
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = MAX_BODY_BYTES + 1
        if length > MAX_BODY_BYTES:
            self.refused += 1
            await _refuse(send, 413, f"request body over {MAX_BODY_BYTES} bytes\n")
            return
        if scope["path"] in self.stream_paths:
            if self.streams >= self.max_streams:
                self.refused += 1
                await _refuse(send, 503, "too many live streams open\n")
                return
            self.streams += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.streams -= 1
            return
        await self.app(scope, _capped(receive), send)


def _capped(receive: Receive) -> Receive:
    """``receive`` that ends a chunked body (no Content-Length) past MAX_BODY_BYTES."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                return {"type": "http.disconnect"}
        return message

    return wrapped
