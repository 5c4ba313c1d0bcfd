"""The hold offer policy, the safekeeping stock and the leftover replay, on small hand cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from peakline.errors import DataError
from plant.orders.holds import (
    HoldSettings,
    offer_holds,
    order_values,
    safekeeping_days,
    stock_exceptions,
)
from plant.orders.netting import net_with_holds
from plant.orders.plan import safekeeping_plan
from plant.orders.season import leftover_boxes

FEST = dt.date(2025, 10, 6)
DAY = pd.Timestamp(FEST)


def _orders(n: int = 6, boxes: int = 2, shelf: int = 30) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [f"W{i}" for i in range(n)],
        "boxes": boxes,
        "delivery": [DAY - pd.Timedelta(days=2)] * n,
        "p_cancel": np.linspace(0.9, 0.2, n),
        "margin_at_risk": 150.0 * boxes,
        "shelf_life_days": shelf,
    })


def test_capacity_holds_even_if_everyone_accepts() -> None:
    s = HoldSettings(capacity_boxes=7, cost_per_box_day=0.5, accept_rate=0.5)
    offers = offer_holds(_orders(), FEST, s)
    chosen = offers[offers["offer"]]
    assert chosen["boxes"].sum() <= 7
    assert chosen["order_id"].tolist() == ["W0", "W1", "W2"]   # riskiest first
    stock = safekeeping_days(chosen, FEST)
    assert stock["boxes"].max() == 6
    # boxes already promised count first
    promised = pd.DataFrame({"boxes": [5], "delivery": [DAY - pd.Timedelta(days=3)],
                             "hold_until": [DAY + pd.Timedelta(days=4)]})
    again = offer_holds(_orders(), FEST, s, promised)
    assert again["offer"].sum() == 1


def test_no_offer_where_safekeeping_costs_more_than_the_risk() -> None:
    orders = _orders().assign(p_cancel=0.01)
    offers = offer_holds(orders, FEST, HoldSettings(cost_per_box_day=2.0))
    assert not offers["offer"].any()
    assert (offers["value"] < 0).all()


def test_only_orders_delivered_around_the_festival_and_fresh_enough() -> None:
    orders = _orders(3)
    orders.loc[0, "delivery"] = DAY - pd.Timedelta(days=30)      # long before: no travel
    orders.loc[1, "shelf_life_days"] = 9                         # would not keep 7 days
    s = HoldSettings(min_shelf_days=7, return_days=4)
    offers = offer_holds(orders, FEST, s)
    assert offers["order_id"].tolist() == ["W2"]
    assert offers["hold_until"].iloc[0] == DAY + pd.Timedelta(days=4)
    assert offers["hold_days"].iloc[0] == 5    # made on the eve, the last production day


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"capacity_boxes": 0}, "capacity must be at least 1 box, got 0"),
    ({"accept_rate": 0.0}, "acceptance rate must be greater than 0"),
    ({"accept_rate": 1.5}, "acceptance rate must be greater than 0"),
    ({"cost_per_box_day": -1.0}, "must not be negative"),
])
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        HoldSettings(**kwargs)


def test_safekeeping_stock_per_day() -> None:
    held = pd.DataFrame({"boxes": [2, 3],
                         "delivery": [DAY - pd.Timedelta(days=5), DAY + pd.Timedelta(days=1)],
                         "hold_until": [DAY + pd.Timedelta(days=2), DAY + pd.Timedelta(days=3)]})
    stock = safekeeping_days(held, FEST).set_index("day")["boxes"]
    # production of both moves to the eve, the last production day; each is kept until its day
    assert stock.index[0] == DAY - pd.Timedelta(days=1)
    assert stock[DAY - pd.Timedelta(days=1)] == 5
    assert stock[DAY + pd.Timedelta(days=1)] == 5
    assert stock[DAY + pd.Timedelta(days=2)] == 3
    assert DAY + pd.Timedelta(days=3) not in stock.index


def test_leftover_returns_serve_later_orders_and_held_ones() -> None:
    d = [DAY - pd.Timedelta(days=k) for k in (6, 4, 2)]
    lines = pd.DataFrame({
        "sku": "A", "qty": [3, 2, 4],
        "placed_day": d, "cancel_day": [d[1], pd.NaT, DAY - pd.Timedelta(days=1)],
        "held": False,
    })
    # 3 boxes back on day -4 serve the 4 ordered on day -2; 4 more come back on the eve
    assert leftover_boxes(lines, FEST) == 4
    held = lines.assign(held=[False, False, True], cancel_day=[d[1], pd.NaT, pd.NaT])
    # the held order is made on the eve and takes the 3 returned boxes first
    assert leftover_boxes(held, FEST) == 0


def test_order_values_and_unknown_skus() -> None:
    lines = pd.DataFrame({"order_id": ["W1", "W1"], "sku": ["A", "B"], "qty": [1, 2],
                          "unit_price": [100.0, 50.0]})
    skus = pd.DataFrame({"sku": ["A", "B"], "unit_cost": [40.0, 20.0],
                         "salvage_value": [10.0, 5.0], "shelf_life_days": [30, 21]})
    v = order_values(lines, skus).iloc[0]
    assert (v["margin"], v["margin_at_risk"], v["shelf_life_days"]) == (120.0, 180.0, 21)
    with pytest.raises(DataError, match="missing from the SKU master: B"):
        order_values(lines, skus.head(1))


def test_a_day_over_capacity_is_an_exception() -> None:
    held = pd.DataFrame({"boxes": [6, 3], "delivery": [DAY - pd.Timedelta(days=2)] * 2,
                         "hold_until": [DAY + pd.Timedelta(days=4), DAY + pd.Timedelta(days=2)]})
    s = HoldSettings(capacity_boxes=8)
    stock = safekeeping_plan(held, offer_holds(_orders(0), FEST, s), FEST, s)
    exc = stock_exceptions(stock, s)
    assert exc["severity"].tolist() == ["critical"] * 3
    assert exc["message"].iloc[0] == ("safekeeping over capacity on 2025-10-05: 9 boxes held, "
                                      "capacity 8")


def test_net_demand_takes_back_the_cancellations_holds_avoid() -> None:
    days = pd.date_range(DAY - pd.Timedelta(days=3), periods=3, freq="D")
    fc = pd.DataFrame({"sku": "A", "ds": days, "orders_p50": 100.0, "cancel_p50": [4.0, 6.0, 2.0],
                       "net_p10": 80.0, "net_p50": [96.0, 94.0, 98.0], "net_p90": 110.0,
                       "net_mean": 95.0})
    effect = pd.DataFrame({"sku": ["A", "A", "B"], "ds": [days[0], days[2], days[0]],
                           "held_boxes": [10, 20, 5], "cancel_avoided": [3.0, 5.0, 1.0]})
    out, expl = net_with_holds(fc, effect, FEST)
    # 3 avoided on day 0; day 2's 5 are capped at its 2 forecast cancellations; B is not here
    assert out["cancel_avoided"].tolist() == [3.0, 0.0, 2.0]
    assert out["net_p50"].tolist() == [99.0, 94.0, 100.0]
    assert out["net_p10"].tolist() == [83.0, 80.0, 82.0]
    assert expl["cancel_avoided_boxes"] == 5.0 and expl["held_boxes"] == 30.0
    assert expl["net_from_holds_pct"] == round(100 * 5 / 293, 2)
