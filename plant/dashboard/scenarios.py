"""The dashboard's scenarios page: the twin's simulations of the newest simulated plan.

:func:`scenarios_view` lists, for the plan simulated last, its baseline and each scenario
(the newest simulation of each name): fill rate overall and per channel, expected cost and its
P10/P90, and the difference to the baseline. :func:`simulation_view` gives one simulation's
finished goods and safekeeping stock over time (P10/P50/P90 across runs) and the line-by-day
Gantt of what its first run ran. Nothing here writes to the store.
"""

from __future__ import annotations

from typing import Any

from plant.dashboard.frames import json_safe

__all__ = ["scenarios_view", "simulation_view"]


def _row(meta: dict[str, Any]) -> dict[str, Any]:
    s = meta.get("summary", {})
    return {"id": meta.get("id"), "scenario": meta.get("scenario", "baseline"),
            "runs": s.get("runs"), "seed": s.get("seed"), "fill_rate": s.get("fill_rate"),
            "fill_rate_by_channel": s.get("fill_rate_by_channel", {}),
            "cost": s.get("cost"), "cost_p10": s.get("cost_p10"), "cost_p90": s.get("cost_p90"),
            "boxes_short": (s.get("boxes_short") or {}).get("mean"),
            "created_at": meta.get("created_at")}


def scenarios_view(store: Any, limit: int = 200) -> dict[str, Any] | None:
    """The newest simulated plan's baseline and scenarios, compared; None before any."""
    sims = store.simulations(limit)
    if not sims:
        return None
    plan_id = sims[0].get("plan_id")
    newest: dict[str, dict[str, Any]] = {}
    for m in sims:  # newest first: keep the first of each scenario name
        if m.get("plan_id") == plan_id:
            newest.setdefault(str(m.get("scenario", "baseline")), m)
    rows = [_row(m) for m in newest.values()]
    base = next((r for r in rows if r["scenario"] == "baseline"), None)
    for r in rows:
        if base is not None and r["fill_rate"] is not None and r["cost"] is not None:
            r["fill_rate_delta"] = r["fill_rate"] - base["fill_rate"]
            r["cost_delta"] = r["cost"] - base["cost"]
    rows.sort(key=lambda r: (r["scenario"] != "baseline", r["scenario"]))
    return json_safe({"plan_id": plan_id, "baseline": base is not None, "rows": rows,
                      "selected": rows[0]["id"] if rows else None})


def simulation_view(store: Any, sim_id: str) -> dict[str, Any] | None:
    """Stock over time and the Gantt of one simulation; None if there is no such id."""
    found = store.simulation(sim_id)
    if found is None:
        return None
    meta, _ = found
    return json_safe({"id": meta.get("id"), "scenario": meta.get("scenario"),
                      "plan_id": meta.get("plan_id"), "summary": meta.get("summary", {}),
                      "lines": meta.get("lines", {}), "stock": meta.get("stock", {}),
                      "gantt": meta.get("gantt", {})})
