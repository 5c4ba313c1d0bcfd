"""The plan optimiser: the programme on hand-made factories, and ``plant plan --optimise``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.twin import START, forecast, steady, tables

from peakline.cli import main
from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.planning.config import PlanConfig
from plant.planning.holds import safekeeping_from_plan
from plant.store import Store
from plant.twin.choose import build_problem
from plant.twin.config import TwinConfig
from plant.twin.lots import lots_from_solution
from plant.twin.optimise import solve

from .test_cli import planned  # noqa: F401  (the module fixture: a small sample factory)

LOT, ECO = "LOT-GB4-OEM01", "RBN-GB4-ECO01"


def _problem(fc: pd.DataFrame, data: dict[str, pd.DataFrame] | None = None, **cfg: object):
    data = data or tables()
    beh = {str(ln): steady() for ln in data["lines"]["line"]}
    return build_problem(fc, data, START, HolidayCalendar.default(), PlanConfig(),
                         TwinConfig(**cfg), beh, level=0.5)  # type: ignore[arg-type]


def test_it_makes_what_is_needed_within_the_week_less_rejects() -> None:
    fc = forecast()
    fc.loc[(fc["sku"] == ECO) & (fc["ds"] >= pd.Timestamp("2026-08-10")), "net_p50"] = 100.0
    problem, needs, working = _problem(fc)
    sol = solve(problem)
    need = problem.need.sum()
    made_good = sol.start_boxes.sum() * 0.95
    assert sol.short.sum() == pytest.approx(0, abs=1)
    assert made_good == pytest.approx(need, rel=0.02)
    plan = lots_from_solution(problem, sol, needs, working)
    assert set(plan["sku"]) == {ECO} and (plan["qty_start"] > 0).all()
    # made in the week of its need or before, on working days only
    assert (pd.to_datetime(plan["date"]).dt.weekday < 5).all()


def _hold(delivery: pd.Timestamp, held_until: pd.Timestamp, qty: float = 40.0,
          ) -> pd.DataFrame:
    return pd.DataFrame([{"order_id": "W1", "sku": ECO, "qty": qty, "delivery_date": delivery,
                          "held_until": held_until}])


def test_a_recorded_hold_is_made_ahead_for_its_held_day() -> None:
    """40 e-commerce boxes delivered on day 5 (week 0) are held until day 17: made for day 17,
    by the day before it (day 16, a Wednesday), out of the programme; the forecast's 30 avoided
    cancellations of day 5 are taken out of week 0."""
    data = tables()
    data["holds"] = _hold(START + pd.Timedelta(days=5), START + pd.Timedelta(days=17))
    fc = forecast(days=28).assign(cancel_avoided=0.0)
    day5 = (fc["sku"] == ECO) & (fc["ds"] == pd.Timestamp(START + pd.Timedelta(days=5)))
    fc.loc[day5, ["net_p10", "net_p50", "net_p90", "cancel_avoided"]] = 30.0
    problem, needs, working = _problem(fc, data)
    assert problem.need.sum() == 0 and problem.firm.sum() == 0
    assert problem.held is not None and problem.held.short.empty
    # 43 boxes (40 good at 5% rejects) at 100 an hour: 0.43 h off week 2's 40 hours
    assert problem.hours[0].tolist() == pytest.approx([40.0, 40.0, 39.57, 40.0])
    plan = lots_from_solution(problem, solve(problem), needs, working)
    assert plan[["sku", "date", "need_date", "source", "qty_start"]].to_dict("records") == [
        {"sku": ECO, "date": pd.Timestamp(START + pd.Timedelta(days=16)),
         "need_date": pd.Timestamp(START + pd.Timedelta(days=17)), "source": "hold",
         "qty_start": 43.0}]


def test_a_held_order_is_made_by_the_festival_s_eve_and_kept_in_safekeeping() -> None:
    """Mid-Autumn 2026 is Friday 09-25 (day 53): an order for 09-22 held until 09-29 must be
    made by the eve, Thursday 09-24, though its held day's week (from Monday 09-28) and the
    festival's week have working days after the eve; its boxes wait in safekeeping until
    09-29 and count there, as in the backward-scheduling plan."""
    data = tables()
    eve, held_day = pd.Timestamp("2026-09-24"), pd.Timestamp("2026-09-29")
    data["holds"] = _hold(pd.Timestamp("2026-09-22"), held_day, qty=2_000.0)
    fc = forecast(days=63)
    fc.loc[fc["sku"] == LOT, "net_p50"] = 300.0  # the line makes the OEM SKU too
    problem, needs, working = _problem(fc, data)
    plan = lots_from_solution(problem, solve(problem), needs, working)
    held = plan[plan["source"] == "hold"]
    assert held["qty_good"].sum() >= 2_000.0
    assert (held["date"] <= eve).all() and (held["need_date"] == held_day).all()
    assert set(held["sku"]) == {ECO} and not (plan["source"] == "optimised").loc[
        plan["sku"] == ECO].any()
    # no day is planned past the line's regular hours (8 h x 100 boxes) but for overtime
    per_day = plan.groupby("date")["qty_start"].sum()
    assert (per_day <= 800 + 100 * TwinConfig().overtime_max_hours + 1).all()
    stock = safekeeping_from_plan(plan, pd.DataFrame([{
        "day": held_day, "held_boxes": 0, "offered_boxes": 0, "expected_boxes": 0,
        "capacity": 5_000}]))
    kept = stock.set_index("day")["held_boxes"]
    assert kept[pd.Timestamp("2026-09-25")] >= 2_000
    assert kept[held_day - pd.Timedelta(days=1)] >= 2_000


def test_two_flavours_run_as_campaigns_not_alternating() -> None:
    fc = forecast()
    for sku in (LOT, ECO):
        fc.loc[(fc["sku"] == sku) & (fc["ds"] >= pd.Timestamp("2026-08-10")), "net_p50"] = 60.0
    data = tables()
    data["skus"]["channel"] = "ecommerce"  # both needed the day they are ordered
    problem, needs, working = _problem(fc, data)
    sol = solve(problem)
    plan = lots_from_solution(problem, sol, needs, working)
    weeks = pd.to_datetime(plan["date"]).dt.isocalendar().week
    for _, rows in plan.groupby(["line", weeks]):
        order = rows.sort_values(["date", "seq"])["sku"].tolist()
        switches = sum(a != b for a, b in itertools.pairwise(order))
        assert switches <= 1, order  # at most one changeover a week


def test_capacity_binds_and_overtime_is_planned_before_boxes_go_short() -> None:
    fc = forecast()
    fc.loc[(fc["sku"] == ECO) & (fc["ds"] >= pd.Timestamp("2026-08-10")), "net_p50"] = 1500.0
    problem, _, _ = _problem(fc)
    sol = solve(problem)
    # 5 days x (8 h + 2 h overtime) x 100 boxes/h = 5,000 boxes a week; 21,000 wanted
    assert sol.overtime.sum() > 0
    assert (sol.overtime <= 2.0 * problem.workdays + 1e-6).all()
    assert sol.short.sum() > 0
    per_week = sol.start_boxes.sum(axis=(0, 1))
    assert (per_week <= 100 * (problem.hours[0] + sol.overtime[0]) + 1).all()


def test_firm_orders_that_cannot_be_made_say_what_binds() -> None:
    data = tables()
    data["open_orders"] = pd.DataFrame([{"order_id": "SO1", "sku": LOT, "order_date": START,
                                         "due_date": START + pd.Timedelta(days=4),
                                         "qty": 50_000.0, "channel": "oem"}])
    problem, _, _ = _problem(forecast(), data, firm_orders_must_ship=True)
    with pytest.raises(DataError, match="line capacity binds: open orders due by"):
        solve(problem)
    data["open_orders"].loc[0, "qty"] = 2_000.0  # that fits the week's hours
    data["inventory"].loc[0, "on_hand"] = 10.0  # but not the flour on hand: 100 boxes' worth
    data["materials"].loc[0, "lead_time_days"] = 14
    problem, _, _ = _problem(forecast(), data, firm_orders_must_ship=True)
    problem.material_limits = True
    with pytest.raises(DataError, match="flour binds: open orders due before 2026-08-17 need"):
        solve(problem)


def test_plan_optimise_stores_the_chosen_plan_with_every_candidate(
    planned: str, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    assert main(["plant", "plan", "--db", planned, "--optimise", "--runs", "4"]) == 0
    out = capsys.readouterr().out
    assert "candidates in the twin" in out and "heuristic" in out and "chosen:" in out
    summary = json.loads(out.strip().splitlines()[-1])
    with Store.open(planned) as store:
        found = store.plan("production", summary["plan_id"])
        assert found is not None
        purchases = store.plan("purchases", summary["plan_id"])
    meta, _ = found
    opt = meta["explanation"]["optimise"]
    names = [c["candidate"] for c in opt["candidates"]]
    assert names[0] == "heuristic" and len(names) == 3 and opt["chosen"] in names
    assert purchases is not None
    costs = np.array([c["cost"] for c in opt["candidates"]])
    assert (costs > 0).all()


def test_an_infeasible_optimisation_says_what_binds_and_stores_nothing(
    planned: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(planned.removeprefix("sqlite:///")).read_bytes())
    db = f"sqlite:///{copy}"
    with Store.open(db) as store:
        sku = str(store.skus()["sku"].iloc[0])
        start = pd.Timestamp(store.latest_forecast()[1]["ds"].min()).date()  # type: ignore[index]
        store.upsert_rows("open_orders", [{
            "order_id": "HUGE", "sku": sku, "order_date": start,
            "due_date": start + pd.Timedelta(days=6), "qty": 5_000_000.0,
            "channel": str(store.skus()["channel"].iloc[0])}])
        before = store.latest_plan_id("production")
    config = tmp_path / "plant.toml"
    config.write_text("[twin]\nfirm_orders_must_ship = true\n", encoding="utf-8")
    assert main(["plant", "plan", "--db", db, "--optimise", "--runs", "2",
                 "--config", str(config)]) == 2
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(errors) == 1 and "the plan cannot be optimised: line capacity binds" in errors[0]
    with Store.open(db) as store:
        assert store.latest_plan_id("production") == before
