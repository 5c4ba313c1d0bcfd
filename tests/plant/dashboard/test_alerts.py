"""Alert rules on their own: reject-rate jumps, missed rejects, offline nodes, run-outs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from plant.dashboard.alerts import (
    exception_alerts,
    line_alerts,
    next_festival,
    plan_alerts,
    sort_alerts,
)
from plant.dashboard.config import DashboardConfig

CONFIG = DashboardConfig()


def node(items: int, rate: float | None, online: bool = True, missed: int = 0) -> dict[str, Any]:
    return {
        "line": "line1",
        "node": "cam1",
        "online": online,
        "age_s": 3.0,
        "items": items,
        "reject_rate": rate,
        "missed_rejects": missed,
        "rejects_by_defect": {"crack": 9, "burnt_spot": 2},
    }


def alerts_for(live: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    return line_alerts({"nodes": [live]}, {"line1/cam1": base}, CONFIG)


def test_reject_rate_jump_needs_both_ratio_and_margin_and_enough_items() -> None:
    base = {"items": 3000, "reject_rate": 0.02}
    jump = alerts_for(node(200, 0.09), base)
    assert [a["kind"] for a in jump] == ["reject_jump"]
    assert "9.0%" in jump[0]["title"] and "crack 9" in jump[0]["detail"]
    assert alerts_for(node(200, 0.045), base) == []  # x2.25 but only 2.5 points up
    assert alerts_for(node(10, 0.5), base) == []  # too few items to judge
    assert alerts_for(node(200, 0.04), {"items": 3000, "reject_rate": 0.0}) != []


def test_offline_and_missed_rejects() -> None:
    offline = alerts_for(node(0, None, online=False), {})
    assert offline[0]["kind"] == "offline" and offline[0]["severity"] == "critical"
    missed = alerts_for(node(100, 0.01, missed=3), {"items": 2000, "reject_rate": 0.01})
    assert [a["kind"] for a in missed] == ["missed_rejects"]


def test_drift_alert_names_the_fix() -> None:
    live = {**node(300, 0.02), "drift_alert": True, "estimated_frr": 0.045, "frr_band": 0.03}
    drift = alerts_for(live, {"items": 3000, "reject_rate": 0.02})
    assert [a["kind"] for a in drift] == ["drift"]
    assert "4.5%" in drift[0]["title"] and "calibrate --line" in drift[0]["detail"]
    assert alerts_for({**live, "drift_alert": False}, {"items": 3000, "reject_rate": 0.02}) == []


def test_next_festival_is_the_coming_mid_autumn() -> None:
    assert next_festival(dt.date(2026, 8, 1)) == {"date": "2026-09-25", "name": "Mid-Autumn"}
    assert next_festival(dt.date(2026, 9, 26)) == {"date": "2027-09-15", "name": "Mid-Autumn"}


def test_plan_alerts_runout_shortfall_and_overdue() -> None:
    table = {
        "columns": ["item", "stockout_date", "shortfall", "order_by"],
        "rows": [
            {
                "item": "salted_yolk",
                "stockout_date": "2026-09-10",
                "shortfall": 0,
                "order_by": "2026-08-20",
            },
            {
                "item": "gift_box_red",
                "stockout_date": "2026-10-30",
                "shortfall": 1200.0,
                "order_by": "2026-07-28",
            },
            {"item": "flour", "stockout_date": None, "shortfall": 0, "order_by": "2026-09-01"},
        ],
        "marks": [{"order_by": "ok"}, {"order_by": "overdue"}, {"order_by": "ok"}],
    }
    plan = {"kind": "purchases", "table": table}
    found = sort_alerts(plan_alerts(plan, {"date": "2026-09-25", "name": "Mid-Autumn"}))
    titles = [a["title"] for a in found]
    assert titles == [
        "salted_yolk runs out 2026-09-10",
        "gift_box_red short by 1,200",
        "Order gift_box_red now",
    ]
    assert [a["severity"] for a in found] == ["critical", "critical", "warning"]
    assert plan_alerts(None, None) == []


def test_planner_exceptions_capped_worst_first() -> None:
    excs = [
        {
            "kind": "late_order_by",
            "what": f"item{i}",
            "value_at_risk": 1000.0 - i,
            "detail": "runs out 2026-08-06 before the festival",
        }
        for i in range(9)
    ]
    def plan(rows: list[dict[str, object]]) -> dict[str, object]:
        return {"kind": "exceptions", "table": {"columns": ["kind", "what"], "rows": rows}}

    found = exception_alerts(plan(excs))
    assert len(found) == 7
    assert found[0]["title"] == "item0: late order by (1,000 at risk)"
    assert found[-1]["title"] == "3 more exceptions in the plans"
    assert exception_alerts(plan([])) == [] and exception_alerts(None) == []
