"""Holds follow the plant's configured peak: a Christmas plant and a plant whose festival is
dated in its events file get their eves, offers and safekeeping around that peak, at import,
through the plant service's ERP bridge, in the hold plan and in the re-plan; the default peak
keeps Mid-Autumn."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.configs import plant_config
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline import wire
from peakline.demo.sample_erp import generate
from peakline.errors import ConfigError, DataError
from plant.broker.process import Mosquitto
from plant.calendar import Event, HolidayCalendar
from plant.erp.bridge import apply_erp_message
from plant.orders.holds import HoldSettings
from plant.orders.holiday import coming_festival, days_to_holiday, previous_festival
from plant.orders.records import latest_production
from plant.orders.run import holds_into_store
from plant.planning.config import PlanConfig
from plant.planning.replan import replan
from plant.service import PlantService
from plant.store import Store

CAL = HolidayCalendar.default()
#: a festival of the plant's own, dated only in its events file
FAIR = HolidayCalendar(events=[Event(dt.date(y, 12, 18), "winter_fair", "festival")
                               for y in (2024, 2025)])

SKU = {"sku": "SNW-GB4-ECO01", "flavour": "snow_skin", "packaging": "gift_box_4",
       "channel": "ecommerce", "price": 118.0, "unit_cost": 40.0, "salvage_value": 12.0,
       "shelf_life_days": 21, "units_per_case": 12}
ORDERS = "order_id,customer,placed_at,sku,qty,unit_price,region,delivery_date,cancelled_at\n" \
    "W1,C1,2025-09-20T10:00,SNW-GB4-ECO01,2,118,shenzhen,2025-10-03,\n" \
    "W4,C4,2025-12-01T10:00,SNW-GB4-ECO01,1,118,wuhan,2025-12-20,\n"


def test_coming_and_previous_peak_as_the_calendar_dates_it() -> None:
    day = dt.date(2025, 12, 1)
    assert coming_festival(day, CAL) == dt.date(2026, 9, 25)            # Mid-Autumn
    assert coming_festival(day, CAL, "christmas") == dt.date(2025, 12, 25)
    assert coming_festival(day, CAL, "easter") == dt.date(2026, 4, 5)
    assert coming_festival(day, FAIR, "winter_fair") == dt.date(2025, 12, 18)
    assert previous_festival(dt.date(2025, 12, 25), CAL, "christmas") == dt.date(2024, 12, 25)
    assert previous_festival(dt.date(2025, 10, 6), CAL) == dt.date(2024, 9, 17)
    assert previous_festival(dt.date(2025, 12, 18), FAIR, "winter_fair") == dt.date(2024, 12, 18)
    assert previous_festival(dt.date(2024, 12, 18), FAIR, "winter_fair") is None
    with pytest.raises(ConfigError, match="peak 'winter_fair': the events file gives no date "
                                          "on or after 2025-12-19"):
        coming_festival(dt.date(2025, 12, 19), FAIR, "winter_fair")
    with pytest.raises(ConfigError, match="unknown peak 'harvest'"):
        coming_festival(day, CAL, "harvest")


def test_days_to_holiday_counts_to_the_peak_as_well_as_the_lunar_festivals() -> None:
    days = np.array(["2025-09-01", "2025-12-01", "2026-01-30"], dtype="datetime64[D]")
    lunar = [35, 78, 18]    # Mid-Autumn 10-06, Spring Festival 2026-02-17
    assert days_to_holiday(days, CAL).tolist() == lunar
    assert days_to_holiday(days, CAL, "spring_festival").tolist() == lunar
    assert days_to_holiday(days, CAL, "christmas").tolist() == [35, 24, 18]


def _made_by(delivered: list[str], cal: HolidayCalendar, peak: str) -> list[str]:
    delivery = pd.Series(pd.to_datetime(delivered))
    until = pd.Series(pd.Timestamp("2026-01-31"), index=delivery.index)
    return [f"{d:%Y-%m-%d}" for d in latest_production(delivery, until, cal, peak)]


def test_a_held_box_is_made_by_the_eve_of_the_plant_s_peak() -> None:
    delivered = ["2025-10-03", "2025-12-20", "2025-12-10"]
    assert _made_by(delivered, CAL, "mid_autumn") == ["2025-10-05", "2026-01-30", "2026-01-30"]
    assert _made_by(delivered, CAL, "christmas") == ["2025-12-24", "2025-12-24", "2025-12-24"]
    assert _made_by(["2025-10-03", "2025-12-10"], FAIR, "winter_fair") == ["2025-12-17",
                                                                          "2025-12-17"]
    with pytest.raises(ConfigError, match="no date on or after 2025-12-20"):
        _made_by(["2025-12-20"], FAIR, "winter_fair")


def _store(tmp_path: Path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'plant.db'}")
    store.upsert_rows("skus", [SKU])
    (tmp_path / "shop_orders.csv").write_text(ORDERS)
    store.import_csv("shop_orders", tmp_path / "shop_orders.csv")
    return store


def test_holds_are_checked_against_the_eve_of_the_configured_peak(tmp_path: Path) -> None:
    """Snow skin keeps 21 days and a held box must keep 7: a Mid-Autumn plant makes W1's box
    by 10-05, a Christmas plant by the day before its hold ends; W4's Christmas box is made on
    12-24, a Mid-Autumn plant's the day before its hold ends."""
    holds = tmp_path / "holds.csv"
    with _store(tmp_path) as store:
        holds.write_text("order_id,held_until\nW1,2025-10-20\n")
        with pytest.raises(DataError, match="made on 2025-10-05 at the latest"):
            store.import_csv("holds", holds, CAL)
        assert store.import_csv("holds", holds, CAL, "christmas") == 1
        holds.write_text("order_id,held_until\nW4,2026-01-10\n")
        with pytest.raises(DataError, match=r"made on 2025-12-24 at the latest, a box with 21 "
                                            r"days of shelf life must be delivered by "
                                            r"2026-01-07"):
            store.import_csv("holds", holds, CAL, "christmas")
        message = json.dumps({"schema": "peakline.erp.holds/1", "source": "shop", "rows": [
            {"order_id": "W4", "held_until": "2026-01-10"}]}).encode()
        with pytest.raises(DataError, match="made on 2025-12-24"):
            apply_erp_message(store, "holds", message, CAL, "christmas")
        assert store.holds()["order_id"].tolist() == ["W1"]
        assert apply_erp_message(store, "holds", message, CAL) == 1     # Mid-Autumn: fine
        assert sorted(store.holds()["order_id"]) == ["W1", "W4"]


