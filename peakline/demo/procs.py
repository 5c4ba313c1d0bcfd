"""The demo line's children, stopped in the reverse order of their start: camera nodes first
so they flush, then the plant, then the broker. Each runs in a session of its own, so a Ctrl-C
in the terminal reaches only ``peakline demo`` (see :class:`peakline.procs.ChildProcess`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peakline.procs import ChildProcess

__all__ = ["ChildGroup", "demo_child"]


def demo_child(name: str, argv: Sequence[str], log_path: Path,
               env: dict[str, str] | None = None) -> ChildProcess:
    """A child of the demo: its own session and log file."""
    return ChildProcess(name, argv, log_path, env=env, new_session=True)


@dataclass
class ChildGroup:
    """Children stopped in the reverse order of their start."""

    children: list[ChildProcess] = field(default_factory=list)

    def start(self, child: ChildProcess) -> ChildProcess:
        self.children.append(child.start())
        return child

    def dead(self) -> list[ChildProcess]:
        """Children that have exited on their own."""
        return [c for c in self.children if c.pid is not None and not c.alive]

    def stop(self, timeout: float = 15.0) -> dict[str, int | None]:
        """Stop every child, last started first; their exit statuses by name."""
        statuses: dict[str, int | None] = {}
        for child in reversed(self.children):
            statuses[child.name] = child.stop(timeout)
        self.children.clear()
        return statuses
