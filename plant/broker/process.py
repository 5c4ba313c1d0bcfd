"""Run a Mosquitto broker as a child process with Peakline's shipped settings.

Used by ``peakline demo`` and by the tests, which start their own broker on a free port so
they can kill (SIGKILL) and restart it. The shipped config turns persistence on and sets the
per-client queue limits on purpose (see ``docs/broker.md``).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from peakline.procs import ChildProcess, ProcessError, free_port, wait_for_port

__all__ = ["BrokerError", "BrokerProcess", "Mosquitto"]


class BrokerError(ProcessError):
    """The broker could not be started or did not answer."""


class BrokerProcess:
    """The life cycle shared by the broker child processes: start, stop, SIGKILL, restart.

    A subclass is a dataclass with ``workdir``, ``port`` and ``_child`` fields; it says how to
    prepare its work dir (:meth:`prepare`) and what to run (:meth:`argv`).
    """

    name = "broker"
    start_timeout_s = 10.0
    workdir: Path
    port: int
    _child: ChildProcess | None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def prepare(self) -> None:
        """Create the work dir and write what the broker reads at start."""
        self.workdir.mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        """The broker's command line (after :meth:`prepare`)."""
        raise NotImplementedError

    def start(self, timeout: float | None = None) -> Self:
        """Start the broker; returns when it accepts connections."""
        if self.running:
            return self
        self.prepare()
        self._child = ChildProcess(self.name, self.argv(), self.log_path).start()
        try:
            wait_for_port(self.port, self.start_timeout_s if timeout is None else timeout)
        except ProcessError as exc:
            self.kill()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise BrokerError(f"{self.name} did not start: {exc}\n{tail}") from exc
        return self

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.alive

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def kill(self) -> None:
        """SIGKILL the broker: no chance to save anything (the fault suite's broker crash)."""
        if self._child is not None:
            self._child.kill()
        self._child = None

    def stop(self) -> None:
        """SIGTERM the broker and wait for it to close (Mosquitto saves its persistence)."""
        if self._child is not None:
            self._child.stop(10)
        self._child = None

    def restart(self, timeout: float | None = None) -> Self:
        """Stop (gracefully) and start again on the same port."""
        self.stop()
        return self.start(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Mosquitto(BrokerProcess):
    """A Mosquitto child process listening on 127.0.0.1:``port``.

    ``persistence`` keeps in-flight and queued QoS 1 messages across a restart (saved every
    second, ``autosave_interval 1``, and on a graceful stop); ``max_queued`` bounds the
    per-client queue of a disconnected persistent session. ``extra`` lines are appended to
    the generated config (listeners, TLS, password and ACL files).
    """

    workdir: Path
    port: int = field(default_factory=free_port)
    persistence: bool = True
    max_queued: int = 100_000
    allow_anonymous: bool = True
    extra: list[str] = field(default_factory=list)
    executable: str = "mosquitto"
    _child: ChildProcess | None = field(default=None, init=False, repr=False)

    name = "mosquitto"

    @property
    def config_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    def config_text(self) -> str:
        """The mosquitto.conf this broker runs with."""
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            f"max_queued_messages {self.max_queued}",
            "max_inflight_messages 100",
            "message_size_limit 1048576",
            "max_keepalive 120",
            "persistent_client_expiration 7d",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "connection_messages true",
            # Run as root, mosquitto drops to user "mosquitto", which cannot write the
            # persistence file into a root-owned work dir: persistence would silently be off.
            *(["user root"] if os.geteuid() == 0 else []),
            *self.extra,
        ]
        return "\n".join(lines) + "\n"

    def prepare(self) -> None:
        """Create the work dir and write the config."""
        super().prepare()
        self.config_path.write_text(self.config_text())

    def argv(self) -> list[str]:
        exe = shutil.which(self.executable)
        if exe is None:
            raise BrokerError(
                f"{self.executable!r} not found on PATH; install it (apt-get install mosquitto)"
            )
        return [exe, "-c", str(self.config_path)]
