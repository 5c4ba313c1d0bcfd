"""Quality figures of an inspection model: AUROC, false-reject and escape rates, thresholds.

Conventions: a higher score means more anomalous; an item is *rejected* when its score is at or
above the reject threshold, *uncertain* when at or above the uncertain threshold but below reject,
else it *passes*. The false-reject rate is the fraction of good items rejected; the escape rate is
the fraction of defective items not rejected (passed or left uncertain); recall = 1 - escape rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "DECISIONS",
    "auroc",
    "auroc_gain",
    "decide",
    "summarize",
    "threshold_for_frr",
]

DECISIONS = ("pass", "uncertain", "reject")


def auroc(good: np.ndarray, bad: np.ndarray) -> float:
    """Area under the ROC curve of ``bad`` (positives) against ``good``; ties count half."""
    g = np.asarray(good, np.float64)
    b = np.asarray(bad, np.float64)
    if g.size == 0 or b.size == 0:
        return float("nan")
    allv = np.concatenate([g, b])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(allv.size, np.float64)
    sorted_v = allv[order]
    # average ranks of ties
    i = 0
    while i < sorted_v.size:
        j = i
        while j + 1 < sorted_v.size and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    rb = ranks[g.size :].sum()
    return float((rb - b.size * (b.size + 1) / 2.0) / (g.size * b.size))


def _midranks(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` within the sorted ``ref``, ties counting half."""
    lo = np.searchsorted(ref, x, "left")
    hi = np.searchsorted(ref, x, "right")
    return (lo + hi + 1) / 2.0


def _placements(good: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components: per defect the share of goods below it, per good the
    share of defects above it (ties half); their means are the AUROC."""
    g, b = np.sort(good), np.sort(bad)
    both = np.sort(np.concatenate([g, b]))
    v_bad = (_midranks(bad, both) - _midranks(bad, b)) / g.size
    v_good = 1.0 - (_midranks(good, both) - _midranks(good, g)) / b.size
    return v_bad, v_good


def auroc_gain(
    base: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
) -> tuple[float, float]:
    """How much higher ``other``'s AUROC is than ``base``'s, and the standard error of that
    difference, both given as (good scores, defect scores) of the same items in the same order
    (paired: DeLong, DeLong & Clarke-Pearson 1988)."""
    (ga, ba), (gb, bb) = (tuple(np.asarray(a, np.float64) for a in pair) for pair in (base, other))
    if ga.shape != gb.shape or ba.shape != bb.shape or ga.size < 2 or ba.size < 2:
        raise ValueError("paired AUROCs need the same items, at least two goods and two defects")
    (va_bad, va_good), (vb_bad, vb_good) = _placements(ga, ba), _placements(gb, bb)
    gain = float(vb_bad.mean() - va_bad.mean())
    d_bad, d_good = vb_bad - va_bad, vb_good - va_good
    var = np.var(d_bad, ddof=1) / d_bad.size + np.var(d_good, ddof=1) / d_good.size
    return gain, float(math.sqrt(max(var, 0.0)))


def threshold_for_frr(good: np.ndarray, target: float) -> tuple[float, float]:
    """The lowest threshold that rejects at most ``target`` of ``good``; returns (threshold, frr).

    The threshold sits just above the highest good score that may be passed, so with fewer than
    ``1 / target`` good items it lies just above the highest good score.
    """
    s = np.sort(np.asarray(good, np.float64))
    n = s.size
    if n == 0:
        raise ValueError("no good scores to calibrate on")
    k = math.floor(target * n + 1e-9)  # good items we may reject
    keep = s[n - k - 1]
    thr = float(np.nextafter(np.float32(keep), np.float32(np.inf)))
    frr = float(np.mean(s >= thr))
    return thr, frr


def decide(scores: np.ndarray, reject: float, uncertain: float) -> np.ndarray:
    """0 = pass, 1 = uncertain, 2 = reject for each score."""
    s = np.asarray(scores)
    return np.where(s >= reject, 2, np.where(s >= uncertain, 1, 0))


def _rates(
    scores: np.ndarray, is_bad: np.ndarray, reject: float, uncertain: float
) -> dict[str, Any]:
    d = decide(scores, reject, uncertain)
    good, bad = ~is_bad, is_bad
    n_good, n_bad = int(good.sum()), int(bad.sum())
    conf = {
        "good": {name: int(((d == k) & good).sum()) for k, name in enumerate(DECISIONS)},
        "defect": {name: int(((d == k) & bad).sum()) for k, name in enumerate(DECISIONS)},
    }
    return {
        "n_good": n_good,
        "n_defect": n_bad,
        "auroc": auroc(scores[good], scores[bad]),
        "recall": float(np.mean(d[bad] == 2)) if n_bad else float("nan"),
        "false_reject_rate": float(np.mean(d[good] == 2)) if n_good else float("nan"),
        "escape_rate": float(np.mean(d[bad] != 2)) if n_bad else float("nan"),
        "uncertain_rate": float(np.mean(d == 1)) if d.size else float("nan"),
        "confusion": conf,
    }


def summarize(
    scores: np.ndarray, labels: Sequence[str], reject: float, uncertain: float
) -> dict[str, Any]:
    """Overall and per-defect figures; each defect type is compared against all good items."""
    s = np.asarray(scores, np.float64)
    labs = np.asarray(labels)
    is_bad = labs != "good"
    out: dict[str, Any] = {"overall": _rates(s, is_bad, reject, uncertain), "per_defect": {}}
    good = ~is_bad
    for defect in sorted(set(labs[is_bad].tolist())):
        sel = good | (labs == defect)
        out["per_defect"][defect] = _rates(s[sel], labs[sel] == defect, reject, uncertain)
    return out
