"""Hand-worked planning cases: ship-by cutoffs per channel, too late to make, the exceptions list.

Mid-Autumn 2026 is on 25 September. With the default settings the season is the 100 days
before it, and goods must leave the factory 28 days before it for brand OEM customers
(cutoff 28 August), 21 days before for retail (4 September); e-commerce ships as orders come.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.plans import exceptions
from plant.planning.production import production_plan, requirements

D = dt.date
START = D(2026, 8, 1)
FESTIVAL = D(2026, 9, 25)


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return HolidayCalendar.default()


def _skus() -> pd.DataFrame:
    # price 100, cost 40, salvage 10: the newsvendor ratio is 60 / 90 = 2/3 for every SKU
    return pd.DataFrame([
        {"sku": sku, "channel": channel, "price": 100.0, "unit_cost": 40.0,
         "salvage_value": 10.0, "shelf_life_days": 60}
        for sku, channel in (("O", "oem"), ("R", "retail"), ("E", "ecommerce"))])


def _fc(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sku", "ds", "net_p10", "net_p50", "net_p90"])


def _no_orders() -> pd.DataFrame:
    return pd.DataFrame(columns=["order_id", "sku", "order_date", "due_date", "qty", "channel"])


def test_ship_by_cutoffs_per_channel(cal: HolidayCalendar) -> None:
    fc = _fc([
        ("O", "2026-08-10", 80, 100, 140),   # OEM, in season, before its cutoff
        ("O", "2026-09-01", 80, 100, 140),   # OEM, after its cutoff: 7 days after ordering
        ("R", "2026-09-04", 80, 100, 140),   # retail, on its cutoff day
        ("E", "2026-09-20", 80, 100, 140),   # e-commerce: the day it is ordered
        ("R", "2026-09-27", 80, 100, 140),   # after the festival: P50, 7 days later
        ("E", "2026-10-01", -5, -3, -1),     # net below zero: nothing to make
    ])
    oo = pd.DataFrame([{"order_id": "7", "sku": "R", "order_date": "2026-07-01",
                        "due_date": "2026-07-25", "qty": 40.0, "channel": "retail"}])
    req = requirements(fc, _skus(), oo, START, cal, PlanConfig())
    got = {(r.sku, r.need_date.date().isoformat(), r.source): round(r.qty, 3)
           for r in req.itertuples(index=False)}
    # in season each SKU is planned at its critical ratio 2/3: z = 0.430727, the upper
    # spread 40 / 1.281552 -> 100 + 31.2121 * 0.430727 = 113.444
    assert got == {
        ("O", "2026-08-28", "forecast"): 113.444,
        ("O", "2026-09-08", "forecast"): 113.444,
        ("R", "2026-09-04", "forecast"): 113.444,
        ("E", "2026-09-20", "forecast"): 113.444,
        ("R", "2026-10-04", "forecast"): 100.0,
        ("R", "2026-08-01", "open_order"): 40.0,  # overdue: needed now, not in the past
    }
    # a fixed service level replaces the ratio; other channels' cutoffs are configurable
    cfg = PlanConfig(service_level=0.5, ship_by_days={"oem": 40, "retail": 21, "ecommerce": 2})
    req = requirements(fc.iloc[:1], _skus(), _no_orders(), START, cal, cfg)
    assert req["need_date"].tolist() == [pd.Timestamp("2026-08-16")]
    assert req["qty"].tolist() == [pytest.approx(100.0)]


def _one_line() -> pd.DataFrame:
    return pd.DataFrame([{"line": "L1", "units_per_hour": 10, "hours_per_shift": 10,
                          "shifts_per_day": 1, "days_per_week": 7}])


def test_an_order_due_today_is_too_late_to_make(cal: HolidayCalendar) -> None:
    oo = pd.DataFrame([{"order_id": "1", "sku": "R", "order_date": "2026-07-20",
                        "due_date": "2026-08-01", "qty": 100.0, "channel": "retail"},
                       {"order_id": "2", "sku": "R", "order_date": "2026-07-20",
                        "due_date": "2026-08-03", "qty": 150.0, "channel": "retail"}])
    inv = pd.DataFrame([{"item": "R", "kind": "sku", "on_hand": 50.0}])
    plan, _expl, short = production_plan(_fc([]), _skus(), oo, inv, _one_line(), START, cal,
                                         0.0)
    # 50 on hand serve the first order; its other 50 are due today: nothing can be made for
    # them. The second order: 2 days of 100 before its due date, 150 fits.
    assert short.to_dict("records") == [{
        "sku": "R", "need_date": pd.Timestamp("2026-08-01"), "source": "open_order",
        "short_units": 50.0, "kind": "too_late_to_make", "reason": "too late to make"}]
    assert plan["qty_start"].sum() == pytest.approx(150.0)
    assert plan["date"].max() == pd.Timestamp("2026-08-02")


def test_a_box_is_never_made_earlier_than_its_shelf_life_allows(cal: HolidayCalendar) -> None:
    """Shelf life 60 days, at least 50% of it left on delivery: a box may be 30 days old.

    An order of 5,000 due on 11 September, one line making 100 a day from 1 August: the box
    made on day d is (11 Sep - d) days old, so the earliest day is 12 August (30 days) and the
    latest 10 September. 30 days x 100 = 3,000 fit; 2,000 are short for the line's capacity.
    One day earlier (11 August, 31 days old) would be a box a customer refuses."""
    oo = pd.DataFrame([{"order_id": "1", "sku": "R", "order_date": "2026-07-20",
                        "due_date": "2026-09-11", "qty": 5000.0, "channel": "retail"}])
    plan, _expl, short = production_plan(_fc([]), _skus(), oo, pd.DataFrame(
        columns=["item", "kind", "on_hand"]), _one_line(), START, cal, 0.0,
        PlanConfig(min_remaining_shelf=0.5))
    assert plan["date"].min() == pd.Timestamp("2026-08-12")
    assert plan["date"].max() == pd.Timestamp("2026-09-10")
    assert plan["qty_start"].sum() == pytest.approx(3000.0)
    assert short["short_units"].sum() == pytest.approx(2000.0)


def test_exceptions_hand_worked_worst_first() -> None:
    skus = pd.DataFrame([{"sku": "A", "price": 10.0}, {"sku": "B", "price": 20.0}])
    shortfalls = pd.DataFrame([
        {"sku": "A", "need_date": pd.Timestamp("2026-09-10"), "source": "forecast",
         "short_units": 30.0, "kind": "capacity_shortfall", "reason": "line capacity"},
        {"sku": "B", "need_date": pd.Timestamp("2026-08-02"), "source": "open_order",
         "short_units": 5.0, "kind": "too_late_to_make", "reason": "too late to make"},
    ])
    plan = pd.DataFrame({"sku": ["A", "A", "B", "A"], "date": pd.to_datetime(
        ["2026-08-03", "2026-08-05", "2026-08-05", "2026-08-10"]),
        "qty_start": [100.0, 100.0, 50.0, 100.0]})
    bom = pd.DataFrame({"sku": ["A", "B", "A"], "item": ["box", "box", "paste"],
                        "qty_per_unit": [1.0, 1.0, 0.5]})
    inventory = pd.DataFrame([{"item": "box", "on_hand": 150.0},
                              {"item": "paste", "on_hand": 1000.0}])
    orders = pd.DataFrame([
        {"item": "box", "kind": "packaging", "unit": "pcs", "qty": 500.0, "lead_time_days": 10,
         "need_date": D(2026, 8, 4), "order_by": D(2026, 7, 25), "late_days": 7,
         "earliest_arrival": D(2026, 8, 8)},
        {"item": "paste", "kind": "material", "unit": "kg", "qty": 75.0, "lead_time_days": 5,
         "need_date": D(2026, 8, 9), "order_by": D(2026, 8, 4), "late_days": 0,
         "earliest_arrival": D(2026, 8, 6)},
        {"item": "paste", "kind": "material", "unit": "kg", "qty": 75.0, "lead_time_days": 5,
         "need_date": D(2026, 9, 9), "order_by": D(2026, 9, 4), "late_days": 0,
         "earliest_arrival": D(2026, 8, 6)},
    ])
    out = exceptions(shortfalls, orders, plan, bom, skus, inventory, START, FESTIVAL)
    rows = out[["kind", "what", "date", "qty", "value_at_risk"]].to_dict("records")
    # boxes: 150 on hand; use 100 (08-03), 150 (08-05), 100 (08-10) -> run out on 08-05. The
    # order arrives 08-08 at the earliest: the 100 A and 50 B planned on 08-05 (from the need
    # date 08-04 to the arrival) cannot be packed: 100 x 10 + 50 x 20 = 2,000 at risk.
    assert rows == [
        {"kind": "late_order_by", "what": "box", "date": D(2026, 7, 25), "qty": 500.0,
         "value_at_risk": 2000.0},
        {"kind": "capacity_shortfall", "what": "A", "date": D(2026, 9, 10), "qty": 30,
         "value_at_risk": 300.0},
        {"kind": "too_late_to_make", "what": "B", "date": D(2026, 8, 2), "qty": 5,
         "value_at_risk": 100.0},
        # due in 3 days (within a week); the order due in September is not listed
        {"kind": "order_due_soon", "what": "paste", "date": D(2026, 8, 4), "qty": 75.0,
         "value_at_risk": 0.0},
    ]
    box = out.iloc[0]["detail"]
    assert "runs out 2026-08-05 before the festival" in box and "150 boxes at risk" in box
