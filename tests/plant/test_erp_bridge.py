"""The ERP bridge over a real Mosquitto: ERP rows in (idempotent), plans out (retained)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import pandas as pd
import pytest
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline import wire
from peakline.demo.sample_erp import generate, write
from peakline.errors import DataError
from peakline.wire.erp import ERP_MESSAGES, parse_erp
from plant.broker.process import Mosquitto
from plant.calendar import HolidayCalendar
from plant.erp.plans import export_plan_csv, plan_messages
from plant.forecast.demand import forecast_demand
from plant.planning.config import PlanConfig
from plant.planning.run import plan_from_store
from plant.service import PlantService
from plant.store import Store

SKU = {"sku": "LOTUS-GB-OEM", "flavour": "lotus", "packaging": "gift_box", "channel": "oem",
       "price": 12.5, "unit_cost": 4.0, "salvage_value": 1.0, "shelf_life_days": 45,
       "units_per_case": 24}


@pytest.fixture
def service(service: PlantService) -> PlantService:
    """The plant service (tests/plant/conftest.py) with one SKU known."""
    service.store.upsert_rows("skus", [SKU])
    return service


def _msg(kind: str, rows: list[dict[str, object]]) -> bytes:
    return json.dumps({"schema": f"peakline.erp.{kind}/1", "source": "sap", "rows": rows}).encode()


def test_erp_messages_are_applied_once_and_invalid_ones_dead_lettered(
    broker: Mosquitto, service: PlantService, site: str
) -> None:
    topics = wire.Topics(site)
    rec = Recorder(broker.port, [])
    store = service.store
    sales = _msg("sales", [{"sku": "LOTUS-GB-OEM", "date": "2025-09-01", "orders": 40},
                           {"sku": "LOTUS-GB-OEM", "date": "2025-09-02", "orders": 55}])
    cancels = _msg("cancellations", [{"sku": "LOTUS-GB-OEM", "date": "2025-09-01",
                                      "cancellations": 4}])
    order = {"order_id": "SO-7", "sku": "LOTUS-GB-OEM", "order_date": "2025-08-01",
             "due_date": "2025-09-10", "qty": 2400, "channel": "oem"}
    inventory = _msg("inventory", [{"item": "LOTUS-GB-OEM", "kind": "sku", "on_hand": 900,
                                    "as_of": "2025-09-01"}])
    try:
        for _ in range(2):  # everything twice: nothing changes the second time
            rec.publish(topics.erp("sales"), sales)
            rec.publish(topics.erp("cancellations"), cancels)
            rec.publish(topics.erp("orders"), _msg("orders", [order, {**order,
                                                                      "order_id": "SO-8"}]))
            rec.publish(topics.erp("inventory"), inventory)
        rec.publish(topics.erp("orders"), _msg("orders", [{**order, "status": "closed"}]))
        rec.publish(topics.erp("sales"), _msg("sales", [{"sku": "GHOST", "date": "2025-09-01",
                                                         "orders": 1}]))
        rec.publish(topics.erp("sales"), _msg("sales", [{"sku": "LOTUS-GB-OEM",
                                                         "date": "09/01/2025", "orders": 1}]))
        rec.publish(topics.erp("inventory"), _msg("sales", [{"sku": "LOTUS-GB-OEM",
                                                             "date": "2025-09-01", "orders": 1}]))
        wait_until("three dead letters", lambda: len(store.dead_letters()) == 3, 20)
        wait_until("the closed order gone", lambda: store.open_orders()["order_id"].tolist()
                   == ["SO-8"], 20)
    finally:
        rec.close()
    hist = store.demand_history()
    assert hist[["orders", "cancellations"]].values.tolist() == [[40, 4], [55, 0]]
    assert store.inventory()["on_hand"].tolist() == [900]
    reasons = store.dead_letters()["reason"].tolist()
    assert any("unknown SKU 'GHOST'" in r for r in reasons)
    assert any("YYYY-MM-DD" in r for r in reasons)
    assert any("expected schema 'peakline.erp.inventory/1'" in r for r in reasons)


def test_parse_erp_checks_schema_and_rows() -> None:
    assert set(ERP_MESSAGES) == {"orders", "sales", "cancellations", "inventory", "prices",
                                 "shop_orders", "holds", "purchase_orders"}
    msg = parse_erp("sales", _msg("sales", [{"sku": "A", "date": "2025-01-02", "orders": 3}]))
    assert msg.rows[0].orders == 3  # type: ignore[attr-defined]
    for bad in (b"nope", _msg("sales", []),
                _msg("sales", [{"sku": "A", "date": "2025-01-02", "orders": -3}]),
                _msg("sales", [{"sku": "A", "date": "2025-01-02", "orders": 3, "x": 1}])):
        with pytest.raises(wire.WireError):
            parse_erp("sales", bad)
    with pytest.raises(wire.WireError, match="unknown ERP topic"):
        parse_erp("payroll", b"{}")


def _plan(rows: int) -> pd.DataFrame:
    return pd.DataFrame({
        "sku": ["LOTUS-GB-OEM"] * rows,
        "date": pd.date_range("2025-08-01", periods=rows, freq="D"),
        "units": range(rows),
    })


def test_new_plans_are_published_retained_with_ids(
    broker: Mosquitto, service: PlantService, site: str
) -> None:
    topics = wire.Topics(site)
    service.store.save_plan("production", "plan-A", "fc-1", _plan(3),
                            {"yield": 0.96, "capacity_per_day": 36000})
    rec = Recorder(broker.port, [topics.plan("production")])
    try:
        wait_until("the production plan", lambda: bool(rec.on(topics.plan("production"))), 20)
        msg = json.loads(rec.on(topics.plan("production"))[-1])
        assert (msg["schema"], msg["plan_id"], msg["forecast_id"]) == (
            "peakline.plan/1", "plan-A", "fc-1")
        assert (msg["part"], msg["parts"]) == (1, 1)
        assert msg["explanation"]["yield"] == 0.96
        assert msg["rows"][0] == {"sku": "LOTUS-GB-OEM", "date": "2025-08-01", "units": 0}
        service.store.save_plan("production", "plan-B", "fc-2", _plan(2), {})
        wait_until("the newer plan", lambda: json.loads(
            rec.on(topics.plan("production"))[-1])["plan_id"] == "plan-B", 20)
    finally:
        rec.close()
    late = Recorder(broker.port, [topics.plan("production")])  # retained for late joiners
    try:
        wait_until("retained plan", lambda: bool(late.on(topics.plan("production"))), 20)
        assert json.loads(late.on(topics.plan("production"))[0])["plan_id"] == "plan-B"
    finally:
        late.close()


def test_the_hold_release_schedule_goes_to_the_erp(
    broker: Mosquitto, service: PlantService, site: str
) -> None:
    """`peakline plant holds` stores the releases plan (no forecast behind it); the service
    publishes it retained like every other plan."""
    topics = wire.Topics(site)
    releases = pd.DataFrame({"held_until": ["2025-10-10", "2025-10-11"],
                             "sku": ["LOTUS-GB-OEM"] * 2, "region": ["north", "south"],
                             "orders": [3, 1], "boxes": [7, 2]})
    service.store.save_plan("releases", "holds-A", None, releases,
                            {"festival": "2025-10-06", "boxes": 9})
    rec = Recorder(broker.port, [topics.plan("releases")])
    try:
        wait_until("the releases plan", lambda: bool(rec.on(topics.plan("releases"))), 20)
        msg = json.loads(rec.on(topics.plan("releases"))[-1])
    finally:
        rec.close()
    assert (msg["kind"], msg["plan_id"], msg["forecast_id"]) == ("releases", "holds-A", None)
    assert msg["rows"] == releases.to_dict(orient="records")
    assert msg["explanation"] == {"festival": "2025-10-06", "boxes": 9}


def test_big_plans_are_split_into_parts_and_exported_as_csv(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url) as store:
        assert plan_messages(store, "s1", "packaging") == []
        store.save_plan("packaging", "pk-1", "fc-1", _plan(3000), {"lead_time_days": 42})
        msgs = plan_messages(store, "s1", "packaging", part_bytes=20_000)
        assert len(msgs) > 3
        assert msgs[0][0] == "peakline/v1/s1/plans/packaging"
        assert msgs[1][0] == "peakline/v1/s1/plans/packaging/2"
        parts = [json.loads(p) for _t, p in msgs]
        assert all(len(p) <= 20_000 for _t, p in msgs)
        assert {p["plan_id"] for p in parts} == {"pk-1"}
        assert [p["part"] for p in parts] == list(range(1, len(msgs) + 1))
        assert sum(len(p["rows"]) for p in parts) == 3000
        out = export_plan_csv(store, "packaging", tmp_path / "out" / "packaging.csv")
        back = pd.read_csv(out)
        assert len(back) == 3000 and back["date"].iloc[0] == "2025-08-01"
        info = json.loads(out.with_suffix(".explanation.json").read_text())
        assert info["plan_id"] == "pk-1" and info["explanation"] == {"lead_time_days": 42}
        with pytest.raises(DataError, match="no inventory plan"):
            export_plan_csv(store, "inventory", tmp_path / "x.csv")


def test_every_plan_kind_exports_its_dates_as_days(store: Store, tmp_path: Path) -> None:
    data = generate(seed=2, years=2, n_skus=6, shop=False)
    write(data, tmp_path / "erp")
    store.import_dir(tmp_path / "erp")
    fc = forecast_demand(data["demand"].rename(columns={"date": "ds"}), data["skus"], 60,
                         HolidayCalendar.default())
    store.save_forecast(f"fc-{uuid.uuid4().hex[:6]}", fc, {})
    plan_from_store(store, PlanConfig(), HolidayCalendar.default())
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}T")
    for kind in wire.FORECAST_PLAN_KINDS:
        out = export_plan_csv(store, kind, tmp_path / f"{kind}.csv")
        text = out.read_text()
        assert not stamp.search(text), (kind, stamp.search(text))
        rows = [r for _t, p in plan_messages(store, "s1", kind) for r in json.loads(p)["rows"]]
        assert not any(stamp.match(str(v)) for r in rows for v in r.values()), kind
    buy = pd.read_csv(tmp_path / "purchases.csv", dtype=str)
    for col in ("need_date", "order_by", "earliest_arrival"):
        assert buy[col].map(dt.date.fromisoformat).notna().all(), col
