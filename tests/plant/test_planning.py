"""The planning rules against hand-computed cases, and the production scheduler's limits."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.inventory import material_orders
from plant.planning.production import assign_lines, production_plan
from plant.planning.rules import (
    critical_ratio,
    daily_capacity,
    expected_leftover,
    explode_bom,
    gross_up,
    newsvendor_quantity,
    order_by,
    quantile_from_p,
    round_order,
    safety_stock,
)

D = dt.date


def test_newsvendor_hand_case() -> None:
    # price 100, cost 40, salvage 10: underage 60, overage 30 -> ratio 60 / 90 = 2/3
    ratio = critical_ratio(100.0, 40.0, 10.0)
    assert ratio == pytest.approx(2 / 3)
    # normal demand mean 1000, sd 200: z(2/3) = 0.430727 -> Q = 1086.15
    assert newsvendor_quantity(1000.0, 200.0, ratio) == pytest.approx(1086.145, abs=0.01)
    # E[(Q - D)+] = sd (z Phi(z) + phi(z)) = 200 (0.430727 * 0.666667 + 0.363590) = 130.15
    assert expected_leftover(1086.145, 1000.0, 200.0) == pytest.approx(130.15, abs=0.05)
    assert newsvendor_quantity(50.0, 0.0, 0.9) == 50.0
    with pytest.raises(ValueError):
        critical_ratio(10.0, 5.0, 12.0)


@pytest.mark.parametrize(("qty", "moq", "multiple", "expected"), [
    (0.0, 500, 25, 0.0),
    (1.0, 500, 25, 500.0),
    (510.0, 500, 25, 525.0),
    (1000.0, 500, 25, 1000.0),
    (1000.01, 500, 25, 1025.0),
    (3.3, 0, 0, 3.3),
    (7.0, 5, 4, 8.0),
])
def test_round_order_moq_and_pack_multiple(qty: float, moq: float, multiple: float,
                                          expected: float) -> None:
    assert round_order(qty, moq, multiple) == pytest.approx(expected)


def test_order_by_is_need_date_minus_lead_time() -> None:
    assert order_by(D(2026, 8, 20), 42) == D(2026, 7, 9)
    assert order_by(D(2026, 8, 20), 0) == D(2026, 8, 20)


def test_bom_explosion() -> None:
    plan = pd.DataFrame({"sku": ["A", "A", "B"], "date": ["d1", "d2", "d1"],
                         "qty": [100.0, 50.0, 10.0]})
    bom = pd.DataFrame({"sku": ["A", "A", "B", "B"], "item": ["paste", "box", "paste", "tin"],
                        "qty_per_unit": [0.3, 1.0, 0.5, 1.0]})
    out = explode_bom(plan, bom).set_index(["item", "date"])["qty"]
    assert out[("paste", "d1")] == pytest.approx(100 * 0.3 + 10 * 0.5)
    assert out[("paste", "d2")] == pytest.approx(15.0)
    assert out[("box", "d1")] == pytest.approx(100.0)
    assert out[("tin", "d1")] == pytest.approx(10.0)
    assert ("tin", "d2") not in out.index


def test_small_rules() -> None:
    assert gross_up(97.0, 0.03) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        gross_up(1.0, 1.0)
    p10, p50, p90 = np.array([80.0]), np.array([100.0]), np.array([140.0])
    assert quantile_from_p(p10, p50, p90, 0.5)[0] == pytest.approx(100.0)
    assert quantile_from_p(p10, p50, p90, 0.9)[0] == pytest.approx(140.0)
    assert quantile_from_p(p10, p50, p90, 0.1)[0] == pytest.approx(80.0)


def test_quantile_from_p_between_and_beyond_the_given_quantiles() -> None:
    """Where the planner uses it: the newsvendor's critical ratio and 0.95, not 0.1/0.5/0.9.

    Normal on each side of the median with the side's own spread: sd_up = (p90 - p50) / z90
    = 40 / 1.281552 = 31.2121, sd_down = 20 / 1.281552 = 15.6061.
    """
    p10, p50, p90 = np.array([80.0, 0.0]), np.array([100.0, 0.0]), np.array([140.0, 0.0])
    # 0.95: z = 1.644854 -> 100 + 31.2121 * 1.644854 = 151.339 (beyond P90)
    assert quantile_from_p(p10, p50, p90, 0.95) == pytest.approx([151.339, 0.0], abs=1e-3)
    # the ratio 2/3 (price 100, cost 40, salvage 10): z = 0.430727 -> 113.444
    assert quantile_from_p(p10, p50, p90, 2 / 3)[0] == pytest.approx(113.444, abs=1e-3)
    # below the median the lower spread counts: z(0.25) = -0.674490 -> 89.474
    assert quantile_from_p(p10, p50, p90, 0.25)[0] == pytest.approx(89.474, abs=1e-3)
    # one level per row, as production passes them (in season / not)
    got = quantile_from_p(p10[:1].repeat(2), p50[:1].repeat(2), p90[:1].repeat(2),
                          np.array([0.95, 0.25]))
    assert got == pytest.approx([151.339, 89.474], abs=1e-3)
    # 0 and 1 are clipped to finite quantiles, never inf
    assert np.isfinite(quantile_from_p(p10, p50, p90, 1.0)).all()
    assert np.isfinite(quantile_from_p(p10, p50, p90, 0.0)).all()
    # z(0.95) = 1.644854, sd 10 a day, 16 days of lead time -> 1.644854 * 10 * 4
    assert safety_stock(0.95, 10.0, 16) == pytest.approx(65.794, abs=1e-3)


def test_daily_capacity_by_weekday_and_closure() -> None:
    lines = pd.DataFrame([{"line": "L1", "units_per_hour": 100, "hours_per_shift": 8,
                           "shifts_per_day": 2, "days_per_week": 5},
                          {"line": "L2", "units_per_hour": 50, "hours_per_shift": 8,
                           "shifts_per_day": 1, "days_per_week": 6}])
    days = pd.date_range("2026-08-03", periods=7, freq="D")  # Monday..Sunday
    cap = daily_capacity(lines, days, closed={D(2026, 8, 5)})
    assert cap.tolist() == [2000.0, 2000.0, 0.0, 2000.0, 2000.0, 400.0, 0.0]


def _one_sku(shelf: int = 60) -> dict[str, pd.DataFrame]:
    return {
        "skus": pd.DataFrame([{"sku": "A", "flavour": "lotus", "packaging": "gift_box_4",
                               "channel": "retail", "price": 100.0, "unit_cost": 40.0,
                               "salvage_value": 10.0, "shelf_life_days": shelf,
                               "units_per_case": 10}]),
        "lines": pd.DataFrame([{"line": "L1", "units_per_hour": 10, "hours_per_shift": 10,
                                "shifts_per_day": 1, "days_per_week": 7}]),
        "inventory": pd.DataFrame([{"item": "A", "kind": "sku", "on_hand": 50.0,
                                    "as_of": "2026-07-31"}]),
    }


def _open(qty: float, due: str) -> pd.DataFrame:
    return pd.DataFrame([{"order_id": "1", "sku": "A", "order_date": "2026-07-20",
                          "due_date": due, "qty": qty, "channel": "retail"}])


def _no_forecast() -> pd.DataFrame:
    return pd.DataFrame(columns=["sku", "ds", "net_p10", "net_p50", "net_p90"])


def test_capacity_clipping_puts_the_rest_on_the_shortfall_list() -> None:
    m = _one_sku()
    cal = HolidayCalendar.default()
    # 100 units a day, 10 days before the due date, 50 on hand, no rejects: at most 1,050
    plan, expl, short = production_plan(_no_forecast(), m["skus"], _open(1500, "2026-08-11"),
                                        m["inventory"], m["lines"], D(2026, 8, 1), cal, 0.0)
    assert plan["qty_start"].sum() == pytest.approx(1000.0)
    assert plan["date"].max() == pd.Timestamp("2026-08-10")
    assert plan.groupby("date")["qty_start"].sum().max() <= 100.0 + 1e-9
    assert short["short_units"].sum() == pytest.approx(450.0)
    assert short["reason"].tolist() == ["line capacity"]
    assert short["kind"].tolist() == ["capacity_shortfall"]
    assert expl["from_stock_units"] == 50.0
    assert "DEFAULT" not in expl["reject_rate_source"]


def test_reject_rate_default_is_said_and_shelf_life_limits_build_ahead() -> None:
    # at least half of an 8-day shelf life left on 21 August: made at most 4 days before it
    m = _one_sku(shelf=8)
    cal = HolidayCalendar.default()
    plan, expl, short = production_plan(_no_forecast(), m["skus"], _open(1050, "2026-08-21"),
                                        m["inventory"], m["lines"], D(2026, 8, 1), cal, None,
                                        PlanConfig(default_reject_rate=0.2))
    assert expl["reject_rate"] == 0.2
    assert expl["reject_rate_source"].startswith("DEFAULT")
    assert plan["date"].min() == pd.Timestamp("2026-08-17")
    # 1,000 good units need 1,250 starts at 20% rejects; 4 days x 100 fit (17-20 August)
    assert plan["qty_start"].sum() == pytest.approx(400.0)
    assert short["short_units"].sum() == pytest.approx((1250 - 400) * 0.8)


def test_material_order_dates_moq_and_late_flag() -> None:
    plan = pd.DataFrame({"sku": ["A"] * 3, "date": pd.to_datetime(
        ["2026-08-10", "2026-08-20", "2026-08-30"]), "qty_start": [100.0, 100.0, 100.0]})
    fc = pd.DataFrame({"sku": ["A"], "net_p10": [10.0], "net_p90": [10.0]})
    bom = pd.DataFrame({"sku": ["A", "A"], "item": ["paste", "box"],
                        "qty_per_unit": [0.5, 1.0]})
    materials = pd.DataFrame([
        {"item": "paste", "kind": "material", "unit": "kg", "lead_time_days": 5, "moq": 40,
         "pack_multiple": 25, "unit_cost": 1.0, "shelf_life_days": 90},
        {"item": "box", "kind": "packaging", "unit": "pcs", "lead_time_days": 42, "moq": 500,
         "pack_multiple": 100, "unit_cost": 1.0, "shelf_life_days": 0},
    ])
    inventory = pd.DataFrame([{"item": "paste", "kind": "material", "on_hand": 60.0},
                              {"item": "box", "kind": "packaging", "on_hand": 150.0}])
    orders, items = material_orders(plan, fc, bom, materials, inventory, D(2026, 8, 1))
    paste = orders[orders["item"] == "paste"].iloc[0]
    # 60 kg on hand covers day 10 (50 kg); runs short on 08-20 -> order by 08-15, MOQ 40 -> 50
    assert paste["need_date"] == D(2026, 8, 20)
    assert paste["order_by"] == D(2026, 8, 15)
    assert paste["qty"] % 25 == 0 and paste["qty"] >= 40
    assert paste["late_days"] == 0
    box = orders[orders["item"] == "box"].iloc[0]
    assert box["need_date"] == D(2026, 8, 20)
    assert box["order_by"] == D(2026, 7, 9)
    assert box["late_days"] == 23
    assert box["qty"] == 500.0
    assert items.set_index("item").loc["paste", "need_total"] == pytest.approx(150.0)


def test_assign_lines_fills_lines_within_their_capacity() -> None:
    lines = pd.DataFrame([{"line": "L1", "units_per_hour": 10, "hours_per_shift": 10,
                           "shifts_per_day": 1, "days_per_week": 7},
                          {"line": "L2", "units_per_hour": 5, "hours_per_shift": 10,
                           "shifts_per_day": 1, "days_per_week": 5}])
    day = pd.Timestamp("2026-08-03")  # a Monday: both lines run
    plan = pd.DataFrame({"sku": ["A", "B"], "date": [day, day],
                         "need_date": [day + pd.Timedelta(days=1)] * 2,
                         "source": ["forecast"] * 2, "qty_start": [120.0, 30.0]})
    out = assign_lines(plan, lines)
    per_line = out.groupby("line")["qty_start"].sum()
    assert per_line["L1"] == pytest.approx(100.0) and per_line["L2"] == pytest.approx(50.0)
    assert out.groupby("sku")["qty_start"].sum().to_dict() == {"A": 120.0, "B": 30.0}
    assert out[out["sku"] == "B"]["line"].tolist() == ["L2"]
    saturday = plan.assign(date=pd.Timestamp("2026-08-08"), qty_start=[60.0, 10.0])
    out = assign_lines(saturday, lines)  # L2 runs 5 days a week
    assert set(out["line"]) == {"L1"}
