"""Material prices: the no-gaps rule, the price model, bands and alerts, buy-ahead calls."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.mqtt import Recorder
from support.waiting import wait_until

from peakline.demo.sample_master import materials_table, sku_table
from peakline.demo.sample_prices import price_history
from peakline.errors import DataError
from peakline.wire import WireError
from plant.broker.process import Mosquitto
from plant.calendar import HolidayCalendar
from plant.erp.bridge import apply_erp_message
from plant.prices.buyahead import buy_ahead, season_cost
from plant.prices.history import find_gap
from plant.prices.model import fit_price_model
from plant.prices.report import fit_models, price_alerts
from plant.service import PlantService
from plant.store import Store

END = dt.date(2026, 7, 31)
CAL = HolidayCalendar.default()


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    mats = materials_table(sku_table(36, np.random.default_rng(1)))
    return price_history(mats, END, years=4, seed=7, cal=CAL)


def _series(values: list[float], start: str = "2024-01-01", freq: str = "W-MON",
            item: str = "flour") -> pd.DataFrame:
    dates = pd.date_range(start, periods=len(values), freq=freq)
    return pd.DataFrame({"item": item, "date": dates.strftime("%Y-%m-%d"), "price": values})


def test_gaps_are_found_whatever_the_cadence() -> None:
    weekly = list(pd.date_range("2024-01-01", periods=20, freq="W-MON"))
    assert find_gap(weekly) is None
    holed = weekly[:8] + weekly[9:]
    gap = find_gap(holed)
    assert gap is not None and gap[:2] == (weekly[7], weekly[9]) and gap[2] == 7
    assert find_gap(list(pd.date_range("2020-01-01", periods=40, freq="MS"))) is None
    months = list(pd.date_range("2020-01-01", periods=40, freq="MS"))
    assert find_gap(months[:10] + months[11:]) is not None
    assert find_gap(list(pd.bdate_range("2024-01-01", periods=60))) is None  # weekends


def test_bad_prices_are_refused_and_nothing_stored(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        store.upsert_rows("materials", [{
            "item": "flour", "kind": "material", "unit": "kg", "lead_time_days": 5, "moq": 1,
            "pack_multiple": 1, "unit_cost": 4.5, "shelf_life_days": 365}])
        good = _series([4.5 + 0.01 * i for i in range(12)])
        assert store.upsert_rows("prices", good) == 12
        cases = {
            "negative": (good.assign(price=good["price"].where(good.index != 3, -1.0)),
                         r"row 4 .*column 'price': must be greater than 0 \(got '-1.0'\)"),
            "text": (good.assign(price=good["price"].astype(object).where(good.index != 2,
                                                                            "n/a")),
                     r"row 3 .*column 'price': not a number"),
            "gap": (_series([5.0] * 6, start="2024-06-03"),
                    r"price history of 'flour' has a gap from 2024-03-18 to 2024-06-03"),
            "unknown item": (good.assign(item="saffron"),
                             "unknown material or packaging item 'saffron'"),
        }
        for name, (rows, message) in cases.items():
            path = tmp_path / f"{name}.csv"
            rows.to_csv(path, index=False)
            with pytest.raises(DataError, match=message):
                store.import_csv("prices", path)
        row = {"item": "flour", "date": "2024-09-02", "price": 5.1}
        late = json.dumps({"schema": "peakline.erp.prices/1", "rows": [row]},
                          separators=(",", ":")).encode()
        with pytest.raises(DataError, match="has a gap from 2024-03-18 to 2024-09-02"):
            apply_erp_message(store, "prices", late)
        negative = late.replace(b'"2024-09-02","price":5.1', b'"2024-03-25","price":-5')
        with pytest.raises(WireError, match="greater than 0"):
            apply_erp_message(store, "prices", negative)
        nan = late.replace(b'5.1', b'"cheap"')
        with pytest.raises(WireError, match="valid number"):
            apply_erp_message(store, "prices", nan)
        assert len(store.prices()) == 12
        ok = late.replace(b"2024-09-02", b"2024-03-25")
        assert apply_erp_message(store, "prices", ok) == 1 and len(store.prices()) == 13
    finally:
        store.close()


def test_the_festival_run_up_is_learned_and_a_random_walk_is_left_alone(
        history: pd.DataFrame) -> None:
    lotus = fit_price_model("lotus_paste", history[history["item"] == "lotus_paste"], cal=CAL)
    assert lotus.method == "seasonal"
    assert lotus.scores["seasonal"] < lotus.scores["random_walk"]
    p10, p50, p90 = lotus.quantiles("2026-08-24")
    assert p10 < p50 < p90 and p50 > 1.1 * lotus.last_price  # the run-up is ahead
    walk = np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.03, 200))) * 10
    rw = fit_price_model("x", _series(list(walk)), cal=CAL)
    assert rw.method == "random_walk"
    lo, hi = rw.quantiles(rw.last_date + pd.Timedelta(weeks=8), (0.1, 0.9))
    assert lo < rw.last_price < hi


def test_a_price_that_leaves_its_band_raises_an_alert(history: pd.DataFrame) -> None:
    flour = history[history["item"] == "flour"]
    assert price_alerts(fit_models(flour, CAL)).empty
    jump = pd.concat([flour, pd.DataFrame([{"item": "flour", "date": "2026-08-03",
                                            "price": flour["price"].iloc[-1] * 1.4}])])
    alerts = price_alerts(fit_models(jump, CAL))
    assert alerts["item"].tolist() == ["flour"] and alerts["direction"].iloc[0] == "above"
    assert alerts["price"].iloc[0] > alerts["high"].iloc[0]


def _orders(item: str, order_by: str, qty: float = 1000.0) -> pd.DataFrame:
    when = pd.Timestamp(order_by)
    return pd.DataFrame([{"item": item, "kind": "material", "unit": "kg", "qty": qty,
                          "order_by": when.date(), "need_date": (when + pd.Timedelta(days=5))
                          .date()}])


def test_buy_now_only_when_the_rise_beats_holding_and_the_goods_keep() -> None:
    rising = fit_price_model("a", _series([10 * 1.01**i for i in range(120)]))
    flat = fit_price_model("b", _series([10.0] * 120))
    today = (rising.last_date + pd.Timedelta(days=1)).date()
    later = (rising.last_date + pd.Timedelta(weeks=8)).strftime("%Y-%m-%d")
    mats = pd.DataFrame([{"item": "a", "shelf_life_days": 365},
                         {"item": "b", "shelf_life_days": 365}])
    models = {"a": rising, "b": flat}
    calls = buy_ahead(pd.concat([_orders("a", later), _orders("b", later)]), mats, models,
                      today, holding_cost_rate=0.25)
    by = calls.set_index("item")
    assert by.loc["a", "call"] == "buy now" and by.loc["a", "expected_saving"] > 0
    assert by.loc["b", "call"] == "order-by date" and by.loc["b", "expected_saving"] < 0
    assert by.loc["b", "holding_cost"] == pytest.approx(1000 * 10 * 0.25 * 55 / 365, rel=0.05)
    short = mats.assign(shelf_life_days=30)
    calls = buy_ahead(_orders("a", later), short, models, today)
    assert calls["call"].iloc[0] == "order-by date" and "would not keep" in calls["reason"].iloc[0]
    calls = buy_ahead(_orders("a", later), mats, models, today, storage_limits={"a": 500.0})
    assert calls["call"].iloc[0] == "order-by date" and "store full" in calls["reason"].iloc[0]
    cost = season_cost(buy_ahead(_orders("a", later), mats, models, today), models, 0.2, 0.25,
                       today)
    for policy in ("order_by", "calls"):
        c = cost[policy]
        assert c["p10"] < c["p50"] < c["p90"]
    assert cost["calls"]["mean"] < cost["order_by"]["mean"]


def test_prices_over_mqtt_are_stored_and_bad_ones_dead_lettered(
        service: PlantService, broker: Mosquitto, site: str) -> None:
    store = service.store
    store.upsert_rows("materials", [{
        "item": "sugar_syrup", "kind": "material", "unit": "kg", "lead_time_days": 7,
        "moq": 1, "pack_multiple": 1, "unit_cost": 6.0, "shelf_life_days": 365}])

    def message(price: object, date: str = "2026-07-27") -> bytes:
        return json.dumps({"schema": "peakline.erp.prices/1", "source": "erp",
                           "rows": [{"item": "sugar_syrup", "date": date, "price": price}]}
                          ).encode()

    with Recorder(broker.port) as erp:
        topic = f"peakline/v1/{site}/erp/prices"
        erp.publish(topic, message(-6.1))
        erp.publish(topic, message("six"))
        erp.publish(topic, message(6.1))
        wait_until("the good price stored", lambda: len(store.prices()) == 1, timeout=10)
        wait_until("two dead letters", lambda: len(store.dead_letters()) == 2, timeout=10)
    reasons = " | ".join(store.dead_letters()["reason"])
    assert "greater than 0" in reasons and "valid number" in reasons
    assert store.prices()["price"].tolist() == [6.1]
