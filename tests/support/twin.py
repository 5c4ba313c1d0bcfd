"""Small hand-made factories for the twin's tests: one or two lines, two SKUs, one material."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.twin.config import TwinConfig
from plant.twin.measure import LineBehaviour, beta_params
from plant.twin.world import World, build_world

START = dt.date(2026, 8, 3)  # a Monday
DAYS = 21


def steady(reject: float = 0.05) -> LineBehaviour:
    """A line without luck: full speed, a fixed reject share, no breakdowns."""
    a, b = beta_params(reject, 1e-7)
    return LineBehaviour(0.0, reject, a, b, 1e9, 1.0, "test")


def tables(lines: int = 1, flour: float = 1e9) -> dict[str, pd.DataFrame]:
    skus = pd.DataFrame([
        {"sku": "LOT-GB4-OEM01", "flavour": "lotus", "packaging": "gift_box_4",
         "channel": "oem", "price": 60.0, "unit_cost": 30.0, "salvage_value": 9.0,
         "shelf_life_days": 60, "units_per_case": 12},
        {"sku": "RBN-GB4-ECO01", "flavour": "red_bean", "packaging": "gift_box_4",
         "channel": "ecommerce", "price": 90.0, "unit_cost": 30.0, "salvage_value": 9.0,
         "shelf_life_days": 60, "units_per_case": 12},
    ])
    return {
        "skus": skus,
        "materials": pd.DataFrame([{"item": "flour", "kind": "material", "unit": "kg",
                                    "lead_time_days": 5, "moq": 0.0, "pack_multiple": 1.0,
                                    "unit_cost": 4.0, "shelf_life_days": 365}]),
        "bom": pd.DataFrame([{"sku": s, "item": "flour", "qty_per_unit": 0.1}
                             for s in skus["sku"]]),
        "lines": pd.DataFrame([{"line": f"L{i + 1}", "units_per_hour": 100.0,
                                "hours_per_shift": 8.0, "shifts_per_day": 1,
                                "days_per_week": 5} for i in range(lines)]),
        "inventory": pd.DataFrame([{"item": "flour", "kind": "material", "on_hand": flour,
                                    "as_of": START}]),
        "open_orders": pd.DataFrame(columns=["order_id", "sku", "order_date", "due_date",
                                             "qty", "channel"]),
    }


def forecast(p50: float = 0.0, spread: float = 0.0, days: int = DAYS) -> pd.DataFrame:
    rows = [{"sku": s, "ds": pd.Timestamp(START + dt.timedelta(days=d)),
             "net_p10": max(0.0, p50 - spread), "net_p50": p50, "net_p90": p50 + spread}
            for s in ("LOT-GB4-OEM01", "RBN-GB4-ECO01") for d in range(days)]
    return pd.DataFrame(rows)


def plan(rows: list[tuple[str, int, str, float]]) -> pd.DataFrame:
    """Production rows (line, day, sku, boxes to start) in running order."""
    return pd.DataFrame([{"line": ln, "date": pd.Timestamp(START + dt.timedelta(days=d)),
                          "need_date": pd.Timestamp(START + dt.timedelta(days=d + 1)),
                          "sku": s, "qty_start": q, "seq": i}
                         for i, (ln, d, s, q) in enumerate(rows)])


def world(rows: list[tuple[str, int, str, float]], *, data: dict[str, pd.DataFrame] | None = None,
          fc: pd.DataFrame | None = None, purchases: pd.DataFrame | None = None,
          behaviour: dict[str, LineBehaviour] | None = None, **cfg: Any) -> World:
    data = data or tables()
    lines = [str(x) for x in data["lines"]["line"]]
    return build_world(plan(rows), purchases if purchases is not None else pd.DataFrame(),
                       fc if fc is not None else forecast(), data,
                       behaviour or {ln: steady() for ln in lines}, HolidayCalendar.default(),
                       PlanConfig(), TwinConfig(**cfg))
