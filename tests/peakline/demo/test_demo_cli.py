"""``peakline demo`` refuses at once, with a clear message, what it cannot run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path


def run_demo(tmp_path: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peakline.cli", "demo", "--workdir", str(tmp_path / "demo"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEAKLINE_DASHBOARD_TOKEN")}
    return {**env, **extra}


def test_without_mosquitto_it_is_not_refused_for_that(tmp_path: Path) -> None:
    """No Mosquitto on PATH: the demo goes on (embedded broker); here it stops at a busy port."""
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = run_demo(tmp_path, "--port", str(port), env=_env(PATH=str(bare)))
    assert done.returncode == 2
    assert "Mosquitto" not in done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_off_loopback_without_token_is_refused(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--host", "0.0.0.0", env=_env())
    assert done.returncode == 2
    assert "requires an access token" in done.stderr and "PEAKLINE_DASHBOARD_TOKEN" in done.stderr
    assert not (tmp_path / "demo").exists()


def test_busy_dashboard_port_is_refused(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = run_demo(tmp_path, "--port", str(port), env=_env())
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert not (tmp_path / "demo").exists()
