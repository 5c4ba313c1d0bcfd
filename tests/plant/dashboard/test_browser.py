"""The dashboard in headless Chromium while ``peakline demo`` runs the whole line.

One demo line (two camera nodes, short recordings) for the module: the page loads without
console errors, the live counters rise, the charts draw data, reject thumbnails show, the
plan tables have rows and their CSV downloads; screenshots are saved under tmp_path (and
copied to $PEAKLINE_ARTIFACTS). At the end Ctrl-C stops the demo with no process left.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from support.procs import Proc, peakline
from support.waiting import WaitTimeout, wait_until

from peakline.procs import free_port

from .browser import chromium, console_errors, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
STARTUP_S = 600


@dataclass
class Demo:
    proc: Proc
    url: str
    workdir: Path


def _workdir_pids(workdir: Path) -> list[int]:
    """Processes whose command line names the demo's work dir (its children)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if str(workdir) in cmd and state != "Z":
            pids.append(int(entry.name))
    return pids


def fetch_live(url: str) -> dict[str, Any]:
    """The dashboard's live snapshot (it answers as soon as the demo printed its address)."""
    with urllib.request.urlopen(url.rstrip("/") + "/api/live", timeout=10) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    workdir = tmp_path_factory.mktemp("demo")
    port = free_port()
    proc = peakline(
        "demo", tmp_path_factory.mktemp("demo-run"),
        "demo", "--workdir", str(workdir), "--port", str(port), "--nodes", "2",
        "--seconds-per-line", "20", "--quiet",
        new_session=True,  # a Ctrl-C of its own, as in a terminal
    )
    with pytest.MonkeyPatch.context() as env:  # no operator token: the page opens freely
        env.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
        env.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)
        proc.start()
    try:
        proc.wait_for("peakline demo to print its dashboard address",
                      lambda: "Peakline dashboard:" in proc.output(), 120, 0.2)
        url = re.search(r"dashboard:\s+(\S+)", proc.output())
        assert url is not None
        preparing = fetch_live(url.group(1)).get("preparing")  # the dashboard is up first
        assert preparing is not None and preparing["phase"] == "preparing", preparing
        proc.wait_for("the demo line to run", lambda: "demo line is running" in proc.output(),
                      STARTUP_S, 0.5)
        yield Demo(proc, url.group(1), workdir)
    finally:
        proc.kill()  # its whole session


@pytest.fixture(scope="module")
def browser(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("chromium")
    driver = chromium(root / "profile", downloads=root / "downloads")
    driver.downloads = root / "downloads"  # type: ignore[attr-defined]
    driver.shots = root / "screenshots"  # type: ignore[attr-defined]
    try:
        driver.get(demo.url)
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, script: str, timeout: float, what: str) -> Any:
    """Poll a JavaScript expression until it is truthy; its value. On a timeout the page is
    saved as a screenshot ``timeout-<what>`` next to the others."""
    value = None

    def truthy() -> bool:
        nonlocal value
        value = driver.execute_script(f"return ({script});")
        return bool(value)

    try:
        wait_until(what, truthy, timeout, 0.5)
    except WaitTimeout:
        save_screenshot(driver, driver.shots, "timeout-" + re.sub(r"\W+", "-", what))
        raise
    return value


def canvas_has_drawing(driver: Any, selector: str) -> bool:
    """Whether the canvas under ``selector`` has pixels of more than one colour."""
    return bool(
        driver.execute_script(
            """
        const c = document.querySelector(arguments[0] + ' canvas');
        if (!c || !c.width) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) {
          if (d[i + 3] > 0) seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
          if (seen.size > 3) return true;
        }
        return false;
        """,
            selector,
        )
    )


def test_page_loads_without_console_errors(browser: Any) -> None:
    wait_for(browser, "window.peakline && window.peakline.updates >= 2", 60, "live updates")
    assert browser.find_element(By.ID, "conn").text.lower() == "live"
    assert console_errors(browser) == []


