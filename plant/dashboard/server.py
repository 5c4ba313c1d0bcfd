"""Serving the dashboard from inside another process (the plant service, the demo line).

uvicorn runs in a background thread on a socket bound here, so a busy port or a refused
address fails at once with a clear error, port 0 picks a free port, and ``stop()`` ends the
live streams and the server without touching the caller's signal handlers or logging.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn

from peakline.errors import ConfigError
from plant.dashboard.app import DashboardApp, create_app
from plant.dashboard.auth import require_token_for, resolve_token
from plant.dashboard.config import DashboardConfig
from plant.dashboard.deadline import with_header_deadline
from plant.dashboard.views import DashboardStore
from plant.planning.config import PlanConfig

__all__ = ["DashboardServer", "serve_dashboard"]

log = logging.getLogger(__name__)


@dataclass
class DashboardServer:
    """A running dashboard; ``url`` to open it, ``stop()`` to end it."""

    host: str
    port: int
    app: DashboardApp
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """End the live streams, then the server; returns once its thread has finished."""
        self.app.state.stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"dashboard cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def serve_dashboard(
    store: DashboardStore,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    config: DashboardConfig | None = None,
    planning: PlanConfig | None = None,
) -> DashboardServer:
    """Start the dashboard for ``store`` in a background thread and return its handle.

    ``planning``: the plant's ``[planning]`` section (see :func:`create_app`).
    ``host``/``port`` override the config. Without an explicit ``token`` the operator's token
    is read from the environment or file named in the config; off loopback a token is
    required (ConfigError otherwise).
    """
    config = config or DashboardConfig()
    host = config.host if host is None else host
    port = config.port if port is None else port
    if token is None:
        token = resolve_token(config.token_env, config.token_file)
    require_token_for(host, token, config.token_env)
    app = create_app(store, config, token, listen=host, planning=planning)
    sock = _bind(host, port)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http=with_header_deadline(config.header_timeout_s),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            timeout_keep_alive=5,
            limit_concurrency=config.max_connections,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="peakline-dashboard", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        server.should_exit = True
        sock.close()
        raise ConfigError(f"dashboard did not start on {host}:{port}")
    bound_port = int(sock.getsockname()[1])
    handle = DashboardServer(host, bound_port, app, server, thread)
    access = "token required" if token else "loopback, no token"
    log.info("dashboard on %s (%s)", handle.url, access)
    return handle
