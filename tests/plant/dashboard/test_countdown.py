"""The festival countdown before any plan: the plant's configured peak, as its calendar dates it."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from plant.calendar import HolidayCalendar
from plant.dashboard import DashboardConfig, serve_dashboard
from plant.dashboard.alerts import next_festival
from plant.dashboard.state import DashboardState
from plant.planning.config import PlanConfig
from plant.store import Store


def _events(tmp_path: Path, years: range) -> str:
    path = tmp_path / "events.csv"
    path.write_text("date,name,kind\n" + "".join(f"{y}-11-20,harvest_fair,festival\n"
                                                 for y in years))
    return str(path)


def test_next_festival_before_any_plan_is_the_configured_peak(tmp_path: Path) -> None:
    as_of = dt.date(2026, 8, 1)
    cal = HolidayCalendar.default()
    assert next_festival(as_of) == {"date": "2026-09-25", "name": "Mid-Autumn"}
    assert next_festival(as_of, None, cal, "christmas") == {"date": "2026-12-25",
                                                            "name": "Christmas"}
    assert next_festival(dt.date(2027, 1, 1), None, cal, "easter") == {"date": "2027-03-28",
                                                                       "name": "Easter"}
    own = HolidayCalendar.default(events_csv=_events(tmp_path, range(2025, 2028)))
    assert next_festival(as_of, None, own, "harvest_fair") == {"date": "2026-11-20",
                                                               "name": "Harvest Fair"}
    # a plan names the peak it was built around: that wins over the configuration
    plan = {"meta": {"explanation": {"festival": "2026-10-01", "peak": "dragon_boat"}}}
    assert next_festival(as_of, plan, cal, "christmas") == {"date": "2026-10-01",
                                                            "name": "Dragon Boat"}


def _coming(cal: HolidayCalendar, peak: str, today: dt.date) -> str:
    return min(d for d in cal.occurrences(peak, today.year, today.year + 1) if d >= today
               ).isoformat()


def test_live_countdown_shows_the_plant_s_peak(tmp_path: Path) -> None:
    events = _events(tmp_path, range(dt.date.today().year - 1, dt.date.today().year + 2))
    with Store.open(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        default = DashboardState(store, DashboardConfig()).live()
        christmas = DashboardState(store, DashboardConfig(), PlanConfig(peak="christmas")).live()
        own = DashboardState(store, DashboardConfig(),
                             PlanConfig(peak="harvest_fair", events=events)).live()
    today = dt.date.fromisoformat(default["as_of"])
    cal = HolidayCalendar.default()
    assert default["festival"] == {"date": _coming(cal, "mid_autumn", today),
                                   "name": "Mid-Autumn"}
    assert christmas["festival"] == {"date": _coming(cal, "christmas", today),
                                     "name": "Christmas"}
    assert own["festival"] == {
        "date": _coming(HolidayCalendar.default(events_csv=events), "harvest_fair", today),
        "name": "Harvest Fair"}
    assert default["errors"] == christmas["errors"] == own["errors"] == []


def test_a_peak_without_a_coming_date_is_said_not_guessed(tmp_path: Path) -> None:
    events = _events(tmp_path, range(2020, 2022))
    with Store.open(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        live = DashboardState(store, DashboardConfig(),
                              PlanConfig(peak="harvest_fair", events=events)).live()
    assert live["festival"] is None
    assert len(live["errors"]) == 1
    assert "festival: ConfigError: peak 'harvest_fair': the events file gives no date" in \
        live["errors"][0]


def test_served_dashboard_counts_down_to_the_configured_peak(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN", raising=False)
    monkeypatch.delenv("PEAKLINE_DASHBOARD_TOKEN_FILE", raising=False)
    with Store.open(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        handle = serve_dashboard(store, "127.0.0.1", 0, config=DashboardConfig(refresh_s=0.2),
                                 planning=PlanConfig(peak="christmas"))
        try:
            with urllib.request.urlopen(f"{handle.url}api/live", timeout=10) as resp:
                live = json.loads(resp.read())
        finally:
            handle.stop()
    assert live["festival"]["name"] == "Christmas"
    assert live["festival"]["date"].endswith("-12-25")


def _forecast(store: Store, meta: dict[str, str]) -> None:
    ds = pd.date_range("2026-11-20", periods=60)
    store.save_forecast("F-1", pd.DataFrame({"sku": "STOLLEN-1KG", "ds": ds, "net_p10": 1.0,
                                             "net_p50": 2.0, "net_p90": 3.0}), meta)


@pytest.mark.parametrize(("meta", "planning"), [
    ({"model": "test", "peak": "christmas"}, PlanConfig()),      # the forecast's own peak
    ({"model": "test"}, PlanConfig(peak="christmas")),           # else the plant's
], ids=["forecast's peak", "configured peak"])
def test_forecast_chart_marks_the_peak_beside_the_lunar_festivals(
        tmp_path: Path, meta: dict[str, str], planning: PlanConfig) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        _forecast(store, meta)
        fc = DashboardState(store, DashboardConfig(), planning).forecast()
    assert fc is not None
    assert fc["holidays"] == [{"date": "2026-12-25", "name": "Christmas"}]


def test_a_mid_autumn_plant_marks_no_festival_in_those_weeks(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'plant.db'}") as store:
        _forecast(store, {"model": "test"})
        fc = DashboardState(store, DashboardConfig()).forecast()
    assert fc is not None and fc["holidays"] == []
