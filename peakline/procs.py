"""Child processes: started with their own log, stopped in order, never left behind.

One :class:`ChildProcess` serves the demo (each child in its own session, so a Ctrl-C in the
terminal reaches only ``peakline demo``, which then stops them deliberately), the broker
runners and the test suites (which also ``kill -9``, pause and resume them). Every child gets a
parent-death signal (Linux ``PR_SET_PDEATHSIG``), so even a ``kill -9`` of its parent takes it
along. :func:`peakline_argv` runs the installed ``peakline`` with ``python -P``, so a child started
from inside a source checkout still imports the installed package, not the checkout's sources.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from peakline.errors import PeaklineError

__all__ = [
    "ChildProcess",
    "ProcessError",
    "die_with_parent",
    "free_port",
    "peakline_argv",
    "run_step",
    "wait_for_port",
]

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


class ProcessError(PeaklineError):
    """A child process could not be started, did not answer, or failed."""


def die_with_parent() -> None:
    """Ask the kernel to SIGTERM this process when its parent dies (runs in the child)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    """Block until ``host:port`` accepts a TCP connection; ProcessError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ProcessError(f"nothing listening on {host}:{port} after {timeout:.0f} s")


def peakline_argv(*args: str) -> list[str]:
    """``peakline ARGS`` run with this interpreter, importing the installed package (``-P``)."""
    return [sys.executable, "-P", "-m", "peakline.cli", *args]


def run_step(argv: Sequence[str], what: str, quiet: bool = False) -> None:
    """Run a one-off step in the foreground (its progress bar on our terminal); ProcessError
    with the end of its output if it fails."""
    proc = subprocess.run(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=None if not quiet else subprocess.STDOUT,
        preexec_fn=die_with_parent,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stdout.decode(errors="replace")[-1500:]
        raise ProcessError(f"{what} failed (exit status {proc.returncode}):\n{tail}")


class ChildProcess:
    """One child process with its own log file; it can be started again after it stopped.

    ``new_session`` puts it in a session of its own (a terminal's Ctrl-C does not reach it, and
    :meth:`stop` signals its whole process group, grandchildren included).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        new_session: bool = False,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.new_session = new_session
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChildProcess:
        """Start it, or start it again after it stopped (from the thread that will outlive it:
        the parent-death signal follows the starting thread)."""
        if self.alive:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            command = " ".join(self.argv).replace("\n", "\\n")  # one line in the log
            out.write(f"--- start {self.starts + 1}: {command}\n".encode())
            out.flush()
            self._proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})}, cwd=self.cwd,
                start_new_session=self.new_session, preexec_fn=die_with_parent,
            )
        self.starts += 1
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

    def wait(self, timeout: float) -> int:
        """Wait for it to exit by itself; its exit status."""
        if self._proc is None:
            raise ProcessError(f"{self.name} was never started")
        return self._proc.wait(timeout=timeout)

    def log_tail(self, chars: int = 2000) -> str:
        """The end of its log, for error messages."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def pause(self) -> None:
        """SIGSTOP: it hangs with its sockets open (a stuck consumer)."""
        self._send(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        self._send(signal.SIGCONT)

    def kill(self) -> int | None:
        """SIGKILL: no flush, no goodbye; its exit status."""
        return self._end(signal.SIGKILL, 10.0)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; its exit status (None: never ran)."""
        self.resume()  # a paused process cannot act on SIGTERM
        return self._end(signal.SIGTERM, timeout)

    def _end(self, sig: int, timeout: float) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            self._send(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
                self._send(signal.SIGKILL)
                proc.wait(10)
        if self.new_session:  # anything it left in its session (a grandchild) goes too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        return proc.returncode

    def _send(self, sig: int) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.new_session:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
