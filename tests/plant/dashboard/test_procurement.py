"""The suppliers and materials pages: their JSON, the feed CSV, and both pages in Chromium."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from peakline.demo.sample_erp import generate, write
from peakline.wire import SupplierReply, dump_payload
from plant.calendar import HolidayCalendar
from plant.dashboard import DashboardConfig, DashboardServer, serve_dashboard
from plant.forecast.demand import forecast_demand
from plant.planning.config import PlanConfig
from plant.planning.run import plan_from_store
from plant.prices.report import fit_models, price_alerts
from plant.store import Store
from plant.suppliers.publish import refresh_feeds
from plant.suppliers.replies import apply_reply

from .browser import chromium, console_errors
from .test_api import get, get_json

SITE = "s1"


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The sample factory planned, its feeds made, one supplier's answer stored."""
    cal = HolidayCalendar.default()
    data = generate(seed=4, years=3, n_skus=12)
    folder = tmp_path_factory.mktemp("erp")
    write(data, folder)
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('db') / 'plant.db'}")
    store.import_dir(folder)
    fc = forecast_demand(data["demand"].rename(columns={"date": "ds"}), data["skus"], 60, cal)
    store.save_forecast("fc-dash", fc, {})
    plan_from_store(store, PlanConfig(), cal)
    feeds = {f.supplier: f for f in refresh_feeds(store, SITE)}
    order = feeds["print-pack"].orders[0]
    monday = order.need_date.toordinal() - order.need_date.weekday()
    week = type(order.need_date).fromordinal(monday)
    reply = SupplierReply.model_validate({
        "site": SITE, "supplier": "print-pack", "feed_version": feeds["print-pack"].version,
        "lines": [{"item": order.item, "week": week.isoformat(), "status": "counter",
                   "qty": order.qty / 2}]})
    apply_reply(store, SITE, "print-pack", dump_payload(reply))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def server(planned: Store) -> Iterator[DashboardServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
        mp.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)
        handle = serve_dashboard(planned, "127.0.0.1", 0, config=DashboardConfig(refresh_s=1))
    try:
        yield handle
    finally:
        handle.stop()


def test_suppliers_api_shows_feeds_answers_and_gaps(server: DashboardServer) -> None:
    data = get_json(server.url, "/api/suppliers")
    by = {s["supplier"]: s for s in data["suppliers"]}
    assert set(by) == {"lotus-co", "yolk-farm-a", "yolk-farm-b", "mill-sugar", "print-pack",
                       "tray-works"}
    pack = by["print-pack"]
    assert {i["item"] for i in pack["feed"]["items"]} == {"gift_box_4", "gift_box_8", "tin_6"}
    short = [g for g in pack["gaps"] if g["answer"] == "short"]
    assert len(short) == 1 and short[0]["gap"] == pytest.approx(short[0]["asked"] / 2)
    assert all(g["answer"] == "no answer yet" for g in by["lotus-co"]["gaps"])
    assert pack["replies"][0]["status"] == "counter"
    firm = [g for g in pack["gaps"] if g["status"] == "firm"]  # the open purchase orders
    assert firm and all(g["po_id"] for g in firm)
    assert all(g["po_id"] is None for g in pack["gaps"] if g["status"] == "planned")


def test_feed_csv_download(server: DashboardServer) -> None:
    status, headers, body = get(server.url, "/api/suppliers/tray-works/feed.csv")
    assert status == 200 and "attachment" in headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert {r["section"] for r in rows} >= {"requirement", "order"}
    assert {r["item"] for r in rows} <= {"tray_4", "tray_6", "tray_8", "tray_2", "sachet",
                                        "carton"}
    assert get(server.url, "/api/suppliers/nobody/feed.csv")[0] == 404


def test_materials_api_shows_bands_calls_and_season_cost(server: DashboardServer) -> None:
    data = get_json(server.url, "/api/materials")
    assert "lotus_paste" in data["models"] and data["calls"]
    lotus = data["models"]["lotus_paste"]
    assert lotus["band"][0] < lotus["band"][1]
    cost = data["season_material_cost"]
    assert cost["order_by"]["p10"] < cost["order_by"]["p50"] < cost["order_by"]["p90"]
    assert len(data["history"]["lotus_paste"]) >= 50
    assert {c["call"] for c in data["calls"]} <= {"buy now", "order-by date"}


def test_a_price_after_the_plan_is_checked_against_its_band_at_once(
        server: DashboardServer, planned: Store) -> None:
    before = get_json(server.url, "/api/materials")
    assert not [a for a in before["alerts"] if a["item"] == "flour"]
    last = planned.prices(["flour"]).iloc[-1]
    spike = {"item": "flour", "date": (last["date"] + pd.Timedelta(days=7)).date(),
             "price": float(last["price"]) * 1.5}
    planned.upsert_rows("prices", [spike])
    alerts = get_json(server.url, "/api/materials")["alerts"]
    flour = [a for a in alerts if a["item"] == "flour"]
    assert len(flour) == 1 and flour[0]["direction"] == "above" and flour[0]["since_plan"]


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_both_pages_render_in_chromium(server: DashboardServer, tmp_path: Path) -> None:
    driver: Any = chromium(tmp_path / "profile")
    try:
        driver.get(server.url.rstrip("/") + "/suppliers")
        _wait(driver, "window.peakline && window.peakline.updates >= 1")
        sections = driver.find_elements(By.CSS_SELECTOR, "section.supplier")
        assert len(sections) == 6
        assert driver.find_elements(By.CSS_SELECTOR, "td.short")
        driver.get(server.url.rstrip("/") + "/materials")
        _wait(driver, "window.peakline && window.peakline.updates >= 1")
        calls = driver.find_element(By.ID, "calls").text
        assert "lotus_paste" in calls and ("buy now" in calls or "order-by date" in calls)
        assert driver.find_elements(By.CSS_SELECTOR, "#price-chart canvas")
        assert console_errors(driver) == []
    finally:
        driver.quit()


def _wait(driver: Any, script: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if driver.execute_script(f"return !!({script})"):
            return
        time.sleep(0.1)
    shown = driver.find_element(By.ID, "errors").text
    raise AssertionError(f"timed out waiting for {script}: page errors {shown!r}, console "
                         f"{console_errors(driver)}")


def test_new_prices_are_checked_with_the_plant_s_calendar_and_peak(planned: Store) -> None:
    """A plant built around Christmas: a lotus paste price after the plan is checked against
    the band of the model fitted around Christmas, as its plans fit it (the Mid-Autumn one
    differs)."""
    last = planned.prices(["lotus_paste"]).iloc[-1]
    planned.upsert_rows("prices", [{"item": "lotus_paste",
                                    "date": (last["date"] + pd.Timedelta(days=7)).date(),
                                    "price": float(last["price"]) * 1.5}])
    prices = planned.prices(["lotus_paste"])
    band = {}
    for peak in ("christmas", "mid_autumn"):
        cfg = PlanConfig(peak=peak)
        alert = price_alerts(fit_models(prices, cfg.calendar(), peak)).iloc[0]
        band[peak] = [alert["low"], alert["high"]]
    assert band["christmas"] != band["mid_autumn"]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
        mp.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)
        handle = serve_dashboard(planned, "127.0.0.1", 0, planning=PlanConfig(peak="christmas"))
    try:
        alerts = get_json(handle.url, "/api/materials")["alerts"]
    finally:
        handle.stop()
    lotus = [a for a in alerts if a["item"] == "lotus_paste"]
    assert len(lotus) == 1 and lotus[0]["since_plan"]
    assert [lotus[0]["low"], lotus[0]["high"]] == band["christmas"]
