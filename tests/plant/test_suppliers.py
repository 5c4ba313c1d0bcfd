"""Suppliers: master data import, the split across suppliers, feeds per plan, replies."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline.demo.sample_erp import generate, write
from peakline.errors import DataError
from peakline.wire import SupplierFeed, SupplierReply, WireError, dump_payload, parse_payload
from plant.broker.process import Mosquitto
from plant.calendar import HolidayCalendar
from plant.forecast.demand import forecast_demand
from plant.planning.config import PlanConfig
from plant.planning.run import plan_from_store
from plant.service import PlantService
from plant.store import Store
from plant.suppliers.publish import refresh_feeds, write_feed_csv
from plant.suppliers.replies import apply_reply
from plant.suppliers.split import assign_suppliers

SITE = "s1"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The sample factory's ERP folder (12 SKUs) and a forecast of it."""
    cal = HolidayCalendar.default()
    data = generate(seed=4, years=3, n_skus=12)
    out = tmp_path_factory.mktemp("erp")
    write(data, out)
    fc = forecast_demand(data["demand"].rename(columns={"date": "ds"}), data["skus"], 60, cal)
    return out, fc


def _plan(store: Store, sample: tuple[Path, pd.DataFrame]) -> None:
    """Import the sample into ``store``, save its forecast and make one plan."""
    folder, fc = sample
    store.import_dir(folder)
    store.save_forecast(f"fc-{uuid.uuid4().hex[:6]}", fc.copy(), {})
    plan_from_store(store, PlanConfig(), HolidayCalendar.default())


@pytest.fixture(scope="module")
def planned_sqlite(
    tmp_path_factory: pytest.TempPathFactory, sample: tuple[Path, pd.DataFrame]
) -> Path:
    """A SQLite file planned once per module; ``planned`` hands each test its own copy."""
    path = tmp_path_factory.mktemp("planned") / "plant.db"
    with Store.open(f"sqlite:///{path}") as store:
        _plan(store, sample)
    return path


@pytest.fixture
def planned(
    request: pytest.FixtureRequest, db_url: str, sample: tuple[Path, pd.DataFrame]
) -> Iterator[Store]:
    """A store with the sample imported, its forecast and one plan, for this test alone
    (on SQLite a copy of ``planned_sqlite``; on PostgreSQL planned afresh)."""
    if db_url.startswith("sqlite:///"):
        src = sqlite3.connect(request.getfixturevalue("planned_sqlite"))
        dst = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
    with Store.open(db_url) as store:
        if not db_url.startswith("sqlite:///"):
            _plan(store, sample)
        yield store


def _orders(qty: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "item": "yolk",
                "need_date": dt.date(2026, 8, 26),
                "qty": qty,
                "order_by": dt.date(2026, 8, 5),
            }
        ]
    )


def _terms() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "supplier": "a",
                "item": "yolk",
                "moq": 1000.0,
                "pack_multiple": 1000.0,
                "capacity_per_week": 30000.0,
            },
            {
                "supplier": "b",
                "item": "yolk",
                "moq": 1000.0,
                "pack_multiple": 500.0,
                "capacity_per_week": 10000.0,
            },
        ]
    )


def test_split_follows_capacity_and_rounds_to_each_suppliers_terms() -> None:
    orders, short = assign_suppliers(_orders(20_000), _terms())
    got = orders.set_index("supplier")["qty"].to_dict()
    assert got == {"a": 15_000.0, "b": 5_000.0} and short.empty
    orders, _ = assign_suppliers(_orders(10_100), _terms())
    got = orders.set_index("supplier")["qty"].to_dict()
    assert got == {"a": 8_000.0, "b": 3_000.0}  # 7575 -> 8000 (packs of 1000), 2525 -> 3000


def test_a_counter_moves_the_need_to_the_other_supplier_or_leaves_a_shortfall() -> None:
    week = pd.Timestamp("2026-08-24")
    replies = pd.DataFrame(
        [
            {
                "supplier": "a",
                "item": "yolk",
                "week": week,
                "qty": 4_000.0,
                "delivery": week,
                "status": "counter",
            }
        ]
    )
    orders, short = assign_suppliers(_orders(20_000), _terms(), replies)
    assert orders.set_index("supplier")["qty"].to_dict() == {"a": 4_000.0, "b": 16_000.0}
    assert short.empty  # b has not answered: it is asked for the rest
    late = pd.DataFrame(
        [
            {
                "supplier": "a",
                "item": "yolk",
                "week": week,
                "qty": 15_000.0,
                "delivery": pd.Timestamp("2026-09-01"),
                "status": "counter",
            },  # after the need date
            {
                "supplier": "b",
                "item": "yolk",
                "week": week,
                "qty": 5_000.0,
                "delivery": week,
                "status": "confirm",
            },
        ]
    )
    orders, short = assign_suppliers(_orders(20_000), _terms(), late)
    assert orders.set_index("supplier")["qty"].to_dict() == {"b": 5_000.0}
    assert short["short_qty"].tolist() == [15_000.0]


