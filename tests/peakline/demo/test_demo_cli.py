"""``peakline demo`` refuses at once, with a clear message, what it cannot run."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from support.procs import peakline


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo runs without an operator token unless a test sets one."""
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)


def run_demo(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``peakline demo ARGS`` to its end; its exit status and output."""
    demo = peakline("demo-run", tmp_path, "demo", "--workdir", str(tmp_path / "demo"), *args,
                    env=env)
    return demo.run(120), demo.output()


def test_without_mosquitto_it_is_not_refused_for_that(tmp_path: Path) -> None:
    """No Mosquitto on PATH: the demo goes on (embedded broker); here it stops at a busy port."""
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        status, output = run_demo(tmp_path, "--port", str(port), env={"PATH": str(bare)})
    assert status == 2
    assert "Mosquitto" not in output
    assert f"cannot listen on 127.0.0.1:{port}" in output
    assert "Traceback" not in output


def test_off_loopback_without_token_is_refused(tmp_path: Path) -> None:
    status, output = run_demo(tmp_path, "--host", "0.0.0.0")
    assert status == 2
    assert "requires an access token" in output and "PEAKLINE_DASHBOARD_TOKEN" in output
    assert not (tmp_path / "demo").exists()


def test_busy_dashboard_port_is_refused(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        status, output = run_demo(tmp_path, "--port", str(port))
    assert status == 2
    assert f"cannot listen on 127.0.0.1:{port}" in output and "--port" in output
    assert not (tmp_path / "demo").exists()
