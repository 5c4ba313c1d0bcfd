"""One simulated season on hand-made factories: the figures a hand computes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.twin import START, forecast, tables, world

from plant.twin.measure import beta_params
from plant.twin.montecarlo import simulate
from plant.twin.sim import simulate_run

LOT, ECO = "LOT-GB4-OEM01", "RBN-GB4-ECO01"


def _orders(*rows: tuple[str, int, float]) -> pd.DataFrame:
    return pd.DataFrame([{"order_id": f"SO{i}", "sku": s,
                          "order_date": START, "due_date": START + pd.Timedelta(days=d),
                          "qty": q, "channel": "oem"} for i, (s, d, q) in enumerate(rows)])


def test_a_lot_makes_its_boxes_less_rejects_and_ships_them_on_time() -> None:
    data = tables()
    data["open_orders"] = _orders((LOT, 3, 500))
    w = world([("L1", 0, LOT, 600)], data=data)
    r = simulate_run(w, seed=1, run=0)
    assert r.made_good == pytest.approx(570, rel=1e-3)  # 600 started, 5% rejected
    assert r.rejects == pytest.approx(30, rel=1e-2)
    assert r.on_time["oem"] == pytest.approx(500) and r.fill_rate == pytest.approx(1.0)
    assert r.changeovers == 0 and r.overtime_h == 0
    assert r.leftover == pytest.approx(70, rel=1e-2)
    assert r.cost["production"] == pytest.approx(570 * 30, rel=1e-3)
    assert r.cost["salvage"] == pytest.approx(-70 * 9, rel=1e-2)


def test_a_day_over_its_shift_runs_overtime_then_carries_over() -> None:
    # 8 h x 100 boxes/h a day, 2 h overtime at most: 1,200 boxes take 10 h, 1,500 spill over
    r = simulate_run(world([("L1", 0, LOT, 1500)]), seed=1, run=0, gantt=True)
    assert r.overtime_h == pytest.approx(2.0)
    assert r.made_good == pytest.approx(1500 * 0.95, rel=1e-3)
    days = {int(t0 // 24) for line, t0, t1, kind, sku in r.gantt if kind == "run"}
    assert days == {0, 1}


def test_changing_flavour_costs_time_and_scrap() -> None:
    rows = [("L1", 0, LOT, 100), ("L1", 0, ECO, 100), ("L1", 0, LOT, 100)]
    r = simulate_run(world(rows, changeover_flavour_min=60, changeover_scrap_boxes=10),
                     seed=1, run=0, gantt=True)
    assert r.changeovers == 2 and r.scrap == 20
    co = [b for b in r.gantt if b[3] == "changeover"]
    assert sum(b[2] - b[1] for b in co) == pytest.approx(2.0)
    grouped = simulate_run(world([("L1", 0, LOT, 200), ("L1", 0, ECO, 100)]), seed=1, run=0)
    assert grouped.changeovers == 1


def test_a_lot_waits_for_its_material_until_the_purchase_order_arrives() -> None:
    data = tables(flour=10.0)  # 100 boxes' worth; 0.1 kg a box
    purchases = pd.DataFrame([{"item": "flour", "order_by": START, "lead_time_days": 4,
                               "qty": 1000.0}])
    w = world([("L1", 0, LOT, 300)], data=data, purchases=purchases, supplier_lead_cv=0.0)
    r = simulate_run(w, seed=1, run=0, gantt=True)
    assert r.material_wait == pytest.approx(200)
    assert r.made_good == pytest.approx(300 * 0.95, rel=1e-3)
    days = sorted({int(b[1] // 24) for b in r.gantt if b[3] == "run"})
    assert days == [0, 4]  # the rest waits for the delivery on day 4 (a Friday)


def test_goods_too_old_for_a_customer_expire_first_in_first_out() -> None:
    data = tables()
    data["skus"].loc[0, "shelf_life_days"] = 6  # a customer takes it for 3 days
    data["open_orders"] = _orders((LOT, 10, 100))
    w = world([("L1", 0, LOT, 300), ("L1", 9, LOT, 100)], data=data)
    r = simulate_run(w, seed=1, run=0)
    assert r.expired == pytest.approx(285, rel=1e-2)  # day 0's boxes, past day 3
    assert r.on_time["oem"] == pytest.approx(95, rel=1e-2)  # day 9's 95 good boxes
    assert r.short["oem"] == pytest.approx(5, rel=0.1)


def test_a_consumer_order_not_served_in_time_is_cancelled() -> None:
    fc = forecast()
    fc.loc[(fc["sku"] == ECO) & (fc["ds"] == pd.Timestamp(START)), ["net_p10", "net_p50",
                                                                   "net_p90"]] = 50.0
    r = simulate_run(world([("L1", 10, ECO, 100)], fc=fc), seed=1, run=0)
    assert r.demand["ecommerce"] == 50 and r.short["ecommerce"] == 50
    assert r.cost["lost_sales"] == pytest.approx(50 * 90)  # the boxes were never made


def test_breakdowns_stop_the_line_and_the_work_goes_on_after_repair() -> None:
    a, b = beta_params(0.05, 1e-7)
    from plant.twin.measure import LineBehaviour

    flaky = LineBehaviour(0.0, 0.05, a, b, 2.0, 0.5, "test")
    r = simulate_run(world([("L1", 0, LOT, 600)], behaviour={"L1": flaky}), seed=3, run=0)
    assert r.downtime_h > 0
    assert r.made_good == pytest.approx(570, rel=1e-3)


def test_common_random_numbers_same_luck_for_two_plans() -> None:
    fc = forecast(p50=20.0, spread=15.0)
    one = world([("L1", d, LOT, 300) for d in range(0, 15, 2)], fc=fc)
    two = world([("L1", d, ECO, 300) for d in range(0, 15, 2)], fc=fc)
    for run in range(3):
        a, b = simulate_run(one, 7, run), simulate_run(two, 7, run)
        assert a.demand == b.demand  # the same orders arrive
    again = simulate_run(one, 7, 0)
    first = simulate_run(one, 7, 0)
    assert again.cost == first.cost
    assert simulate_run(one, 8, 0).demand != first.demand


def test_demand_follows_the_forecast_quantiles() -> None:
    fc = forecast(p50=40.0, spread=20.0, days=21)
    sim = simulate(world([], fc=fc, festival_correlation=0.0), runs=40, seed=1)
    # e-commerce orders are due the day they are placed; the OEM's at its cutoff, past the
    # 21 days simulated, so they are not this season's demand
    per_day = np.array([r.demand["ecommerce"] for r in sim.runs]) / 21
    assert abs(per_day.mean() - 40.0) < 1.0  # symmetric quantiles: mean = P50
    assert all(r.demand["oem"] == 0 for r in sim.runs)
    summary = sim.summary()
    for key in ("runs", "fill_rate", "fill_rate_by_channel", "cost", "cost_p90", "wall_s"):
        assert key in summary
    assert summary["fill_rate"] == 0.0 and summary["runs"] == 40


def test_festival_correlation_widens_the_season_total() -> None:
    fc = forecast(p50=40.0, spread=20.0, days=21)
    fc["ds"] = fc["ds"] + pd.Timedelta(days=30)  # inside the Mid-Autumn season
    totals = {}
    for rho in (0.0, 0.8):
        sim = simulate(world([], fc=fc, festival_correlation=rho), runs=40, seed=2)
        totals[rho] = np.std([r.demand["ecommerce"] for r in sim.runs])
    assert totals[0.8] > 3 * totals[0.0]



def test_worker_processes_give_the_same_figures() -> None:
    fc = forecast(p50=20.0, spread=10.0)
    w = world([("L1", d, LOT, 200) for d in range(0, 20, 3)], fc=fc)
    one, two = simulate(w, runs=6, seed=4), simulate(w, runs=6, seed=4, jobs=2)
    assert one.per_run().equals(two.per_run())
    assert one.gantt().equals(two.gantt())


def test_a_recorded_hold_is_a_firm_order_on_its_held_day() -> None:
    """40 e-commerce boxes delivered on day 5 are held until day 25, past the forecast's 21
    days: the season runs to day 25, the hold is a firm order then, served from the 47.5 good
    boxes of a lot on day 18 (a Friday). The 30 cancellations the forecast netted back in on
    day 5 for it are taken out there: nothing else is ordered."""
    data = tables()
    data["holds"] = pd.DataFrame([{"order_id": "W1", "sku": ECO, "qty": 40.0,
                                   "delivery_date": START + pd.Timedelta(days=5),
                                   "held_until": START + pd.Timedelta(days=25)}])
    fc = forecast().assign(cancel_avoided=0.0)
    day5 = (fc["sku"] == ECO) & (fc["ds"] == pd.Timestamp(START + pd.Timedelta(days=5)))
    fc.loc[day5, ["net_p10", "net_p50", "net_p90", "cancel_avoided"]] = 30.0
    w = world([("L1", 18, ECO, 50)], data=data, fc=fc)
    assert w.days == 26
    assert [(f.sku, f.due_day, f.qty) for f in w.firm] == [(1, 25, 40.0)]
    assert w.p90.sum() == 0.0
    r = simulate_run(w, seed=1, run=0)
    assert r.demand["ecommerce"] == pytest.approx(40.0)
    assert r.on_time["ecommerce"] == pytest.approx(40.0)
    assert r.leftover == pytest.approx(7.5, rel=1e-2)