def test_bad_master_data_is_refused_and_nothing_stored(
    store: Store, tmp_path: Path, sample: tuple[Path, pd.DataFrame]
) -> None:
    folder, _ = sample
    store.import_dir(folder)
    before = store.supplier_items()
    bad = tmp_path / "supplier_items.csv"
    rows = pd.read_csv(folder / "supplier_items.csv")
    rows.loc[3, "supplier"] = "nobody"
    rows.to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"row 4 .*column 'supplier': unknown supplier 'nobody'"):
        store.import_csv("supplier_items", bad)
    pd.testing.assert_frame_equal(store.supplier_items(), before)
    names = tmp_path / "suppliers.csv"
    names.write_text("supplier,name\nacme/2,Acme\n")
    with pytest.raises(DataError, match="column 'supplier': must be letters, digits"):
        store.import_csv("suppliers", names)
    assert "acme/2" not in set(store.suppliers()["supplier"])


def test_each_supplier_gets_its_own_items_only(planned: Store) -> None:
    feeds = {f.supplier: f for f in refresh_feeds(planned, SITE)}
    terms = planned.supplier_items()
    assert set(feeds) == set(planned.suppliers()["supplier"])
    for name, feed in feeds.items():
        own = set(terms.loc[terms["supplier"] == name, "item"])
        assert {i.item for i in feed.items} == own
        assert {w.item for w in feed.weeks} <= own and {o.item for o in feed.orders} <= own
        assert all(w.p10 <= w.p50 <= w.p90 for w in feed.weeks)
        assert all(o.order_by < o.need_date for o in feed.orders)
        assert feed.version == 1 and feed.changes == []
    yolk = [i.share for f in feeds.values() for i in f.items if i.item == "salted_egg_yolk"]
    assert len(yolk) == 2 and sum(yolk) == pytest.approx(1.0, abs=0.05)
    assert [f.version for f in refresh_feeds(planned, SITE)] == [1] * len(feeds)  # same plan


def test_a_new_plan_gives_a_new_version_with_its_changes(planned: Store) -> None:
    first = {f.supplier: f for f in refresh_feeds(planned, SITE)}
    _meta, fc = planned.latest_forecast()  # type: ignore[misc]
    fc[["net_p10", "net_p50", "net_p90"]] *= 1.5
    planned.save_forecast("fc-more", fc, {})
    plan_from_store(planned, PlanConfig(), HolidayCalendar.default())
    second = {f.supplier: f for f in refresh_feeds(planned, SITE)}
    for name, feed in second.items():
        assert feed.version == 2 and feed.plan_id != first[name].plan_id
    moved = [c for c in second["lotus-co"].changes if c.what == "requirement"]
    assert moved and all(
        c.after is not None and c.before is not None and c.after > c.before
        for c in moved
        if c.before
    )


def test_feed_as_csv(planned: Store, tmp_path: Path) -> None:
    path = write_feed_csv(planned, SITE, "print-pack", tmp_path / "feed.csv")
    df = pd.read_csv(path)
    assert set(df["section"]) >= {"requirement", "order"}
    assert set(df["item"]) <= {"gift_box_4", "gift_box_8", "tin_6"}
    with pytest.raises(DataError, match="unknown supplier 'nobody'"):
        write_feed_csv(planned, SITE, "nobody", tmp_path / "x.csv")


def _reply(
    feed_version: int,
    item: str,
    qty: float,
    supplier: str = "yolk-farm-a",
    week: str = "2026-08-03",
) -> bytes:
    return dump_payload(
        SupplierReply.model_validate(
            {
                "site": SITE,
                "supplier": supplier,
                "feed_version": feed_version,
                "lines": [{"item": item, "week": week, "status": "counter", "qty": qty}],
            }
        )
    )


def test_bad_replies_are_refused_and_nothing_stored(planned: Store) -> None:
    refresh_feeds(planned, SITE)
    with pytest.raises(DataError, match="'flour' is not an item this supplier delivers"):
        apply_reply(planned, SITE, "yolk-farm-a", _reply(1, "flour", 10))
    with pytest.raises(DataError, match="unknown supplier"):
        apply_reply(planned, SITE, "nobody", _reply(1, "flour", 10, supplier="nobody"))
    with pytest.raises(DataError, match="latest feed sent is version 1"):
        apply_reply(planned, SITE, "yolk-farm-a", _reply(7, "salted_egg_yolk", 10))
    with pytest.raises(WireError, match="sent on the topic of s1/yolk-farm-b"):
        apply_reply(planned, SITE, "yolk-farm-b", _reply(1, "salted_egg_yolk", 10))
    with pytest.raises(DataError, match="not a Monday"):
        apply_reply(
            planned, SITE, "yolk-farm-a", _reply(1, "salted_egg_yolk", 10, week="2026-08-04")
        )
    with pytest.raises(WireError, match="greater than or equal to 0"):
        apply_reply(
            planned,
            SITE,
            "yolk-farm-a",
            _reply(1, "salted_egg_yolk", 10).replace(b'"qty":10.0', b'"qty":-5'),
        )
    assert planned.supplier_replies().empty


