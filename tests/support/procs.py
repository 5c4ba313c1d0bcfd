"""Child processes the fault suite can ``kill -9``: the plant service, edge nodes, generators.

Each runs with the repository on ``PYTHONPATH`` and its output in a log file under the
scenario's work folder; ``wait_until`` polls a condition with a deadline and says what it was
waiting for when it gives up.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from peakline.procs import ChildProcess

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


class Proc(ChildProcess):
    """One Python child process (``python -m module args``) running the repository's code."""

    def __init__(self, name: str, argv: Sequence[str], workdir: Path) -> None:
        env = {
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH"))
                                          if p),
            "PYTHONUNBUFFERED": "1",
        }
        super().__init__(name, [sys.executable, *argv], workdir / f"{name}.log", env=env,
                         cwd=workdir)
        self.workdir = workdir

    @property
    def running(self) -> bool:
        return self.alive

    def kill9(self) -> None:
        """SIGKILL: no flush, no goodbye, no Last Will cleanup on our side."""
        self.kill()
