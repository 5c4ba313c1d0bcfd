"""The dashboard's orders page: cancellation risk of open web shop orders, hold offers,
safekeeping stock against capacity, and what holds saved in last season's replay.

:func:`orders_view` reads the newest hold plan stored by ``peakline plant holds`` (scored open
orders with the offers, the safekeeping stock per day and its summary); nothing is fitted on a
page request. ``festival_name`` is the peak the plan was built around as the countdown names it
(``festival`` for a plan stored before plans recorded their peak).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from plant.calendar import festival_label
from plant.dashboard.frames import frame_records, json_safe
from plant.dashboard.views import DashboardStore

__all__ = ["RISK_BINS", "orders_view"]

#: risk bins of the distribution, as fractions
RISK_BINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)


def _histogram(offers: pd.DataFrame) -> list[dict[str, Any]]:
    p = offers["p_cancel"].to_numpy(dtype=float) if len(offers) else np.zeros(0)
    counts, _ = np.histogram(np.clip(p, 0.0, 1.0), bins=RISK_BINS)
    offered = offers["offer"].to_numpy(dtype=bool) if len(offers) else np.zeros(0, dtype=bool)
    chosen, _ = np.histogram(np.clip(p[offered], 0.0, 1.0), bins=RISK_BINS)
    return [{"risk": f"{lo:.0%}-{hi:.0%}", "orders": int(n), "offered": int(k)}
            for lo, hi, n, k in zip(RISK_BINS[:-1], RISK_BINS[1:], counts, chosen, strict=True)]


def orders_view(store: DashboardStore) -> dict[str, Any]:
    """The newest hold plan for the page, or ``{"plan_id": None}`` when there is none."""
    found = store.latest_hold_plan()
    if found is None:
        return {"plan_id": None, "summary": {}, "festival_name": None, "risk": [],
                "offers": [], "stock": [], "last_season": None}
    meta, offers, stock = found
    chosen = offers[offers["offer"].astype(bool)] if len(offers) else offers
    summary = {k: v for k, v in meta.items() if k not in ("last_season", "id")}
    return json_safe({
        "plan_id": meta.get("plan_id") or meta.get("id"),
        "summary": summary,
        "festival_name": festival_label(str(meta["peak"])) if meta.get("peak") else "festival",
        "risk": _histogram(offers),
        "offers": frame_records(chosen.head(200)),
        "stock": frame_records(stock),
        "last_season": meta.get("last_season"),
    })