def test_a_short_answer_becomes_an_exception_with_boxes_at_risk(planned: Store) -> None:
    feeds = {f.supplier: f for f in refresh_feeds(planned, SITE)}
    orders = [
        o
        for f in feeds.values()
        for o in f.orders
        if o.item == "salted_egg_yolk" and o.status == "planned"
    ]
    first = min(orders, key=lambda o: o.need_date)
    monday = first.need_date - dt.timedelta(days=first.need_date.weekday())
    for name in ("yolk-farm-a", "yolk-farm-b"):
        raw = _reply(
            feeds[name].version, "salted_egg_yolk", 1000.0, supplier=name, week=monday.isoformat()
        )
        assert apply_reply(planned, SITE, name, raw) == 1
    run = plan_from_store(planned, PlanConfig(), HolidayCalendar.default())
    exc = run.plans["exceptions"][0]
    short = exc[exc["kind"] == "supplier_shortfall"]
    assert len(short) == 1 and short["what"].iloc[0] == "salted_egg_yolk"
    assert short["value_at_risk"].iloc[0] > 0 and "boxes at risk" in short["detail"].iloc[0]
    buy = run.plans["purchases"][0]
    week = buy[
        (buy["item"] == "salted_egg_yolk")
        & (pd.to_datetime(buy["need_date"]) == pd.Timestamp(first.need_date))
    ]
    assert week.groupby("supplier")["qty"].sum().to_dict() == {
        "yolk-farm-a": 1000.0,
        "yolk-farm-b": 1000.0,
    }


def test_the_service_publishes_feeds_after_a_plan_and_stores_replies(
    service: PlantService,
    broker: Mosquitto,
    site: str,
    sample: tuple[Path, pd.DataFrame],
) -> None:
    folder, fc = sample
    store = service.store
    store.import_dir(folder)
    store.save_forecast("fc-mqtt", fc.copy(), {})
    with Recorder(broker.port) as sup:
        sup.subscribe(f"peakline/v1/{site}/suppliers/+/feed")
        run = plan_from_store(store, PlanConfig(), HolidayCalendar.default())
        topic = f"peakline/v1/{site}/suppliers/print-pack/feed"
        wait_until("the print-pack feed", lambda: sup.on(topic), timeout=10)
        feed = parse_payload(sup.on(topic)[-1], SupplierFeed)
        assert isinstance(feed, SupplierFeed) and feed.plan_id == run.plan_id
        assert {i.item for i in feed.items} == {"gift_box_4", "gift_box_8", "tin_6"}
        week = feed.weeks[0]
        good = dump_payload(
            SupplierReply.model_validate(
                {
                    "site": site,
                    "supplier": "print-pack",
                    "feed_version": feed.version,
                    "lines": [
                        {
                            "item": week.item,
                            "week": week.week.isoformat(),
                            "status": "confirm",
                            "qty": week.planned,
                        }
                    ],
                }
            )
        )
        bad = good.replace(week.item.encode(), b"flour")
        reply = f"peakline/v1/{site}/suppliers/print-pack/reply"
        sup.publish(reply, bad)
        sup.publish(reply, good)
        wait_until("the reply stored", lambda: len(store.supplier_replies()) == 1, timeout=10)
        wait_until("the bad reply dead-lettered", lambda: len(store.dead_letters()), timeout=10)
    dead = store.dead_letters()
    assert "'flour' is not an item this supplier delivers" in dead["reason"].iloc[0]
    assert store.supplier_replies()["item"].tolist() == [week.item]


def test_a_removed_suppliers_retained_feed_is_cleared(
    service: PlantService,
    broker: Mosquitto,
    site: str,
    sample: tuple[Path, pd.DataFrame],
) -> None:
    folder, fc = sample
    store = service.store
    store.import_dir(folder)
    store.save_forecast("fc-gone", fc.copy(), {})
    topic = f"peakline/v1/{site}/suppliers/tray-works/feed"
    with Recorder(broker.port) as sup:
        sup.subscribe(f"peakline/v1/{site}/suppliers/+/feed")
        plan_from_store(store, PlanConfig(), HolidayCalendar.default())
        wait_until("the tray-works feed", lambda: sup.on(topic), timeout=10)
        with pytest.raises(DataError, match="open purchase order"):
            store.remove_supplier("tray-works")  # its goods are still on order
        assert "tray-works" in set(store.suppliers()["supplier"])
        po = store.purchase_orders()
        po = po[po["supplier"] == "tray-works"]
        store.close_purchase_orders(zip(po["po_id"], po["item"], strict=True))
        done = store.remove_supplier("tray-works")
        assert done["suppliers"] == 1 and done["items"] == 6
        wait_until("the feed cleared", lambda: sup.on(topic)[-1] == b"", timeout=10)
    with Recorder(broker.port) as late:  # a new subscriber finds no feed retained for it
        late.subscribe(f"peakline/v1/{site}/suppliers/+/feed")
        other = f"peakline/v1/{site}/suppliers/lotus-co/feed"
        wait_until("the retained feeds", lambda: late.on(other), timeout=10)
        assert late.on(topic) == []
    with pytest.raises(DataError, match="unknown supplier 'tray-works'"):
        store.remove_supplier("tray-works")
