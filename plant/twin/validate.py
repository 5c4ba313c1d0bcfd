"""Is the twin's line the line? Its output checked against what the nodes recorded.

:func:`check_line` fits the line's behaviour (:func:`plant.twin.measure.fit_line`: items
per running hour, speed spread, stoppages, reject Beta) on what the nodes measured, lives the
record's hours in the twin's line process (:mod:`plant.twin.sim`) ``runs`` times and
compares the good items it makes with the good items the nodes recorded. With ``fit_share``
below 1 it fits on that first share of the record's time only and predicts the rest. The
twin passes when the mean is within ``tolerance`` (5%) of the record. ``peakline plant
check-twin`` runs it on the store.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from peakline.errors import DataError
from plant.twin.config import TwinConfig
from plant.twin.measure import fit_line
from plant.twin.sim import simulate_run
from plant.twin.world import LineSpec, SkuSpec, World

__all__ = ["check_line"]


def _one_line_world(rate: float, hours: float, behaviour: Any, cfg: TwinConfig) -> World:
    """A world of one line working ``hours`` (over as many days as that takes) on one lot."""
    days = max(1, int(np.ceil(hours / 24.0)))
    per_day = hours / days
    line = LineSpec("line", rate, per_day, 7, behaviour, 0.0)
    sku = SkuSpec("item", "line", "item", "item", 0.0, 0.0, 0.0, 10_000, 10_000, False, [])
    empty = np.zeros((1, days))
    big = rate * hours * 10 + 1.0
    return World(start=dt.date(2026, 1, 5), days=days, festival_day=days + 1, closed=set(),
                 lines=[line], skus=[sku], channels=["line"], items=[],
                 lots={(0, 0): [(0, big)]}, p10=empty, p50=empty, p90=empty,
                 due=np.zeros((1, days), dtype=int), in_season=np.zeros(days, dtype=bool),
                 firm=[], fg_on_hand=np.zeros(1), material_on_hand=np.zeros(0), arrivals=[],
                 cfg=cfg.model_copy(update={"changeover_scrap_boxes": 0.0}),
                 demand_factor=np.ones(1), cutoffs={})


def check_line(metrics: pd.DataFrame, cfg: TwinConfig, fit_share: float = 1.0,
               runs: int = 200, seed: int = 1, tolerance: float = 0.05) -> dict[str, Any]:
    """Fit on the first ``fit_share`` of the record's time and predict the rest (1: fit on
    the whole record and reproduce it); the figures."""
    if metrics.empty or float(metrics["items"].sum()) <= 0:
        raise DataError("no items recorded on this line; nothing to check the twin against")
    m = metrics.sort_values("ts")
    t0 = float(m["ts"].iloc[0] - m["window_s"].iloc[0])
    t1 = float(m["ts"].iloc[-1])
    cut = t0 + fit_share * (t1 - t0)
    first, second = m[m["ts"] <= cut], m[m["ts"] > cut]
    if fit_share >= 1.0:
        second = m
    if len(first) < 3 or len(second) < 3:
        raise DataError(f"too few metrics windows to check the twin ({len(m)}); record longer")
    beh = fit_line(first, cfg)
    hours = (t1 - float(second["ts"].iloc[0] - second["window_s"].iloc[0])) / 3600.0
    world = _one_line_world(beh.items_per_hour, hours, beh, cfg)
    good = np.array([simulate_run(world, seed, r).made_good for r in range(runs)])
    recorded = float(second["items"].sum() - second["rejects"].sum())
    error = float(good.mean() / recorded - 1.0) if recorded > 0 else float("inf")
    scale = 24.0 / hours
    return {"fit_windows": len(first), "check_windows": len(second),
            "check_hours": round(hours, 4), "fitted": beh.source,
            "items_per_hour": round(beh.items_per_hour, 1),
            "reject_rate": round(beh.reject_mean, 4),
            "recorded_good": recorded, "simulated_good": round(float(good.mean()), 1),
            "simulated_good_p10": round(float(np.percentile(good, 10)), 1),
            "simulated_good_p90": round(float(np.percentile(good, 90)), 1),
            "recorded_good_per_day": round(recorded * scale, 1),
            "simulated_good_per_day": round(float(good.mean()) * scale, 1),
            "error": round(error, 4), "within_tolerance": abs(error) <= tolerance,
            "tolerance": tolerance, "runs": runs}
