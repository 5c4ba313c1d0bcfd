"""Access control: loopback is open; any other address needs the operator's token."""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from peakline.errors import ConfigError
from plant.dashboard import DashboardServer, is_loopback, resolve_token, serve_dashboard
from plant.dashboard.auth import COOKIE
from plant.store import Store

from .filling import Line

TOKEN = "s3cret-wall-screen-token"


def request(
    url: str, method: str, path: str, headers: dict[str, str] | None = None, body: str = ""
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _no_operator_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)


@pytest.fixture
def guarded(store: Store, line: Line, monkeypatch: pytest.MonkeyPatch) -> Iterator[DashboardServer]:
    """Listening on every interface, with the token from the operator's environment."""
    monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN", TOKEN)
    handle = serve_dashboard(store, "0.0.0.0", 0)
    try:
        yield handle
    finally:
        handle.stop()


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert not is_loopback("::") and not is_loopback("plant.example")


def test_refuses_other_address_without_token(store: Store) -> None:
    with pytest.raises(ConfigError, match="PEAKLINE_DASHBOARD_TOKEN"):
        serve_dashboard(store, "0.0.0.0", 0)


def test_token_from_file_and_short_token_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN_FILE", str(path))
    assert resolve_token() == TOKEN
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="shorter than"):
        resolve_token()
    monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_token()


def test_every_request_needs_the_token(guarded: DashboardServer) -> None:
    for path in ("/api/live", "/api/stream", "/api/plans/production.csv", "/api/rejects"):
        status, headers, _ = request(guarded.url, "GET", path)
        assert status == 401, path
        assert headers["www-authenticate"] == "Bearer"
    status, headers, _ = request(guarded.url, "GET", "/")
    assert status == 303 and headers["location"] == "/login"
    assert request(guarded.url, "GET", "/static/vendor/uplot/uPlot.iife.min.js")[0] == 303
    wrong = {"Authorization": "Bearer not-the-token-at-all"}
    assert request(guarded.url, "GET", "/api/live", wrong)[0] == 401
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert request(guarded.url, "GET", "/api/live", right)[0] == 200
    assert request(guarded.url, "GET", "/login")[0] == 200


def test_login_form_sets_a_session_cookie_that_is_not_the_token(guarded: DashboardServer) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = request(
        guarded.url, "POST", "/login", form, urlencode({"token": "wrong-guess-123"})
    )
    assert status == 303 and headers["location"] == "/login?failed=1"
    assert "set-cookie" not in headers
    status, headers, _ = request(guarded.url, "POST", "/login", form, urlencode({"token": TOKEN}))
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"].split(";")[0]
    assert cookie.startswith(f"{COOKIE}=") and TOKEN not in cookie
    assert "httponly" in headers["set-cookie"].lower()
    assert request(guarded.url, "GET", "/api/live", {"Cookie": cookie})[0] == 200
    assert request(guarded.url, "GET", "/", {"Cookie": cookie})[0] == 200
    forged = {"Cookie": f"{COOKIE}={TOKEN}"}
    assert request(guarded.url, "GET", "/api/live", forged)[0] == 401


def test_token_never_logged(
    store: Store, line: Line, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PEAKLINE_DASHBOARD_TOKEN", TOKEN)
    handle = serve_dashboard(store, "0.0.0.0", 0)
    try:
        request(handle.url, "GET", "/api/live", {"Authorization": f"Bearer {TOKEN}"})
        request(handle.url, "GET", "/api/live", {"Authorization": "Bearer wrong-token-xyz"})
        request(
            handle.url,
            "POST",
            "/login",
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode({"token": TOKEN}),
        )
    finally:
        handle.stop()
    assert "dashboard on http://0.0.0.0" in caplog.text
    assert TOKEN not in caplog.text and "wrong-token-xyz" not in caplog.text


def test_busy_port_is_a_clear_error(store: Store, dashboard: DashboardServer) -> None:
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{dashboard.port}"):
        serve_dashboard(store, "127.0.0.1", dashboard.port)


def _login(url: str) -> str:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = request(url, "POST", "/login", form, urlencode({"token": TOKEN}))
    assert status == 303
    return headers["set-cookie"].split(";")[0]


def test_logout_clears_the_session_cookie(guarded: DashboardServer) -> None:
    cookie = _login(guarded.url)
    status, headers, _ = request(guarded.url, "GET", "/logout", {"Cookie": cookie})
    assert status == 303 and headers["location"] == "/login"
    cleared = headers["set-cookie"].lower()
    assert cleared.startswith(f"{COOKIE}=") and ("max-age=0" in cleared or "expires=" in cleared)
    # the browser now sends no session: the dashboard is closed to it again
    assert request(guarded.url, "GET", "/", {})[0] == 303
    assert request(guarded.url, "GET", "/api/live", {})[0] == 401
    # logging out without a session just leads to the login form
    status, headers, _ = request(guarded.url, "GET", "/logout")
    assert status == 303 and headers["location"] == "/login"


@pytest.mark.parametrize("cookie", [
    f'{COOKIE}="unterminated',
    f"{COOKIE}=",
    ";;;=;",
    f"{COOKIE}={'a' * 64}",  # the right length, the wrong HMAC
    f"{COOKIE}={'x' * 10_000}",
    "other=1; " + f"{COOKIE}=\\u00e9\\u00e9",
    "\u00e9t\u00e9=caf\u00e9",  # latin-1 bytes in the header
    f"{COOKIE.upper()}=whatever",
])
def test_malformed_or_forged_cookies_are_refused_not_crashing(
    guarded: DashboardServer, cookie: str,
) -> None:
    status, _, _ = request(guarded.url, "GET", "/api/live",
                           {"Cookie": cookie.encode("latin-1").decode("latin-1")})
    assert status == 401
    assert request(guarded.url, "GET", "/", {"Cookie": cookie})[0] == 303


def test_a_valid_session_among_other_cookies_is_accepted(guarded: DashboardServer) -> None:
    cookie = _login(guarded.url)
    mixed = f"theme=dark; {cookie}; tracking=abc"
    assert request(guarded.url, "GET", "/api/live", {"Cookie": mixed})[0] == 200


def test_token_file_from_the_dashboard_config(store: Store, line: Line, tmp_path: Path) -> None:
    from plant.dashboard.config import DashboardConfig

    path = tmp_path / "dashboard.token"
    path.write_text(TOKEN + "\n")
    handle = serve_dashboard(store, config=DashboardConfig(host="0.0.0.0", port=0,
                                                           token_file=str(path)))
    try:
        assert request(handle.url, "GET", "/api/live")[0] == 401
        assert request(handle.url, "GET", "/api/live",
                       {"Authorization": f"Bearer {TOKEN}"})[0] == 200
    finally:
        handle.stop()
    # the variable wins over the file when both are set
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PEAKLINE_DASHBOARD_TOKEN", "another-token-from-env-1")
        handle = serve_dashboard(store, config=DashboardConfig(host="0.0.0.0", port=0,
                                                               token_file=str(path)))
        try:
            assert request(handle.url, "GET", "/api/live",
                           {"Authorization": f"Bearer {TOKEN}"})[0] == 401
        finally:
            handle.stop()