@pytest.fixture(scope="module")
def season() -> dict[str, pd.DataFrame]:
    """Half a year of the sample web shop to 2025-12-10 (as the store keeps it: without the
    generator's feature column)."""
    data = generate(seed=11, years=1, n_skus=4, end=dt.date(2025, 12, 31))
    lines = data["shop_orders"].drop(columns="days_to_holiday")
    placed = pd.to_datetime(lines["placed_at"])
    return {"skus": data["skus"], "shop_orders": lines[(placed >= pd.Timestamp("2025-06-01"))
                                                       & (placed < pd.Timestamp("2025-12-11"))]}


@pytest.mark.parametrize(("cal", "peak", "festival"), [
    (CAL, "christmas", dt.date(2025, 12, 25)),
    (FAIR, "winter_fair", dt.date(2025, 12, 18)),
], ids=["christmas", "events-file festival"])
def test_the_hold_plan_is_built_around_the_configured_peak(
        tmp_path: Path, season: dict[str, pd.DataFrame], cal: HolidayCalendar, peak: str,
        festival: dt.date) -> None:
    s = HoldSettings()
    fest = pd.Timestamp(festival)
    with Store.open(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        store.upsert_rows("skus", season["skus"])
        store.upsert_rows("shop_orders", season["shop_orders"])
        plan = holds_into_store(store, s, cal, peak=peak)
        assert plan.as_of == dt.date(2025, 12, 10)
        assert plan.festival == festival and plan.summary["festival"] == festival.isoformat()
        offered = plan.offers[plan.offers["offer"]]
        assert len(offered) > 0
        assert (offered["hold_until"] == fest + pd.Timedelta(days=s.return_days)).all()
        assert offered["delivery"].between(fest - pd.Timedelta(days=s.window_days),
                                           fest + pd.Timedelta(days=s.return_days - 1)).all()
        # safekeeping from the eve (the last production day) until the held delivery
        assert plan.stock["day"].min() == fest - pd.Timedelta(days=1)
        assert plan.stock["day"].max() == fest + pd.Timedelta(days=s.return_days - 1)
        if peak == "christmas":  # the service's re-plan remakes it around the same peak
            again = replan(store, PlanConfig(peak=peak), cal)
            assert again.holds is not None and again.holds.festival == festival
            assert again.plans is None      # no forecast in the store: plans skipped


def test_no_last_season_to_replay_is_said(tmp_path: Path,
                                          season: dict[str, pd.DataFrame]) -> None:
    """A festival the events file dates only from this year on: a replay of last season is
    refused, not guessed, and nothing is stored."""
    only = HolidayCalendar(events=[Event(dt.date(2025, 12, 18), "winter_fair", "festival")])
    with Store.open(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        store.upsert_rows("skus", season["skus"])
        store.upsert_rows("shop_orders", season["shop_orders"])
        with pytest.raises(ConfigError, match="no last season to replay: the calendar gives "
                                              "winter_fair no date before 2025-12-18"):
            holds_into_store(store, HoldSettings(), only, backtest=True, peak="winter_fair")
        assert store.latest_hold_plan() is None


def test_the_plant_service_checks_erp_holds_against_its_peak(
        broker: Mosquitto, tmp_path: Path, site: str) -> None:
    """A Christmas plant's ERP bridge refuses W4 held past what a box made on Christmas Eve
    keeps (a Mid-Autumn plant takes it: see above), and holds W1 past Mid-Autumn's limit."""
    cfg = plant_config(broker.port, site, f"sqlite:///{tmp_path / 'plant.db'}")
    cfg = cfg.model_copy(update={"planning": PlanConfig(peak="christmas")})
    service = PlantService(cfg).start()
    rec = Recorder(broker.port, [])
    try:
        assert service.wait_connected(10)
        service.store.upsert_rows("skus", [SKU])
        (tmp_path / "shop_orders.csv").write_text(ORDERS)
        service.store.import_csv("shop_orders", tmp_path / "shop_orders.csv")
        topic = wire.Topics(site).erp("holds")
        for order, until in (("W4", "2026-01-10"), ("W1", "2025-10-20")):
            rec.publish(topic, json.dumps({"schema": "peakline.erp.holds/1", "source": "shop",
                                           "rows": [{"order_id": order, "held_until": until}]}
                                          ).encode())
        wait_until("a dead letter and a hold", lambda: len(service.store.dead_letters()) == 1
                   and len(service.store.holds()) == 1, 20)
        assert "made on 2025-12-24 at the latest" in service.store.dead_letters()["reason"][0]
        assert service.store.holds()["order_id"].tolist() == ["W1"]
    finally:
        rec.close()
        service.stop()


def test_the_plant_service_refuses_a_peak_its_calendar_does_not_know(tmp_path: Path) -> None:
    cfg = plant_config(1, "nowhere", f"sqlite:///{tmp_path / 'plant.db'}")
    service = PlantService(cfg.model_copy(update={"planning": PlanConfig(peak="harvest")}))
    with pytest.raises(ConfigError, match="unknown peak 'harvest'"):
        service.start()
    service.store.close()
