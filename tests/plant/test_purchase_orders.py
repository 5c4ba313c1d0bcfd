"""Open purchase orders: ERP import (CSV and MQTT), netted by the plan, firm in the feeds."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline import wire
from peakline.demo.sample_erp import generate, write
from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.demand import forecast_demand
from plant.planning.config import PlanConfig
from plant.planning.inventory import material_orders
from plant.planning.run import plan_from_store
from plant.service import PlantService
from plant.store import Store, schema
from plant.suppliers.publish import refresh_feeds
from plant.twin.config import TwinConfig
from plant.twin.run import load_world

SITE = "s1"
HEADER = "po_id,supplier,item,order_date,due_date,qty\n"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The sample factory's ERP folder (8 SKUs, open purchase orders included) and a forecast."""
    data = generate(seed=5, years=3, n_skus=8, shop=False)
    out = tmp_path_factory.mktemp("erp")
    write(data, out)
    fc = forecast_demand(data["demand"].rename(columns={"date": "ds"}), data["skus"], 60,
                         HolidayCalendar.default())
    return out, fc


def _csv(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "purchase_orders.csv"
    path.write_text(HEADER + body)
    return path


@pytest.mark.parametrize(("row", "message"), [
    ("PO-9,nobody,flour,2026-07-20,2026-07-30,100", r"row 2 .*'supplier': unknown supplier"),
    ("PO-9,mill-sugar,gift_box_4,2026-07-20,2026-07-30,100",
     r"row 2 .*'item': supplier 'mill-sugar' does not supply 'gift_box_4'"),
    ("PO-9,mill-sugar,flour,2026-07-20,2026-07-10,100", r"'due_date': due 2026-07-10 before"),
    ("PO-9,mill-sugar,flour,2026-07-20,2026-07-30,-5", r"'qty': "),
    ("PO-9,mill-sugar,flour,2026-07-20,2026-07-30,lots", r"'qty': not a number"),
])
def test_bad_purchase_orders_are_refused_and_nothing_stored(
    store: Store, tmp_path: Path, sample: tuple[Path, pd.DataFrame], row: str, message: str,
) -> None:
    store.import_dir(sample[0])
    before = store.purchase_orders()
    assert len(before) > 0
    good = "PO-8,mill-sugar,flour,2026-07-20,2026-07-30,100\n"
    with pytest.raises(DataError, match=message):
        store.import_csv("purchase_orders", _csv(tmp_path, good + row + "\n"))
    pd.testing.assert_frame_equal(store.purchase_orders(), before)


def test_open_purchase_orders_are_scheduled_receipts() -> None:
    plan = pd.DataFrame({"sku": ["A"] * 2, "date": pd.to_datetime(["2026-08-10", "2026-08-20"]),
                         "qty_start": [100.0, 100.0]})
    fc = pd.DataFrame({"sku": ["A"], "net_p10": [10.0], "net_p90": [10.0]})
    bom = pd.DataFrame({"sku": ["A"], "item": ["paste"], "qty_per_unit": [1.0]})
    materials = pd.DataFrame([{"item": "paste", "kind": "material", "unit": "kg",
                               "lead_time_days": 5, "moq": 0, "pack_multiple": 10,
                               "unit_cost": 1.0, "shelf_life_days": 90}])
    inventory = pd.DataFrame([{"item": "paste", "kind": "material", "on_hand": 150.0}])
    start = dt.date(2026, 8, 1)
    orders, _ = material_orders(plan, fc, bom, materials, inventory, start, level=0.5)
    assert orders["need_date"].tolist() == [dt.date(2026, 8, 20)]
    po = pd.DataFrame({"item": ["paste"], "due_date": pd.to_datetime(["2026-08-15"]),
                       "qty": [60.0]})
    orders, items = material_orders(plan, fc, bom, materials, inventory, start, level=0.5,
                                    on_order=po)
    assert orders.empty  # 150 on hand + 60 due before the second use covers 200
    assert items["on_order"].tolist() == [60.0]
    late = po.assign(due_date=pd.to_datetime(["2026-08-25"]))  # arrives after it is needed
    orders, _ = material_orders(plan, fc, bom, materials, inventory, start, level=0.5,
                                on_order=late)
    assert orders["need_date"].tolist() == [dt.date(2026, 8, 20)]
    overdue = po.assign(due_date=pd.to_datetime(["2026-07-20"]))  # counted from the start
    orders, _ = material_orders(plan, fc, bom, materials, inventory, start, level=0.5,
                                on_order=overdue)
    assert orders.empty


def test_the_plan_nets_them_and_the_feeds_show_them_firm(
    store: Store, sample: tuple[Path, pd.DataFrame],
) -> None:
    folder, fc = sample
    store.import_dir(folder)
    store.save_forecast(f"fc-{uuid.uuid4().hex[:6]}", fc.copy(), {})
    plan_from_store(store, PlanConfig(), HolidayCalendar.default())
    netted = store.latest_plan("materials")[1]  # type: ignore[index]
    pos = store.purchase_orders()
    on_order = pos.groupby("item")["qty"].sum()
    assert netted.set_index("item")["on_order"].to_dict() == pytest.approx(
        on_order.reindex(netted["item"], fill_value=0.0).to_dict())
    world, _plan, _fc = load_world(store, "latest", HolidayCalendar.default(), PlanConfig(),
                                   TwinConfig())
    arriving: dict[str, float] = {}
    for a in world.arrivals:  # the twin receives the open orders as well as the plan's
        name = world.items[a.item]
        arriving[name] = arriving.get(name, 0.0) + a.qty
    planned = store.latest_plan("purchases")[1].groupby("item")["qty"].sum()  # type: ignore[index]
    for item, qty in on_order.items():
        assert arriving[item] == pytest.approx(qty + planned.get(item, 0.0)), item
    feeds = {f.supplier: f for f in refresh_feeds(store, SITE)}
    for supplier, feed in feeds.items():
        firm = sorted((o.po_id, o.item, o.qty) for o in feed.orders if o.status == "firm")
        own = pos[pos["supplier"] == supplier]
        assert firm == sorted(zip(own["po_id"], own["item"], own["qty"], strict=True))
        assert all(o.po_id is None for o in feed.orders if o.status == "planned")
    # without them, the plan itself must buy what they bring: more planned than now
    planned_with = store.latest_plan("purchases")[1]["qty"].sum()  # type: ignore[index]
    with store.engine.begin() as conn:

        conn.execute(schema.purchase_orders.delete())
    plan_from_store(store, PlanConfig(), HolidayCalendar.default())
    assert store.latest_plan("purchases")[1]["qty"].sum() > planned_with  # type: ignore[index]


def _msg(rows: list[dict[str, object]]) -> bytes:
    return json.dumps({"schema": "peakline.erp.purchase_orders/1", "source": "sap",
                       "rows": rows}).encode()


def test_purchase_orders_over_mqtt_through_the_plant_service(
    broker: object, service: PlantService, site: str, sample: tuple[Path, pd.DataFrame],
) -> None:
    store = service.store
    store.import_dir(sample[0])
    store.close_purchase_orders(zip(store.purchase_orders()["po_id"],
                                    store.purchase_orders()["item"], strict=True))
    topic = wire.Topics(site).erp("purchase_orders")
    line = {"po_id": "PO-1", "supplier": "mill-sugar", "item": "flour",
            "order_date": "2026-07-28", "due_date": "2026-08-02", "qty": 3200}
    rec = Recorder(broker.port, [])  # type: ignore[attr-defined]
    try:
        for _ in range(2):  # twice: nothing changes the second time
            rec.publish(topic, _msg([line, {**line, "po_id": "PO-2", "qty": 800}]))
        rec.publish(topic, _msg([{**line, "qty": -1}]))
        rec.publish(topic, _msg([{**line, "supplier": "print-pack"}]))
        wait_until("two dead letters", lambda: len(store.dead_letters()) == 2, 20)
        wait_until("two lines", lambda: len(store.purchase_orders()) == 2, 20)
        rec.publish(topic, _msg([{**line, "status": "closed"}]))
        wait_until("PO-1 received", lambda: store.purchase_orders()["po_id"].tolist()
                   == ["PO-2"], 20)
    finally:
        rec.close()
    assert store.purchase_orders()["qty"].tolist() == [800.0]
    reasons = store.dead_letters()["reason"].tolist()
    assert any("qty" in r for r in reasons)
    assert any("does not supply 'flour'" in r for r in reasons)
