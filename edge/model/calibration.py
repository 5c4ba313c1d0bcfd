"""Thresholds that hold on the next recording, and the part of the crop that is the item.

:func:`robust_thresholds` aims the reject threshold at the stated false-reject rate of the
held-out (out-of-fold) good scores: their empirical quantile, read a little higher by a
sampling margin that shrinks as the goods grow (``SAMPLING_Z`` standard errors of the rate:
quantile 99.29% for 1% on 300 goods, 99.09% on 3,000). A threshold above the highest good
throws recall away: on solar-cell photos it let 73-85% of the defects pass at 0% false rejects,
against 45% at the sampled quantile with 1.3% false rejects.

A line also moves: fitted on one recording and run on the next, light, noise and belt change
and the good scores rise a little, so at 1% the false rejects double or triple. For that the
threshold is at least the plain quantile plus ``margin`` times the spread between the median
and it (``SHIFT_MARGIN`` for recordings; ``peakline model calibrate`` keeps it); the larger of
this and the sampling margin counts, not their sum. With fewer good items than the target
needs (``n < 1 / target``) a Gumbel tail fitted to the body of the scores extrapolates (never
below the highest good), and the result's ``trust`` says how far the threshold can be trusted.

:func:`item_region` gives the cells of the model's grid that lie on the item (the disc inscribed
in its bbox inside the crop), so the belt, its seams and the neighbours at the crop's corners do
not decide a reject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ThresholdFit", "gumbel_quantile", "item_region", "robust_thresholds"]

#: added to the reject threshold, as a fraction of (quantile - median) of the good scores;
#: measured on the recordings: fitted on one, the next one's good scores sat up to about a
#: fifth of that spread higher
SHIFT_MARGIN = 0.25
#: the quantile is read this many standard errors of the target rate higher (sampling margin)
SAMPLING_Z = 0.5
#: the uncertain band starts where this many times the target share of good items would be
#: rejected: at five times, one good item in twelve of the next recording landed in it, more
#: than a person at the line checks
UNCERTAIN_FACTOR = 2.5


@dataclass(frozen=True)
class ThresholdFit:
    """Reject and uncertain thresholds, how they were found and how far they can be trusted."""

    reject: float
    uncertain: float
    frr: float  # false-reject rate of the reject threshold on the scores it was set on
    method: str
    trust: str  # one sentence: how far this threshold can be trusted


def gumbel_quantile(scores: np.ndarray, p: float, contamination: float = 0.0) -> float:
    """The ``p`` quantile of a Gumbel distribution fitted to ``scores`` by quantiles of their
    body (robust: the defects among them sit in the upper tail). With ``contamination`` c, the
    goods' quantile q is read at q * (1 - c) of all scores, and only the lower half is used."""
    s = np.asarray(scores, np.float64)
    keep = 1.0 - contamination
    if contamination > 0:
        lo, mid = np.quantile(s, [0.10 * keep, 0.50 * keep])
        span = math.log(-math.log(0.10)) - math.log(-math.log(0.50))
        beta = max((mid - lo) / span, 1e-9)
        mu = mid + beta * math.log(-math.log(0.50))
    else:
        q25, q50, q75 = np.percentile(s, [25, 50, 75])
        span = math.log(-math.log(0.25)) - math.log(-math.log(0.75))
        beta = max((q75 - q25) / span, 1e-9)
        mu = q50 + beta * math.log(math.log(2.0))
    return float(mu - beta * math.log(-math.log(p)))


def _empirical(scores: np.ndarray, p: float) -> float:
    return float(np.quantile(scores, p, method="linear"))


def robust_thresholds(
    good: np.ndarray,
    target_frr: float,
    margin: float = SHIFT_MARGIN,
    contamination: float = 0.0,
) -> ThresholdFit:
    """Thresholds from held-out good scores for ``target_frr`` (see the module docstring); the
    uncertain band starts where ``UNCERTAIN_FACTOR`` times the target would be rejected. With
    ``contamination`` > 0 (items from a running line, a few percent of them defective) only the
    Gumbel tail, fitted on the body of the scores, sets it: the highest scores may be defects."""
    s = np.sort(np.asarray(good, np.float64))
    n = s.size
    if n < 3:
        raise ValueError(f"{n} good score(s): at least 3 are needed for a threshold")
    se = math.sqrt(target_frr * (1.0 - target_frr) / n)
    p = min(1.0 - target_frr + SAMPLING_Z * se, 1.0 - 0.5 / n)
    enough = n * target_frr >= 1.0
    median = float(np.quantile(s, 0.5 * (1.0 - contamination)))
    if contamination > 0:
        base = gumbel_quantile(s, p, contamination)
        reject = base + margin * max(base - median, 0.0)
    elif enough:
        # the larger of the two margins, not their sum: both allow for where the next
        # session's quantile may lie
        plain = _empirical(s, 1.0 - target_frr)
        reject = max(_empirical(s, p), plain + margin * max(plain - median, 0.0))
    else:
        base = max(float(s[-1]), gumbel_quantile(s, p))
        reject = base + margin * max(base - median, 0.0)
    pu = 1.0 - min(0.5, UNCERTAIN_FACTOR * target_frr)
    band = gumbel_quantile(s, pu, contamination)
    uncertain = min(band if contamination > 0 else max(_empirical(s, pu), band), reject)
    frr = float(np.mean(s >= reject))
    if enough:
        lo, hi = max(0.0, target_frr - 1.64 * se), target_frr + 1.64 * se
        trust = (
            f"set on {n} held-out good items: aimed at {target_frr:.1%} false rejects, "
            f"which {n} items pin down to {lo:.1%}-{hi:.1%} (90%)"
        )
        if n * target_frr < 10:
            trust += f"; {math.ceil(10 / target_frr)} or more would pin it down well"
    else:
        trust = (
            f"only {n} held-out good items: {target_frr:.1%} needs at least "
            f"{math.ceil(1 / target_frr)}, so the threshold comes from a fitted tail; "
            "recalibrate on the line ('peakline model calibrate') before trusting it"
        )
    method = (
        f"quantile {p:.2%} (target + {SAMPLING_Z:g} standard errors)"
        if enough
        else f"Gumbel tail at {p:.2%}, at least the highest good"
    ) + (f", at least the quantile + {margin:g} x (quantile - median)" if margin else "")
    if contamination > 0:
        method = f"Gumbel tail (up to {contamination:.0%} defects allowed) + {margin:g} x spread"
    return ThresholdFit(float(reject), float(uncertain), frr, method, trust)


def item_region(grid: int, margin: float) -> np.ndarray:
    """(grid * grid,) 0/1: the cells whose centre lies on the item, the disc inscribed in its
    bbox in a square crop with ``margin`` around it, widened by half a cell so the rim counts."""
    centres = (np.arange(grid) + 0.5) / grid - 0.5
    yy, xx = np.meshgrid(centres, centres, indexing="ij")
    radius = 0.5 / (1.0 + margin) + 0.5 / grid
    return (np.hypot(xx, yy) <= radius).astype(np.float32).ravel()
