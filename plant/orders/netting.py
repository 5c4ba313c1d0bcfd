"""Net demand with holds: the cancellations that recorded holds avoid go back into net demand.

A held order is firm: it will not be cancelled. The forecast's cancellations include what such
orders would have cancelled, so :func:`net_with_holds` takes the hold effect stored by
``peakline plant holds`` (per SKU and original delivery day, the held boxes and the expected
cancellations they avoid: each held order's risk when placed times its boxes), caps it at the
forecast cancellations of that SKU and day, and adds it back to every net quantile. Its
explanation says how much of the net demand in the festival window (the hold plan's season)
comes from holds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from plant.peaks import DEFAULT_SEASON_DAYS

__all__ = ["net_with_holds"]

_NET = ("net_p10", "net_p50", "net_p90", "net_mean")


def net_with_holds(fc: pd.DataFrame, effect: pd.DataFrame, festival: dt.date | None = None,
                   window_days: int = DEFAULT_SEASON_DAYS) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``fc`` with ``cancel_avoided`` and the net quantiles raised by it; the explanation."""
    out = fc.copy()
    eff = effect[["sku", "ds", "cancel_avoided", "held_boxes"]].copy()
    eff["ds"] = pd.to_datetime(eff["ds"])
    out["ds"] = pd.to_datetime(out["ds"])
    out = out.merge(eff, on=["sku", "ds"], how="left")
    out[["cancel_avoided", "held_boxes"]] = out[["cancel_avoided", "held_boxes"]].fillna(0.0)
    out["cancel_avoided"] = out["cancel_avoided"].clip(upper=out["cancel_p50"].clip(lower=0))
    for col in _NET:
        out[col] = out[col] + out["cancel_avoided"]
    window = out
    if festival is not None:
        fest = pd.Timestamp(festival)
        window = out[(out["ds"] > fest - pd.Timedelta(days=window_days)) & (out["ds"] <= fest)]
    net = float(window["net_p50"].sum())
    avoided = float(window["cancel_avoided"].sum())
    explanation = {
        "held_boxes": round(float(window["held_boxes"].sum()), 1),
        "cancel_avoided_boxes": round(avoided, 1),
        "net_p50_boxes": round(net, 1),
        "net_from_holds_pct": round(100 * avoided / net, 2) if net > 0 else 0.0,
        "window": ("the forecast horizon" if festival is None else
                   f"{window_days} days up to {festival.isoformat()}"),
    }
    return out.drop(columns="held_boxes"), explanation
