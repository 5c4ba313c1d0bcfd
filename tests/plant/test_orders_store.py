"""Web shop orders and holds into the store (CSV and MQTT): round trip, and bad input refused
with one line and nothing stored."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline import wire
from peakline.demo.sample_erp import generate, write
from peakline.errors import DataError
from plant.broker.process import Mosquitto
from plant.service import PlantService
from plant.store import Store

SKU = {"sku": "SNW-GB4-ECO01", "flavour": "snow_skin", "packaging": "gift_box_4",
       "channel": "ecommerce", "price": 118.0, "unit_cost": 40.0, "salvage_value": 12.0,
       "shelf_life_days": 21, "units_per_case": 12}
HEADER = "order_id,customer,placed_at,sku,qty,unit_price,region,delivery_date,cancelled_at\n"
LINES = ("W1,C1,2025-09-20T10:00,SNW-GB4-ECO01,2,118,shenzhen,2025-10-03,\n"
         "W2,C2,2025-09-21T11:30,SNW-GB4-ECO01,1,118,beijing,2025-10-04,2025-09-25T09:00\n")


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sample_history_round_trips(tmp_path: Path, store: Store) -> None:
    data = generate(seed=11, years=2, n_skus=8)
    write(data, tmp_path / "erp")
    counts = store.import_dir(tmp_path / "erp")
    assert counts["shop_orders"] == len(data["shop_orders"])
    back = store.shop_orders()
    cols = ["order_id", "customer", "placed_at", "sku", "qty", "region", "delivery_date",
            "cancelled_at", "held_until"]
    want = data["shop_orders"][cols].sort_values(["order_id", "sku"]).reset_index(drop=True)
    got = back[cols].sort_values(["order_id", "sku"]).reset_index(drop=True)
    assert want.astype(str).equals(got.astype(str))


@pytest.mark.parametrize(("line", "column", "message"), [
    ("W9,C9,2099-01-01T08:00,SNW-GB4-ECO01,1,118,wuhan,2099-01-03,", "placed_at",
     "in the future"),
    ("W9,C9,2025-09-20T08:00,SNW-GB4-ECO01,1,118,wuhan,2025-10-03,2025-09-19T08:00",
     "cancelled_at", "before the order was placed"),
    ("W9,C9,2025-09-20T08:00,SNW-GB4-ECO01,1,118,wuhan,2025-09-19,", "delivery_date",
     "before the order was placed"),
    ("W9,C9,2025-09-20 08:00,SNW-GB4-ECO01,1,118,wuhan,2025-10-03,", "placed_at",
     "not a time in YYYY-MM-DDTHH:MM form"),
    ("W9,C9,2025-09-20T08:00,GHOST,1,118,wuhan,2025-10-03,", "sku", "unknown SKU 'GHOST'"),
    ("W9,C9,2025-09-20T08:00,SNW-GB4-ECO01,0,118,wuhan,2025-10-03,", "qty", "below 1"),
])
def test_bad_order_lines_are_refused_and_nothing_stored(
        tmp_path: Path, store: Store, line: str, column: str, message: str) -> None:
    store.upsert_rows("skus", [SKU])
    path = _csv(tmp_path, "shop_orders.csv", HEADER + LINES + line + "\n")
    with pytest.raises(DataError, match=rf"shop_orders\.csv, row 3 \(line 4\), column "
                                        rf"'{column}': {message}"):
        store.import_csv("shop_orders", path)
    assert store.shop_orders().empty


@pytest.mark.parametrize(("hold", "message"), [
    ("W7,2025-10-10", "column 'order_id': unknown web shop order 'W7'"),
    ("W2,2025-10-10", "order 'W2' was cancelled on 2025-09-25: a cancelled order cannot be "
                      "held"),
    ("W1,2025-10-01", "before the order's delivery date \\(2025-10-03\\)"),
    # snow skin keeps 21 days: made on the eve (10-05) it must be delivered by 10-19 to keep 7
    ("W1,2025-10-20", "beyond the shelf life: made on 2025-10-05 at the latest, a box with 21 "
                      "days of shelf life must be delivered by 2025-10-19 to keep 7 days"),
])
def test_bad_holds_are_refused_and_nothing_stored(
        tmp_path: Path, store: Store, hold: str, message: str) -> None:
    store.upsert_rows("skus", [SKU])
    third = "W3,C3,2025-09-22T10:00,SNW-GB4-ECO01,1,118,xian,2025-10-02,\n"
    store.import_csv("shop_orders", _csv(tmp_path, "shop_orders.csv", HEADER + LINES + third))
    with pytest.raises(DataError, match=rf"holds\.csv, row 2 \(line 3\).*{message}"):
        store.import_csv("holds", _csv(tmp_path, "holds.csv",
                                       f"order_id,held_until\nW3,2025-10-12\n{hold}\n"))
    assert store.holds().empty
    store.import_csv("holds", _csv(tmp_path, "holds.csv", "order_id,held_until\nW1,2025-10-19\n"))
    assert store.shop_orders().set_index("order_id")["held_until"].to_dict() == {
        "W1": "2025-10-19", "W2": "", "W3": ""}


def test_holds_given_with_the_orders_are_checked_in_the_same_import(
        tmp_path: Path, store: Store) -> None:
    store.upsert_rows("skus", [SKU])
    head = HEADER.strip() + ",held_until\n"
    w1, w2 = LINES.splitlines()
    text = f"{head}{w1},2025-10-09\n{w2},2025-10-09\n"
    with pytest.raises(DataError, match="cancelled order cannot be held"):
        store.import_csv("shop_orders", _csv(tmp_path, "shop_orders.csv", text))
    assert store.shop_orders().empty and store.holds().empty
    text = f"{head}{w1},2025-10-09\n{w2},\n"
    assert store.import_csv("shop_orders", _csv(tmp_path, "shop_orders.csv", text)) == 2
    assert store.holds()["held_until"].tolist() == [pd.Timestamp("2025-10-09")]


def _msg(kind: str, rows: list[dict[str, object]]) -> bytes:
    return json.dumps({"schema": f"peakline.erp.{kind}/1", "source": "shop",
                       "rows": rows}).encode()


def test_shop_orders_and_holds_over_mqtt(broker: Mosquitto, service: PlantService,
                                         site: str) -> None:
    topics = wire.Topics(site)
    store = service.store
    store.upsert_rows("skus", [SKU])
    line = {"order_id": "W1", "customer": "C1", "placed_at": "2025-09-20T10:00",
            "sku": SKU["sku"], "qty": 2, "unit_price": 118.0, "region": "shenzhen",
            "delivery_date": "2025-10-03"}
    later = (dt.datetime.now() + dt.timedelta(days=2)).isoformat(timespec="minutes")
    rec = Recorder(broker.port, [])
    try:
        for _ in range(2):  # the same messages twice change nothing
            rec.publish(topics.erp("shop_orders"), _msg("shop_orders", [line]))
        rec.publish(topics.erp("shop_orders"), _msg("shop_orders", [
            {**line, "order_id": "W2", "cancelled_at": "2025-09-22T08:00"}]))
        wait_until("two orders", lambda: len(store.shop_orders()) == 2, 20)
        rec.publish(topics.erp("holds"), _msg("holds", [{"order_id": "W1",
                                                         "held_until": "2025-10-09"}]))
        rec.publish(topics.erp("holds"), _msg("holds", [{"order_id": "W2",
                                                         "held_until": "2025-10-09"}]))
        rec.publish(topics.erp("shop_orders"), _msg("shop_orders", [
            {**line, "order_id": "W3", "placed_at": later}]))
        wait_until("two dead letters", lambda: len(store.dead_letters()) == 2, 20)
        wait_until("the hold", lambda: len(store.holds()) == 1, 20)
    finally:
        rec.close()
    reasons = " ".join(store.dead_letters()["reason"])
    assert "a cancelled order cannot be held" in reasons
    assert "in the future" in reasons
    orders = store.shop_orders().set_index("order_id")
    assert orders.loc["W1", "held_until"] == "2025-10-09"
    assert orders.loc["W2", "cancelled_at"] == "2025-09-22T08:00"
    assert "W3" not in orders.index
