"""Held web shop orders in the production plan: due on the held day, made in their window."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pytest

from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.holds import held_orders, safekeeping_exceptions, safekeeping_from_plan
from plant.planning.plans import exceptions
from plant.planning.production import production_plan

D = dt.date

SKUS = pd.DataFrame([{"sku": "A", "flavour": "lotus", "packaging": "gift_box_4",
                      "channel": "ecommerce", "price": 20.0, "unit_cost": 8.0,
                      "salvage_value": 2.0, "shelf_life_days": 20, "units_per_case": 10}])
LINES = pd.DataFrame([{"line": "L1", "units_per_hour": 10, "hours_per_shift": 10,
                       "shifts_per_day": 1, "days_per_week": 7}])
NO_STOCK = pd.DataFrame(columns=["item", "kind", "on_hand", "as_of"])
NO_ORDERS = pd.DataFrame(columns=["order_id", "sku", "order_date", "due_date", "qty", "channel"])
NO_FORECAST = pd.DataFrame(columns=["sku", "ds", "net_p10", "net_p50", "net_p90"])


def _holds() -> pd.DataFrame:
    return pd.DataFrame([
        ("H1", "A", 250.0, "2026-09-20", "2026-09-29"),
        ("H2", "A", 800.0, "2026-09-21", "2026-09-27"),
        ("H3", "A", 10.0, "2026-09-20", "2026-10-20"),   # too late for its shelf life
        ("H4", "A", 5.0, "2026-08-30", "2026-09-01"),    # its last production day has passed
        ("H5", "A", 7.0, "2026-08-20", "2026-08-25"),    # delivered before the plan: done
    ], columns=["order_id", "sku", "qty", "delivery_date", "held_until"])


@pytest.fixture(scope="module")
def planned() -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    return production_plan(NO_FORECAST, SKUS, NO_ORDERS, NO_STOCK, LINES, D(2026, 9, 1),
                           HolidayCalendar.default(), 0.0, PlanConfig(min_remaining_shelf=0.5),
                           holds=_holds())


def test_holds_are_made_in_their_window_before_the_held_day(
        planned: tuple[pd.DataFrame, dict, pd.DataFrame]) -> None:
    """Worked by hand. Mid-Autumn 2026 is 09-25, so the last production day for the festival
    is the eve, 09-24. Shelf life 20 days, half of it left on delivery: a box may be at most
    10 days old when delivered. The line makes 100 boxes a day, no rejects, no stock.

    - H1, 250 boxes held until 09-29 (originally 09-20): made 09-19 (29 - 10) .. 09-24; latest
      need first: 100 on 09-24, 100 on 09-23, 50 on 09-22. Planned on its original date it
      would be made by 09-19; planned too early it would start before 09-19.
    - H2, 800 boxes held until 09-27: window 09-17 .. 09-24; what H1 left: 50 on 09-22 and 100
      a day 09-21 .. 09-17 = 550; 250 boxes short (line capacity).
    - H3, held until 10-20: it would have to be made on 10-10 or later but the eve is 09-24:
      impossible, an exception. H4, held until 09-01 (its last day to make, 08-31, has passed
      when the plan starts on 09-01): an exception. H5 was delivered before the plan.
    """
    plan, expl, short = planned
    assert set(plan["source"]) == {"hold"}
    made = plan.groupby(["need_date", "date"])["qty_start"].sum()
    h1 = made.loc[pd.Timestamp("2026-09-29")]
    assert h1.to_dict() == {pd.Timestamp("2026-09-22"): 50.0, pd.Timestamp("2026-09-23"): 100.0,
                            pd.Timestamp("2026-09-24"): 100.0}
    h2 = made.loc[pd.Timestamp("2026-09-27")]
    assert h2.sum() == 550.0
    assert h2.index.min() == pd.Timestamp("2026-09-17")
    assert h2.index.max() == pd.Timestamp("2026-09-22")
    assert plan.groupby("date")["qty_start"].sum().max() <= 100.0
    by_need = short.set_index(pd.to_datetime(short["need_date"]))
    assert by_need.loc["2026-09-27", "short_units"] == 250.0
    assert by_need.loc["2026-09-27", "reason"] == "line capacity"
    assert by_need.loc["2026-10-20", "reason"].startswith("beyond shelf life")
    assert by_need.loc["2026-10-20", "short_units"] == 10.0
    assert by_need.loc["2026-09-01", "reason"].startswith("too late to make")
    assert by_need["kind"].to_dict() == {
        pd.Timestamp("2026-09-27"): "capacity_shortfall",
        pd.Timestamp("2026-10-20"): "hold_beyond_shelf_life",
        pd.Timestamp("2026-09-01"): "too_late_to_make"}
    assert len(short) == 3  # H5 is not planned at all
    assert expl["holds"]["held_boxes"] == 1065.0
    assert expl["holds"]["impossible_boxes"] == 15.0
    exc = exceptions(short, pd.DataFrame(), plan, pd.DataFrame(columns=["sku", "item",
                     "qty_per_unit"]), SKUS, NO_STOCK, D(2026, 9, 1), D(2026, 9, 25))
    assert sorted(exc["kind"]) == ["capacity_shortfall", "hold_beyond_shelf_life",
                                   "too_late_to_make"]
    assert exc["value_at_risk"].tolist() == [5000.0, 200.0, 100.0]  # boxes x 20.0, worst first


def test_exceptions_take_their_kind_from_the_shortfall_not_from_its_wording() -> None:
    """The kind is set where the shortfall is found; rewording a reason changes nothing."""
    short = pd.DataFrame([
        ("A", pd.Timestamp("2026-10-20"), "hold", 10.0, "hold_beyond_shelf_life",
         "made too early to keep half of its shelf life"),
        ("A", pd.Timestamp("2026-09-27"), "hold", 5.0, "capacity_shortfall", "lines full"),
        ("A", pd.Timestamp("2026-09-01"), "hold", 2.0, "too_late_to_make",
         "beyond shelf life is not why"),
    ], columns=["sku", "need_date", "source", "short_units", "kind", "reason"])
    exc = exceptions(short, pd.DataFrame(), pd.DataFrame(columns=["sku", "date", "qty_start"]),
                     pd.DataFrame(columns=["sku", "item", "qty_per_unit"]), SKUS, NO_STOCK,
                     D(2026, 9, 1), D(2026, 9, 25))
    assert exc[["kind", "qty"]].values.tolist() == [["hold_beyond_shelf_life", 10],
                                                    ["capacity_shortfall", 5],
                                                    ["too_late_to_make", 2]]
    assert "made too early" in exc["detail"].iloc[0]


def test_safekeeping_stock_from_the_plan_against_capacity(
        planned: tuple[pd.DataFrame, dict, pd.DataFrame]) -> None:
    """Worked by hand from the plan above: a box waits from the day it is made until the day
    before its delivery. H1 (to 09-28): 50 from 09-22, 150 from 09-23, 250 from 09-24. H2 (to
    09-26): 100 more each day from 09-17 to 09-21, 50 more on 09-22: 550 from 09-22. Together
    100, 200, 300, 400, 500 (09-17..21), 600, 700, 800, 800, 800 (09-22..26), 250, 250.
    Capacity 700 (from the hold plan, no offers): over on 09-24..26 by 100 boxes (critical,
    100 x 20.0 at risk); 09-23 at 700 is above 90% (warning)."""
    plan, _, _ = planned
    hold_stock = pd.DataFrame({"day": pd.to_datetime(["2026-09-24"]), "held_boxes": [0],
                               "offered_boxes": [0], "expected_boxes": [0], "capacity": [700]})
    stock = safekeeping_from_plan(plan, hold_stock).set_index("day")
    assert stock["held_boxes"].tolist() == [100, 200, 300, 400, 500, 600, 700, 800, 800, 800,
                                            250, 250]
    assert stock.index[0] == pd.Timestamp("2026-09-17")
    assert stock.index[-1] == pd.Timestamp("2026-09-28")
    exc = safekeeping_exceptions(stock.reset_index(), SKUS, plan)
    critical = exc[exc["kind"] == "safekeeping_over_capacity"]
    assert critical["date"].tolist() == [D(2026, 9, 24), D(2026, 9, 25), D(2026, 9, 26)]
    assert critical["qty"].tolist() == [100.0] * 3
    assert critical["value_at_risk"].tolist() == [2000.0] * 3
    assert exc.loc[exc["kind"] == "safekeeping_nearly_full", "date"].tolist() == [
        D(2026, 9, 23)]
    assert safekeeping_from_plan(plan, pd.DataFrame()).empty  # no hold plan, no capacity


def test_accepted_offers_count_on_top_of_the_held_boxes(
        planned: tuple[pd.DataFrame, dict, pd.DataFrame]) -> None:
    """The hold plan expects 60 of 120 offered boxes accepted on 09-27: 250 + 60 = 310."""
    plan, _, _ = planned
    hold_stock = pd.DataFrame({"day": pd.to_datetime(["2026-09-27"]), "held_boxes": [250],
                               "offered_boxes": [120], "expected_boxes": [310],
                               "capacity": [5000]})
    stock = safekeeping_from_plan(plan, hold_stock).set_index("day")
    assert stock.loc["2026-09-27", ["held_boxes", "offered_boxes", "expected_boxes"]].tolist() \
        == [250, 120, 310]


def test_holds_move_the_forecast_s_avoided_cancellations_to_the_held_day() -> None:
    """The forecast netted 30 avoided cancellations back in on the original day (09-20); with
    the holds planned on their held day they are taken out there: 100 - 30 = 70 remain."""
    fc = pd.DataFrame({"sku": ["A"], "ds": pd.to_datetime(["2026-09-20"]), "net_p10": [100.0],
                       "net_p50": [100.0], "net_p90": [100.0], "cancel_avoided": [30.0]})
    holds = _holds().iloc[[0]]
    plan, _, _ = production_plan(fc, SKUS, NO_ORDERS, NO_STOCK, LINES, D(2026, 9, 1),
                                 HolidayCalendar.default(), 0.0, PlanConfig(), holds=holds)
    assert plan.groupby("source")["qty_start"].sum().to_dict() == {"forecast": 70.0,
                                                                   "hold": 250.0}
    without, _, _ = production_plan(fc, SKUS, NO_ORDERS, NO_STOCK, LINES, D(2026, 9, 1),
                                    HolidayCalendar.default(), 0.0, PlanConfig())
    assert without["qty_start"].sum() == 100.0


def test_held_orders_are_the_held_not_cancelled_lines() -> None:
    lines = pd.DataFrame({"order_id": ["1", "2", "3"], "customer": ["c"] * 3,
                          "placed_at": ["2026-09-01T10:00"] * 3, "sku": ["A"] * 3,
                          "qty": [2, 3, 4], "unit_price": [20.0] * 3, "region": ["n"] * 3,
                          "delivery_date": ["2026-09-20"] * 3,
                          "cancelled_at": ["", "", "2026-09-02T10:00"],
                          "held_until": ["2026-09-29", "", "2026-09-29"]})
    assert held_orders(lines)["order_id"].tolist() == ["1"]
    assert held_orders(lines.iloc[:0]).empty


def test_planning_does_not_load_the_cancellation_model() -> None:
    """`peakline plant plan` reads the recorded holds but scores no order: scikit-learn (the
    cancellation model's, seconds to import) stays unloaded until `plant holds` needs it."""
    code = ("import sys\nimport plant.planning.run, plant.planning.plans\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
