"""Child processes for the suites: ``peakline`` commands, the fault suite's generators.

A :class:`Proc` is a :class:`peakline.procs.ChildProcess` that runs ``python ARGS`` with this
checkout (and ``tests/``, for :mod:`support`) on ``PYTHONPATH``, unbuffered, in its work folder,
its output (stdout and stderr) in ``<workdir>/<name>.log``. Tests can ``kill -9``, pause and
restart it, run it to its end (:meth:`Proc.run`), or wait for something while it runs
(:meth:`Proc.wait_for`: fails at once if it exits, showing the end of its log).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from peakline.procs import ChildProcess

from .paths import REPO
from .waiting import WaitTimeout, wait_until

__all__ = ["Proc", "exited", "peakline"]

_START_HEADER = "--- start "  # the line ChildProcess writes into the log at every start


class Proc(ChildProcess):
    """One Python child process (``python args``) running the repository's code."""

    def __init__(self, name: str, argv: Sequence[str], workdir: Path, *,
                 env: dict[str, str] | None = None, new_session: bool = False) -> None:
        paths = [str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]
        base = {"PYTHONPATH": os.pathsep.join(p for p in paths if p), "PYTHONUNBUFFERED": "1"}
        super().__init__(name, [sys.executable, *argv], workdir / f"{name}.log",
                         env={**base, **(env or {})}, cwd=workdir, new_session=new_session)

    def output(self) -> str:
        """Everything it wrote (all starts), without the log's start headers."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "".join(line for line in text.splitlines(keepends=True)
                       if not line.startswith(_START_HEADER))

    def run(self, timeout: float) -> int:
        """Start it and wait for it to exit by itself; its exit status (read :meth:`output`).

        Killed, and an AssertionError with the end of its log, if it runs past ``timeout``.
        """
        self.start()
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.name} still ran after {timeout:g} s:\n"
                                 f"{self.log_tail()}") from None

    def wait_for(self, what: str, cond: Callable[[], object], timeout: float,
                 interval: float = 0.05) -> float:
        """:func:`~support.waiting.wait_until` ``cond`` while this process runs; the seconds
        it took. Fails at once if the process exits first, and always with its log's end."""
        met = False

        def check() -> bool:
            nonlocal met
            met = bool(cond())
            return met or not self.alive

        try:
            took = wait_until(what, check, timeout, interval)
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}\n--- end of {self.log_path}:\n{self.log_tail()}") from None
        if not met:
            raise AssertionError(f"{self.name} exited (status {self.returncode}) before "
                                 f"{what}:\n{self.log_tail()}")
        return took


def exited(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie counts: its parent, or init, reaps it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return True
    return state == "Z"


def peakline(name: str, workdir: Path, *args: str, env: dict[str, str] | None = None,
             new_session: bool = False) -> Proc:
    """``python -m peakline.cli ARGS`` as a :class:`Proc` (not started)."""
    return Proc(name, ["-m", "peakline.cli", *args], workdir, env=env, new_session=new_session)