def test_live_counters_rise(browser: Any) -> None:
    wait_for(browser, "window.peakline.live.nodes.length === 2", 60, "both nodes")
    read = "window.peakline.live.nodes.reduce((s, n) => s + n.items, 0)"
    first = wait_for(browser, read, 120, "items counted")
    wait_for(browser, f"{read} > {first}", 120, "the item count to rise")
    cards = browser.find_elements(By.CSS_SELECTOR, "#nodes .node .pill.online")
    assert len(cards) == 2
    assert int(browser.find_element(By.ID, "kpi-ipm").text.replace(",", "")) > 0


def test_throughput_chart_draws_data(browser: Any) -> None:
    wait_for(
        browser,
        "window.peakline.charts.throughput && "
        "window.peakline.charts.throughput.data[0].length >= 3",
        60,
        "chart data",
    )
    assert canvas_has_drawing(browser, "#throughput-chart")


def test_reject_thumbnails_show(browser: Any) -> None:
    wait_for(
        browser,
        "[...document.querySelectorAll('#gallery img')]"
        ".some(i => i.complete && i.naturalWidth > 0)",
        240,
        "a reject thumbnail",
    )
    caption = browser.find_element(By.CSS_SELECTOR, "#gallery .thumb .meta").text
    assert caption.startswith("score ")


def test_forecast_chart_and_plan_tables(browser: Any) -> None:
    wait_for(browser, "window.peakline.charts.forecast", STARTUP_S, "the forecast chart")
    assert canvas_has_drawing(browser, "#forecast-chart")
    assert "Mid-Autumn" in browser.find_element(By.ID, "festival").text
    for kind in ("production", "inventory", "packaging"):
        browser.find_element(By.CSS_SELECTOR, f'.tab[data-kind="{kind}"]').click()
        rows = wait_for(
            browser,
            f"document.querySelectorAll('#plan-table table[data-kind=\"{kind}\"] tbody tr').length",
            STARTUP_S,
            f"the {kind} plan",
        )
        assert rows > 0
    save_screenshot(browser, browser.shots, "dashboard-plans")


def test_plan_csv_downloads(browser: Any) -> None:
    browser.find_element(By.CSS_SELECTOR, '.tab[data-kind="production"]').click()
    wait_for(
        browser,
        "document.querySelectorAll('#plan-table table[data-kind=\"production\"] tbody tr').length",
        60,
        "the production plan",
    )
    shown = len(browser.find_elements(By.CSS_SELECTOR, "#plan-table tbody tr"))
    browser.find_element(By.ID, "plan-csv").click()
    downloads: Path = browser.downloads
    wait_until("a CSV download", lambda: any(downloads.glob("*.csv")), 30, 0.2)
    files = list(downloads.glob("*.csv"))
    assert files[0].name.startswith("peakline-production-plan-")
    rows = list(csv.DictReader(io.StringIO(files[0].read_text())))
    assert len(rows) >= min(shown, 400) > 0


def test_wall_screen_rotation(browser: Any, demo: Demo) -> None:
    browser.get(demo.url + "?rotate=5")
    wait_for(browser, "window.peakline && window.peakline.updates >= 1", 60, "live updates")
    wait_for(
        browser,
        "document.querySelector('.tab.active').dataset.kind !== 'production'",
        30,
        "the plan tabs to rotate",
    )
    wait_for(
        browser,
        "document.getElementById('forecast-series').selectedIndex > 0",
        30,
        "the forecast series to rotate",
    )
    assert console_errors(browser) == []


def test_screenshots_and_clean_stop(browser: Any, demo: Demo) -> None:
    path = save_screenshot(browser, browser.shots, "dashboard")
    assert path.stat().st_size > 50_000
    assert console_errors(browser) == []
    assert _workdir_pids(demo.workdir)  # broker, plant, nodes are running
    assert demo.proc.pid is not None
    os.killpg(demo.proc.pid, signal.SIGINT)  # Ctrl-C in the demo's terminal
    assert demo.proc.wait(120) == 0, demo.proc.log_tail()
    assert "Peakline demo stopped." in demo.proc.output()
    wait_until("no process left behind", lambda: not _workdir_pids(demo.workdir), 10, 0.2)
