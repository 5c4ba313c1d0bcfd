"""The holiday forecaster: a round trip on a small sample, coherence, net demand, golden totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peakline.demo.sample_erp import generate
from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.demand import forecast_demand, rollup
from plant.forecast.model import HolidayForecaster

H = 30


@pytest.fixture(scope="module")
def cal() -> HolidayCalendar:
    return HolidayCalendar.default()


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    data = generate(seed=5, years=3, n_skus=9)
    data["history"] = data["demand"].rename(columns={"date": "ds"})
    return data


@pytest.fixture(scope="module")
def fc(small: dict[str, pd.DataFrame], cal: HolidayCalendar) -> pd.DataFrame:
    return forecast_demand(small["history"], small["skus"], H, cal)


def test_shape_and_quantile_order(fc: pd.DataFrame, small: dict[str, pd.DataFrame]) -> None:
    assert len(fc) == 9 * H
    assert set(fc["sku"]) == set(small["skus"]["sku"])
    days = pd.to_datetime(fc["ds"])
    assert days.min() == pd.Timestamp("2026-08-01") and days.max() == pd.Timestamp("2026-08-30")
    for prefix in ("orders", "cancel"):
        assert (fc[f"{prefix}_p10"] <= fc[f"{prefix}_p50"] + 1e-9).all()
        assert (fc[f"{prefix}_p50"] <= fc[f"{prefix}_p90"] + 1e-9).all()
        assert (fc[f"{prefix}_p10"] >= 0).all()
    assert np.allclose(fc["net_mean"], fc["orders_mean"] - fc["cancel_mean"])


def test_net_demand_quantiles_are_ordered(fc: pd.DataFrame) -> None:
    """Net demand is what the plans use: its quantiles must not cross, on any row.

    The fixture has days of a lumpy OEM SKU whose median cancellations exceed its median
    orders (net_p50 < 0); a floor on net_p10 alone put it above net_p50 there.
    """
    assert (fc["net_p50"] < 0).any(), "the fixture no longer has the rows that crossed"
    assert (fc["net_p10"] <= fc["net_p50"] + 1e-9).all()
    assert (fc["net_p50"] <= fc["net_p90"] + 1e-9).all()
    for q in ("p10", "p50", "p90"):
        assert np.allclose(fc[f"net_{q}"], fc[f"orders_{q}"] - fc["cancel_p50"])


def test_recorded_totals(fc: pd.DataFrame) -> None:
    """Golden values recorded from this seed; a change here is a change in the model."""
    totals = fc[["orders_p50", "cancel_p50", "net_p10", "net_p90"]].sum()
    assert totals["orders_p50"] == pytest.approx(11611.9, rel=0.02)
    assert totals["cancel_p50"] == pytest.approx(134.4, rel=0.05)
    assert totals["net_p10"] == pytest.approx(4879.5, rel=0.03)
    assert totals["net_p90"] == pytest.approx(34775.4, rel=0.03)


def test_sku_forecast_adds_up_to_the_channel_model(
    fc: pd.DataFrame, small: dict[str, pd.DataFrame], cal: HolidayCalendar,
) -> None:
    hist = small["history"].merge(small["skus"][["sku", "channel"]])
    agg = hist.groupby(["channel", "ds"], as_index=False)["orders"].sum()
    agg = agg.rename(columns={"channel": "unique_id", "orders": "y"})
    agg["ds"] = pd.to_datetime(agg["ds"])
    direct = HolidayForecaster(cal).forecast(agg, H).rename(columns={"unique_id": "channel"})
    direct = direct.set_index(["channel", "ds"])
    by_channel = rollup(fc, small["skus"], by=("channel",), freq=None)
    by_channel = by_channel.set_index(["channel", "ds"])
    joined = by_channel.join(direct, how="inner")
    assert len(joined) == 3 * H
    assert np.allclose(joined["orders_p50"], joined["p50"], rtol=1e-9)
    total = rollup(fc, small["skus"], by=(), freq=None)
    assert np.allclose(total["net_p50"].sum(), fc["net_p50"].sum())


def test_festival_is_forecast_where_the_lunar_calendar_puts_it(
    small: dict[str, pd.DataFrame], cal: HolidayCalendar,
) -> None:
    hist = small["history"].merge(small["skus"][["sku", "channel"]])
    eco = hist[hist["channel"] == "ecommerce"].groupby("ds", as_index=False)["orders"].sum()
    eco = eco.rename(columns={"orders": "y"}).assign(unique_id="eco")
    eco["ds"] = pd.to_datetime(eco["ds"])
    train = eco[eco["ds"] < "2025-08-20"]
    out = HolidayForecaster(cal).forecast(train, 60).set_index("ds")
    peak = out.loc["2025-09-20":"2025-10-04", "p50"].mean()
    quiet = out.loc["2025-08-20":"2025-08-31", "p50"].mean()
    after = out.loc["2025-10-08":"2025-10-18", "p50"].mean()
    assert peak > 5 * quiet
    assert after < quiet
    actual = eco.set_index("ds").loc["2025-09-20":"2025-10-04", "y"].mean()
    assert peak == pytest.approx(actual, rel=0.35)


def test_bad_input_is_a_data_error(small: dict[str, pd.DataFrame], cal: HolidayCalendar) -> None:
    with pytest.raises(DataError, match="lacks column"):
        forecast_demand(small["history"].drop(columns="cancellations"), small["skus"], H, cal)
    with pytest.raises(DataError, match="SKU master"):
        forecast_demand(small["history"], small["skus"].iloc[1:], H, cal)
    with pytest.raises(DataError, match="too short"):
        forecast_demand(small["history"][small["history"]["ds"] > "2026-06-01"],
                        small["skus"], H, cal)
    with pytest.raises(DataError, match="unknown forecast level"):
        forecast_demand(small["history"], small["skus"], H, cal, level="galaxy")


def test_mean_of_a_lumpy_series_carries_its_season_volume(cal: HolidayCalendar) -> None:
    """A brand-OEM-like series: a few large orders in the weeks before Mid-Autumn, next to
    nothing otherwise. Its median day is near zero, but the mean must carry the season's
    volume (one smearing factor for the whole, mostly quiet, year left it 90% short)."""
    rng = np.random.default_rng(11)
    days = pd.date_range("2022-01-01", "2025-08-06")
    fest = pd.to_datetime([cal.festival("mid_autumn", y) for y in range(2022, 2026)])
    to_fest = np.array([min(((f - d).days for f in fest if f >= d), default=999)
                        for d in days])
    season = (to_fest >= 0) & (to_fest < 42)
    y = rng.poisson(2.0, len(days)) + np.where(season & (rng.random(len(days)) < 0.1),
                                               1000.0, 0.0)
    fc = HolidayForecaster(cal).forecast(pd.DataFrame({"unique_id": "oem", "ds": days,
                                                       "y": y}), 60)
    ahead = pd.to_datetime(fc["ds"])
    window = (ahead > fest[-1] - pd.Timedelta(days=42)) & (ahead <= fest[-1])
    expected = 42 * (2.0 + 0.1 * 1000.0)
    assert fc.loc[window, "p50"].sum() < 0.3 * expected  # the median day has no order
    assert 0.6 * expected < fc.loc[window, "mean"].sum() < 1.6 * expected
