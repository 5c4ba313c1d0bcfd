"""Re-planning after ERP data, over a real Mosquitto: a hold recorded by the ERP remakes the hold
plan and the production plan, and both go out again, retained."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from support.configs import plant_config
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline import wire
from peakline.demo.sample_erp import generate, write
from plant.broker.process import Mosquitto
from plant.calendar import HolidayCalendar
from plant.forecast.run import forecast_into_store
from plant.orders.holds import HoldSettings
from plant.orders.run import holds_into_store
from plant.planning.config import PlanConfig
from plant.planning.replan import replan
from plant.planning.run import plan_from_store
from plant.service import PlantService
from plant.store import Store


def _hold_message(order_id: str, held_until: str) -> bytes:
    return json.dumps({"schema": "peakline.erp.holds/1", "source": "shop",
                       "rows": [{"order_id": order_id, "held_until": held_until}]}).encode()


def _open_order(store: Store, start: pd.Timestamp) -> tuple[str, str, str]:
    """An open web shop order delivered after the plan starts: (order id, sku, held until),
    held three days past its delivery (well within its shelf life)."""
    lines = store.shop_orders()
    open_ = lines[(lines["cancelled_at"] == "") & (lines["held_until"] == "")
                  & (pd.to_datetime(lines["delivery_date"]) >= start)]
    one = open_[~open_["order_id"].duplicated(keep=False)].iloc[0]  # a one-line order
    until = pd.Timestamp(one["delivery_date"]) + pd.Timedelta(days=3)
    return str(one["order_id"]), str(one["sku"]), f"{until:%Y-%m-%d}"


def test_a_recorded_hold_remakes_and_republishes_the_hold_and_production_plans(
        broker: Mosquitto, tmp_path: Path, site: str) -> None:
    cal = HolidayCalendar.default()
    db = f"sqlite:///{tmp_path / 'plant.db'}"
    write(generate(seed=11, years=2, n_skus=8), tmp_path / "erp")
    with Store.open(db) as store:
        store.import_dir(tmp_path / "erp")
        forecast_into_store(store, cal, horizon=30)
        first_holds = holds_into_store(store, HoldSettings(capacity_boxes=300), cal)
        plan_from_store(store, PlanConfig(), cal)
        first = store.latest_plan_id("releases")
        order_id, sku, until = _open_order(store, pd.Timestamp("2026-08-01"))
    assert first_holds.summary["held_orders"] == 0
    cfg = plant_config(broker.port, site, db)
    cfg = cfg.model_copy(update={"erp": cfg.erp.model_copy(update={"replan_after_s": 0.3})})
    topics = wire.Topics(site)
    service = PlantService(cfg).start()
    rec = Recorder(broker.port, [topics.plan("releases"), topics.plan("production")])
    try:
        assert service.wait_connected(10)

        def releases() -> list[dict]:
            return [json.loads(m) for m in rec.on(topics.plan("releases"))]

        wait_until("the first releases plan", lambda: any(
            m["plan_id"] == first for m in releases()), 30)
        rec.publish(topics.erp("holds"), _hold_message(order_id, until))
        wait_until("a new releases plan", lambda: releases()[-1]["plan_id"] != first, 240)
        wait_until("the new production plan", lambda: json.loads(
            rec.on(topics.plan("production"))[-1])["plan_id"]
            == service.store.latest_plan_id("production"), 240)
        remade = releases()[-1]
        store = service.store
        meta, _, _ = store.latest_hold_plan()  # type: ignore[misc]
        production = store.latest_plan("production")
    finally:
        rec.close()
        service.stop()
    assert [(r["held_until"], r["sku"]) for r in remade["rows"]] == [(until, sku)]
    assert remade["explanation"]["orders"] == 1
    assert meta["plan_id"] == remade["plan_id"]  # the dashboard shows the remade hold plan
    assert meta["settings"]["capacity_boxes"] == 300  # remade with the first plan's settings
    assert production is not None
    plan = production[1]
    held = plan[plan["source"] == "hold"]
    assert pd.to_datetime(held["need_date"]).dt.strftime("%Y-%m-%d").unique().tolist() == [until]
    assert set(held["sku"]) == {sku}
    assert pd.to_datetime(held["date"]).max() < pd.Timestamp(until)
    assert production[0]["explanation"]["holds"]["held_boxes"] > 0


def test_replan_says_what_it_could_not_make(store: Store) -> None:
    done = replan(store, PlanConfig(), HolidayCalendar.default())
    assert (done.holds, done.plans) == (None, None)
    assert done.skipped[0].startswith("hold plan: none made yet")
    assert done.skipped[1] == "plans: no forecast in the store; run `peakline plant forecast` " \
        "first"
