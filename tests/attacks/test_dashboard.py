"""Findings 9 and 10 (and the session cookie of 11) against the real dashboard server.

9.  With no token on 127.0.0.1 every request was served whatever its ``Host`` header, so a
    web page whose name was rebound to 127.0.0.1 could read plans and reject images.
10. ``POST /login`` read an unbounded body (one 50 MB body raised the plant's peak memory by
    155 MB), nothing capped the live event streams, and half-sent request headers held a
    connection (and its place under the connection cap) for ever.
11. The session cookie never changed and lacked ``Secure`` behind TLS.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from support.paths import REPO

from plant.dashboard import DashboardServer, serve_dashboard
from plant.dashboard.auth import COOKIE
from plant.dashboard.config import DashboardConfig
from plant.dashboard.guard import MAX_BODY_BYTES
from plant.store import Store

TOKEN = "a-long-enough-operator-token"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(str(tmp_path / "plant.db")) as opened:
        yield opened


def _get(server: DashboardServer, path: str, host: str,
         headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host)
    for k, v in (headers or {}).items():
        conn.putheader(k, v)
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_dns_rebinding_gets_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    with serve_dashboard(store, config=DashboardConfig(port=0)) as server:
        for evil in ("evil.example", f"evil.example:{server.port}", "127.0.0.1.evil.example"):
            for path in ("/api/live", "/api/plans/production", "/api/rejects", "/"):
                assert _get(server, path, evil).status == 421, (evil, path)
        for good in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "localhost"):
            assert _get(server, "/api/live", good).status == 200, good


def test_allowed_hosts_name_the_dashboard(store: Store,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN", TOKEN)
    config = DashboardConfig(host="0.0.0.0", port=0, allowed_hosts=["plant-pc.factory.lan"])
    with serve_dashboard(store, config=config) as server:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert _get(server, "/api/live", "plant-pc.factory.lan", auth).status == 200
        assert _get(server, "/api/live", "evil.example", auth).status == 421


def _post_login(server: DashboardServer, length: int, sent: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     + f"Content-Length: {length}\r\n\r\n".encode() + sent)
        answer = sock.recv(4096)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer


def test_an_oversized_login_body_is_refused_before_it_is_read(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN", TOKEN)
    with serve_dashboard(store, config=DashboardConfig(port=0)) as server:
        status, _ = _post_login(server, 50_000_000, b"token=" + b"x" * 65_536)
        assert status == 413  # before: the 50 MB body was read into memory
        status, _ = _post_login(server, MAX_BODY_BYTES + 1, b"")
        assert status == 413
        status, answer = _post_login(server, len(f"token={TOKEN}"), f"token={TOKEN}".encode())
        assert status == 303 and COOKIE.encode() in answer


def test_live_streams_are_capped(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    config = DashboardConfig(port=0, max_streams=3)
    with serve_dashboard(store, config=config) as server:
        streams = []
        try:
            for _ in range(3):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                conn.request("GET", "/api/stream")
                response = conn.getresponse()
                assert response.status == 200
                streams.append(conn)
            assert _get(server, "/api/stream", "127.0.0.1").status == 503
            assert _get(server, "/api/live", "127.0.0.1").status == 200  # the rest still works
        finally:
            for conn in streams:
                conn.close()


def test_each_login_gets_its_own_session_and_secure_behind_tls(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN", TOKEN)
    with serve_dashboard(store, config=DashboardConfig(port=0)) as server:
        body = f"token={TOKEN}".encode()
        cookies = []
        for proto in ("http", "https"):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("POST", "/login", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-Proto": proto})
            response = conn.getresponse()
            cookies.append(response.getheader("set-cookie") or "")
            conn.close()
        plain, tls = cookies
        value = re.search(f"{COOKIE}=([^;]+)", plain)
        assert value and TOKEN not in plain
        assert plain.split(";")[0] != tls.split(";")[0]  # before: the same cookie forever
        assert "secure" not in plain.lower() and "secure" in tls.lower()
        assert "max-age" in plain.lower()
        ok = _get(server, "/api/live", "127.0.0.1", {"Cookie": f"{COOKIE}={value[1]}"})
        assert ok.status == 200


def test_the_declared_starlette_has_the_range_header_fix() -> None:
    """Starlette before 0.49.1 spends quadratic CPU on a crafted Range header (FileResponse
    serves the dashboard's page and static files)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    req = next(Requirement(r) for r in project["dependencies"]
               if Requirement(r).name == "starlette")
    assert not req.specifier.contains(Version("0.49.0"))
    assert Version(version("starlette")) >= Version("0.49.1")


def test_a_connection_with_late_headers_is_closed(store: Store,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: half-sent headers held a connection (and a place under the cap) for ever."""
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    config = DashboardConfig(port=0, max_connections=4, header_timeout_s=1.0)
    with serve_dashboard(store, config=config) as server:
        slow = []
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            assert _get(server, "/api/live", "127.0.0.1").status == 503  # the cap is full
            started = time.monotonic()
            for sock in [*slow, idle]:
                assert sock.recv(4096) == b""  # closed by the server, no answer
            assert time.monotonic() - started < 8
            assert _get(server, "/api/live", "127.0.0.1").status == 200
        finally:
            for sock in [*slow, idle]:
                sock.close()


def test_a_kept_alive_connection_still_has_its_header_deadline(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    config = DashboardConfig(port=0, header_timeout_s=1.0)
    with serve_dashboard(store, config=config) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        while sock.recv(65536):  # the rest of the first answer, if any
            pass
        assert time.monotonic() - started < 4  # the keep-alive timeout (5 s) did not do it
