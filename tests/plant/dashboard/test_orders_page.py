"""The orders page: risk distribution, offers, safekeeping against capacity, last season."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from plant.dashboard import DashboardConfig, DashboardServer, serve_dashboard
from plant.store import Store

from .browser import chromium, console_errors
from .test_api import get_json

DAY = pd.Timestamp("2025-10-05")


def _plan(store: Store, peak: str | None = "christmas") -> None:
    """A hold plan of a Christmas plant (``peak=None``: one stored before plans named their
    peak)."""
    offers = pd.DataFrame({
        "order_id": ["W1", "W2", "W3", "W4"], "region": ["shenzhen", "beijing", "xian", "wuhan"],
        "delivery": [DAY - pd.Timedelta(days=k) for k in (1, 2, 3, 4)],
        "boxes": [2, 1, 3, 1], "p_cancel": [0.45, 0.32, 0.08, 0.01],
        "margin_at_risk": [300.0, 150.0, 400.0, 20.0], "value": [60.0, 20.0, 8.0, -1.0],
        "offer": [True, True, False, False]})
    stock = pd.DataFrame({"day": pd.date_range(DAY, periods=3, freq="D"),
                          "held_boxes": [5, 12, 3], "offered_boxes": [3, 3, 3],
                          "expected_boxes": [6, 14, 4], "capacity": 10})
    meta = {"plan_id": "holds-1", "as_of": "2025-12-10", "festival": "2025-12-25",
            "open_orders": 4, "offered": 2, "offered_boxes": 3, "capacity_boxes": 10,
            "last_season": {"cancelled_boxes_14d": 200, "cancelled_boxes_14d_with_holds": 130,
                            "cancelled_boxes_cut_pct": 35.0, "leftover_boxes": 40,
                            "leftover_boxes_with_holds": 10, "leftover_cut_pct": 75.0,
                            "margin_saved": 9000.0, "safekeeping_cost": 1200.0},
            **({"peak": peak} if peak else {})}
    store.save_hold_plan("holds-1", offers, stock, meta)


@pytest.fixture
def server(store: Store) -> Iterator[DashboardServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
        mp.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)
        handle = serve_dashboard(store, "127.0.0.1", 0, config=DashboardConfig(refresh_s=1))
    try:
        yield handle
    finally:
        handle.stop()


def test_orders_api_before_and_after_a_hold_plan(server: DashboardServer, store: Store) -> None:
    empty = get_json(server.url, "/api/orders")
    assert empty["plan_id"] is None and empty["offers"] == []
    _plan(store)
    data = get_json(server.url, "/api/orders")
    assert data["plan_id"] == "holds-1"
    risk = {r["risk"]: (r["orders"], r["offered"]) for r in data["risk"]}
    assert risk["0%-5%"] == (1, 0) and risk["5%-10%"] == (1, 0)
    assert risk["30%-40%"] == (1, 1) and risk["40%-50%"] == (1, 1)
    assert [o["order_id"] for o in data["offers"]] == ["W1", "W2"]
    assert [s["held_boxes"] for s in data["stock"]] == [5, 12, 3]
    assert data["stock"][0]["day"].startswith("2025-10-05")
    assert data["last_season"]["cancelled_boxes_cut_pct"] == 35.0
    assert data["summary"]["capacity_boxes"] == 10
    assert data["festival_name"] == "Christmas"     # the countdown's name for the peak


def test_a_plan_without_its_peak_says_festival(server: DashboardServer, store: Store) -> None:
    _plan(store, peak=None)
    assert get_json(server.url, "/api/orders")["festival_name"] == "festival"


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_orders_page_renders_in_chromium(server: DashboardServer, store: Store,
                                         tmp_path: Path) -> None:
    _plan(store)
    driver: Any = chromium(tmp_path / "profile")
    try:
        driver.get(server.url.rstrip("/") + "/orders")
        end = time.monotonic() + 30
        while not driver.execute_script("return !!(window.peakline && "
                                        "window.peakline.updates >= 1)"):
            assert time.monotonic() < end, driver.find_element(By.ID, "errors").text
            time.sleep(0.1)
        assert len(driver.find_elements(By.CSS_SELECTOR, "#risk-table tbody tr")) == 8
        over = driver.find_elements(By.CSS_SELECTOR, "#stock td.short")
        assert [td.text for td in over] == ["12"]
        assert "W1" in driver.find_element(By.ID, "offers").text
        assert "35" in driver.find_element(By.ID, "last-season").text
        meta = driver.find_element(By.ID, "page-meta").text
        assert "Christmas 2025-12-25" in meta and "capacity 10 boxes" in meta
        assert console_errors(driver) == []
    finally:
        driver.quit()
