"""Child processes of the demo line: started in their own session, stopped in order, never orphaned.

Each child runs in a new session (so a Ctrl-C in the terminal reaches only ``peakline demo``,
which then stops the children in a deliberate order: camera nodes first so they flush, then
the plant, then the broker) and with a parent-death signal (Linux ``PR_SET_PDEATHSIG``), so
even a ``kill -9`` of the demo takes its children with it. Output goes to one log file per
child under the work dir.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peakline.errors import PeaklineError

__all__ = ["Child", "ChildGroup", "peakline_argv", "run_step"]

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def peakline_argv(*args: str) -> list[str]:
    """``peakline ARGS`` run with this interpreter (works without the script on PATH)."""
    return [sys.executable, "-m", "peakline.cli", *args]


def run_step(argv: Sequence[str], what: str, quiet: bool = False) -> None:
    """Run a one-off step in the foreground (its progress bar on our terminal); PeaklineError
    with the end of its output if it fails."""
    proc = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=None if not quiet else subprocess.STDOUT,
        preexec_fn=_die_with_parent,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stdout.decode(errors="replace")[-1500:]
        raise PeaklineError(f"{what} failed (exit status {proc.returncode}):\n{tail}")


@dataclass
class Child:
    """One child process with its own log file."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> Child:
        """Start it (from the main thread: the parent-death signal follows the starting thread)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        log.debug("started %s (pid %d): %s", self.name, self._proc.pid, " ".join(self.argv))
        return self

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, chars: int = 2000) -> str:
        """The end of this child's log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM its process group, wait up to ``timeout``, then SIGKILL; the exit status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            self._signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
                self._signal_group(proc, signal.SIGKILL)
                proc.wait(10)
        # anything it left in its session (a grandchild) goes too
        self._signal_group(proc, signal.SIGKILL)
        return proc.returncode

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)


@dataclass
class ChildGroup:
    """Children stopped in the reverse order of their start."""

    children: list[Child] = field(default_factory=list)

    def start(self, child: Child) -> Child:
        self.children.append(child.start())
        return child

    def dead(self) -> list[Child]:
        """Children that have exited on their own."""
        return [c for c in self.children if c.pid is not None and not c.alive]

    def stop(self, timeout: float = 15.0) -> dict[str, int | None]:
        """Stop every child, last started first; their exit statuses by name."""
        statuses: dict[str, int | None] = {}
        for child in reversed(self.children):
            statuses[child.name] = child.stop(timeout)
        self.children.clear()
        return statuses
