"""A small JSON progress file: what a long job is doing, for a dashboard to show while it waits.

``peakline demo`` writes one while it records the lines, fits the model and imports the ERP
history; the dashboard (``dashboard.progress_file``) reads it and shows the steps until the
phase is ``live``. Each write replaces the file atomically, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["Progress", "Step", "read_progress"]

StepState = Literal["pending", "running", "done", "failed"]
Phase = Literal["preparing", "live", "failed"]


@dataclass
class Step:
    """One step of the job."""

    key: str
    label: str
    state: StepState = "pending"
    started: float | None = None
    finished: float | None = None
    detail: str = ""


@dataclass
class Progress:
    """The steps of one job and its phase, written to ``path`` on every change."""

    path: Path
    title: str
    steps: list[Step] = field(default_factory=list)
    phase: Phase = "preparing"

    def add(self, key: str, label: str) -> None:
        """Declare a step (pending) so the page can show what is still to come."""
        self.steps.append(Step(key, label))
        self.write()

    def _step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)

    def start(self, key: str, detail: str = "") -> None:
        step = self._step(key)
        step.state, step.started, step.detail = "running", time.time(), detail
        self.write()

    def done(self, key: str, detail: str = "") -> None:
        step = self._step(key)
        step.state, step.finished = "done", time.time()
        step.detail = detail or step.detail
        if step.started is None:
            step.started = step.finished
        self.write()

    def fail(self, key: str, detail: str) -> None:
        step = self._step(key)
        step.state, step.finished, step.detail = "failed", time.time(), detail
        self.phase = "failed"
        self.write()

    def set_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.write()

    def write(self) -> None:
        data = {"title": self.title, "phase": self.phase, "updated": time.time(),
                "steps": [asdict(s) for s in self.steps]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.path)


def read_progress(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The progress file as a dict, or None if it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
