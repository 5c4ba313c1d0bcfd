"""Child processes the fault suite can ``kill -9``: the plant service, edge nodes, generators.

Each runs with the repository on ``PYTHONPATH`` and its output in a log file under the
scenario's work folder; ``wait_until`` polls a condition with a deadline and says what it was
waiting for when it gives up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["REPO", "Proc", "WaitTimeout", "wait_until"]

REPO = Path(__file__).resolve().parents[2]


class WaitTimeout(AssertionError):
    """A condition a scenario waited for did not come true in time."""


def wait_until(
    what: str, check: Callable[[], bool], timeout: float, interval: float = 0.1
) -> float:
    """Poll ``check`` until true; return the seconds it took, WaitTimeout after ``timeout``."""
    began = time.monotonic()
    while True:
        if check():
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise WaitTimeout(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Proc:
    """One Python child process (``python -m module args``) with its log in ``log_path``."""

    def __init__(self, name: str, argv: Sequence[str], workdir: Path) -> None:
        self.name = name
        self.argv = [sys.executable, *argv]
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Proc:
        """Start (or start again after a kill) with the same arguments."""
        if self.running:
            return self
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), env.get("PYTHONPATH", "")) if p
        )
        env["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.argv, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        return self

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def kill9(self) -> None:
        """SIGKILL: no flush, no goodbye, no Last Will cleanup on our side."""
        self._signal(signal.SIGKILL, timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the process hangs with its sockets open (a stuck consumer)."""
        if self.running and self._proc is not None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after ``pause``."""
        if self.running and self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (graceful stop); SIGKILL if it does not exit in ``timeout``."""
        proc = self._proc
        self.resume()  # a paused process cannot act on SIGTERM
        self._signal(signal.SIGTERM, timeout=timeout)
        return proc.returncode if proc is not None else None

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit by itself; its exit status."""
        if self._proc is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._proc.wait(timeout=timeout)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the log, for assertion messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def _signal(self, sig: int, timeout: float) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
