"""Scores to decisions: pass / reject / uncertain, with the model card's thresholds.

The thresholds come from the model card in the ONNX metadata (the one source of truth that
``peakline model eval`` reads too) and can be overridden in the node config or by a
``set_thresholds`` command. When an item is judged in several frames, :class:`Smoother` takes
the median of its scores (Frigate does the same), so one noisy frame does not reject a cake.
"""

from __future__ import annotations

import math
import statistics
import threading
from dataclasses import dataclass, field

from peakline.errors import ConfigError

__all__ = ["Decider", "Smoother", "Thresholds"]


@dataclass(frozen=True)
class Thresholds:
    """``score >= reject`` rejects; ``uncertain <= score < reject`` is uncertain."""

    reject: float
    uncertain: float

    def __post_init__(self) -> None:
        if self.uncertain > self.reject:
            raise ConfigError(
                f"uncertain threshold {self.uncertain} is above the reject threshold {self.reject}"
            )


class Decider:
    """Turns a score into a decision; thresholds can change while the node runs."""

    def __init__(self, thresholds: Thresholds) -> None:
        self._t = thresholds
        self._lock = threading.Lock()

    @property
    def thresholds(self) -> Thresholds:
        return self._t

    def set(self, reject: float | None = None, uncertain: float | None = None) -> Thresholds:
        """Change one or both thresholds (ConfigError if they would cross)."""
        with self._lock:
            self._t = Thresholds(
                self._t.reject if reject is None else reject,
                self._t.uncertain if uncertain is None else uncertain,
            )
            return self._t

    def decide(self, score: float) -> str:
        """The decision for ``score``; a NaN score fails safe and rejects."""
        t = self._t
        if not score < t.reject:  # also NaN: a broken model never passes a cake
            return "reject"
        if score >= t.uncertain:
            return "uncertain"
        return "pass"


@dataclass
class _Pending:
    scores: list[float] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    expected: int | None = None


class Smoother:
    """Collects an item's scores over its judged frames and yields the median when complete."""

    def __init__(self) -> None:
        self._items: dict[int, _Pending] = {}

    def add(
        self, item: int, score: float, name: str | None, last: bool
    ) -> tuple[float, str | None] | None:
        """Add one frame's score; the smoothed (score, defect name) once the item is complete."""
        p = self._items.setdefault(item, _Pending())
        p.scores.append(score)
        p.names.append(name)
        if last:
            p.expected = len(p.scores) if p.expected is None else p.expected
        return self._done(item, p)

    def close(self, item: int, judged: int) -> tuple[float, str | None] | None:
        """The item's track ended after ``judged`` views; complete it once those are scored."""
        p = self._items.setdefault(item, _Pending())
        p.expected = judged
        return self._done(item, p)

    def _done(self, item: int, p: _Pending) -> tuple[float, str | None] | None:
        if p.expected is None or len(p.scores) < p.expected:
            return None
        del self._items[item]
        if len(p.scores) == 1:
            return p.scores[0], p.names[0]
        failed = [i for i, s in enumerate(p.scores) if not math.isfinite(s)]
        if failed:  # one unjudged view is enough to fail safe: the item is rejected
            return math.nan, p.names[failed[0]]
        score = float(statistics.median(p.scores))
        # the defect name of the frame whose score is closest to the median
        k = min(range(len(p.scores)), key=lambda i: abs(p.scores[i] - score))
        return score, p.names[k]

    @property
    def pending(self) -> int:
        return len(self._items)
