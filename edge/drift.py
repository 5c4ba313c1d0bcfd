"""Score drift on a running line: is the threshold still right for today's light and belt?

The node feeds every decided item's score into a :class:`DriftMonitor`. Over the latest
``window`` items it fits the good items' score distribution the way ``peakline model calibrate
--line`` does (a Gumbel tail fitted to the lower quantiles, so the few defects among them do not
count) and estimates the false-reject rate at the current reject threshold. When that estimate
leaves its band (``band`` times the card's target) the node logs one warning, raises the
``drift_alert`` metric and reports it in its MQTT metrics until it comes back; a line engineer
then recalibrates on the line (``peakline model calibrate --line``) or refits.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["DriftMonitor", "DriftStatus"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriftStatus:
    """The latest window's view of the good items' scores."""

    items: int
    score_p50: float | None
    estimated_frr: float | None  # None until ``min_items`` items were seen
    band: float  # the highest estimated false-reject rate still in band
    alert: bool


class DriftMonitor:
    """Estimated false-reject rate over the latest items, with an alert when out of band."""

    def __init__(
        self,
        reject: Callable[[], float],
        target_frr: float,
        *,
        window: int = 1000,
        min_items: int = 200,
        band: float = 3.0,
        contamination: float = 0.05,
    ) -> None:
        self._reject = reject
        self.band = band * target_frr
        self.min_items = min_items
        self.contamination = contamination
        self._scores: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self._alert = False

    def add(self, score: float) -> None:
        """One decided item's score (non-finite scores are the model's failures: skipped)."""
        if math.isfinite(score):
            with self._lock:
                self._scores.append(score)

    def estimate(self, scores: np.ndarray, reject: float) -> float:
        """P(good score >= reject) under the Gumbel fitted to the body of ``scores``."""
        keep = 1.0 - self.contamination
        lo, mid = np.quantile(scores, [0.10 * keep, 0.50 * keep])
        span = math.log(-math.log(0.10)) - math.log(-math.log(0.50))
        beta = max((mid - lo) / span, 1e-9)
        mu = mid + beta * math.log(-math.log(0.50))
        return float(1.0 - math.exp(-math.exp(-(reject - mu) / beta)))

    def status(self) -> DriftStatus:
        """The current estimate; logs once when it leaves or re-enters its band."""
        with self._lock:
            scores = np.fromiter(self._scores, np.float64, len(self._scores))
        if scores.size < self.min_items:
            return DriftStatus(int(scores.size), None, None, self.band, False)
        reject = self._reject()
        frr = self.estimate(scores, reject)
        alert = frr > self.band
        if alert != self._alert:
            self._alert = alert
            if alert:
                log.warning(
                    "score drift: estimated false-reject rate %.1f%% over the last %d items, "
                    "above its band of %.1f%% (reject threshold %.4g); recalibrate on the line "
                    "with 'peakline model calibrate --line' or refit",
                    100 * frr,
                    scores.size,
                    100 * self.band,
                    reject,
                )
            else:
                log.info("score drift over: estimated false-reject rate %.1f%%", 100 * frr)
        return DriftStatus(int(scores.size), float(np.median(scores)), frr, self.band, alert)
