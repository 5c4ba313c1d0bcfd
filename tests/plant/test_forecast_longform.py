"""Forecasting any long-format history: regressors, closures, intervals, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.sales import shop_history

from peakline.errors import DataError
from plant.calendar import HolidayCalendar
from plant.forecast.longform import forecast_long

H = 28
CUT = pd.Timestamp("2023-03-19")  # 14 days before Easter 2023 (04-09)


@pytest.fixture(scope="module")
def shops() -> pd.DataFrame:
    return shop_history()


@pytest.fixture(scope="module")
def easter_forecast(shops: pd.DataFrame) -> pd.DataFrame:
    train = shops[shops["ds"] < CUT]
    future = shops[(shops["ds"] >= CUT) & (shops["ds"] < CUT + pd.Timedelta(days=H))]
    return forecast_long(train, H, HolidayCalendar("DE"), peak="easter",
                         future=future[["unique_id", "ds", "promo"]])


def test_forecast_columns_order_and_closures(easter_forecast: pd.DataFrame,
                                             shops: pd.DataFrame) -> None:
    fc = easter_forecast
    assert list(fc.columns[:6]) == ["unique_id", "ds", "p10", "p50", "p90", "mean"]
    assert len(fc) == 5 * H and fc["ds"].min() == CUT
    assert (fc["p10"] <= fc["p50"]).all() and (fc["p50"] <= fc["p90"]).all()
    assert (fc[["p10", "p50", "p90", "mean"]] >= 0).all().all()
    # Sundays and Good Friday / Easter Monday are closed: forecast as zero, not as demand
    ds = pd.to_datetime(fc["ds"])
    closed = (ds.dt.dayofweek == 6) | ds.isin(pd.to_datetime(["2023-04-07", "2023-04-10"]))
    assert (fc.loc[closed, ["p90", "mean"]] == 0).all().all()
    assert (fc.loc[~closed, "p50"] > 0).all()


def test_forecast_beats_seasonal_naive_and_its_mean_is_unbiased(
    easter_forecast: pd.DataFrame, shops: pd.DataFrame,
) -> None:
    actual = shops.merge(easter_forecast, on=["unique_id", "ds"])
    last_week = shops[(shops["ds"] >= CUT - pd.Timedelta(days=7)) & (shops["ds"] < CUT)]
    naive = actual[["unique_id", "ds"]].assign(dow=actual["ds"].dt.dayofweek).merge(
        last_week.assign(dow=last_week["ds"].dt.dayofweek)[["unique_id", "dow", "y"]]
        .rename(columns={"y": "naive"}), on=["unique_id", "dow"])
    actual = actual.merge(naive[["unique_id", "ds", "naive"]], on=["unique_id", "ds"])
    mae_ours = (actual["p50"] - actual["y"]).abs().mean()
    mae_naive = (actual["naive"] - actual["y"]).abs().mean()
    assert mae_ours < 0.7 * mae_naive
    bias = actual["mean"].sum() / actual["y"].sum() - 1
    assert abs(bias) < 0.08
    # the week before Easter is the rush: the forecast sees it coming
    rush = actual[(actual["ds"] >= "2023-04-03") & (actual["ds"] <= "2023-04-06")]
    before = actual[(actual["ds"] >= "2023-03-20") & (actual["ds"] <= "2023-03-23")]
    assert rush["p50"].sum() > 1.4 * before["p50"].sum()
    inside = ((actual["y"] >= actual["p10"]) & (actual["y"] <= actual["p90"]))
    open_days = actual["y"] > 0
    assert 0.6 <= inside[open_days].mean() <= 0.97


def _refusal(history: pd.DataFrame, match: str, future: pd.DataFrame | None = None) -> None:
    with pytest.raises(DataError, match=match):
        forecast_long(history, H, HolidayCalendar("DE"), peak="easter", future=future)


def test_bad_histories_name_the_series_and_the_column(shops: pd.DataFrame) -> None:
    small = shops[shops["ds"] >= "2022-01-01"].drop(columns="promo")
    gap = small.drop(index=small.index[(small["unique_id"] == "shop1")
                                       & (small["ds"] == "2022-05-05")])
    _refusal(gap, r"series 'shop1', column 'ds': no rows between 2022-05-04 and 2022-05-06")
    dup = pd.concat([small, small[small["unique_id"] == "shop2"].iloc[[7]]])
    _refusal(dup, r"series 'shop2', column 'ds': 2022-01-08 is given twice")
    neg = small.copy()
    neg.loc[neg.index[(neg["unique_id"] == "shop3")][4], "y"] = -2.0
    _refusal(neg, r"series 'shop3', column 'y': negative sales \(-2\) on 2022-01-05")
    short = small[(small["unique_id"] != "shop4") | (small["ds"] >= "2023-05-01")]
    _refusal(short, r"series 'shop4', column 'ds': 61 days of history, fewer than the 99 a 28-day")


def test_regressors_need_their_future_values(shops: pd.DataFrame) -> None:
    small = shops[shops["ds"] >= "2022-06-01"]
    _refusal(small, r"regressor 'promo' .* future values are missing")
    future = pd.DataFrame({"unique_id": "shop0", "ds": pd.date_range("2023-07-01", periods=H),
                           "promo": 0.0})
    _refusal(small, r"series 'shop1', column 'promo': no value for 2023-07-01", future)


def test_unknown_peak_is_refused(shops: pd.DataFrame) -> None:
    from peakline.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown peak 'eastr'"):
        forecast_long(shops, H, HolidayCalendar("DE"), peak="eastr")


def test_forecast_demand_at_sku_level_is_the_boosted_model_with_regressors(
    shops: pd.DataFrame, easter_forecast: pd.DataFrame,
) -> None:
    from plant.forecast.demand import forecast_demand

    hist = shops.rename(columns={"unique_id": "sku", "y": "orders"}).assign(cancellations=0.0)
    train = hist[hist["ds"] < CUT]
    future = hist[(hist["ds"] >= CUT) & (hist["ds"] < CUT + pd.Timedelta(days=H))]
    skus = pd.DataFrame({"sku": sorted(hist["sku"].unique())})
    fc = forecast_demand(train, skus, H, HolidayCalendar("DE"), level="sku", peak="easter",
                         future=future[["sku", "ds", "promo"]])
    assert len(fc) == len(easter_forecast)
    np.testing.assert_allclose(fc["orders_p50"], easter_forecast["p50"])
    np.testing.assert_allclose(fc["net_mean"], easter_forecast["mean"])
    assert (fc["cancel_p50"] == 0).all()


def test_forecast_demand_without_peak_follows_the_german_calendar(
    shops: pd.DataFrame, easter_forecast: pd.DataFrame,
) -> None:
    """No ``peak=``: the German shops' Easter surge picks Easter, not the Mid-Autumn default."""
    from plant.forecast.demand import forecast_demand

    hist = shops.rename(columns={"unique_id": "sku", "y": "orders"}).assign(cancellations=0.0)
    train = hist[hist["ds"] < CUT]
    future = hist[(hist["ds"] >= CUT) & (hist["ds"] < CUT + pd.Timedelta(days=H))]
    skus = pd.DataFrame({"sku": sorted(hist["sku"].unique())})
    fc = forecast_demand(train, skus, H, HolidayCalendar("DE"), level="sku",
                         future=future[["sku", "ds", "promo"]])
    np.testing.assert_allclose(fc["orders_p50"], easter_forecast["p50"])


def test_the_peak_is_chosen_from_the_calendar_and_the_surge() -> None:
    from plant.forecast.peak_choice import choose_peak

    days = pd.date_range("2021-01-01", "2023-12-31")
    christmas = np.array([(pd.Timestamp(d.year, 12, 25) - d).days for d in days])
    orders = 100.0 + np.where((christmas >= 0) & (christmas < 14), 150.0, 0.0)
    hist = pd.DataFrame({"ds": days, "orders": orders})
    assert choose_peak(hist, HolidayCalendar("DE")) == "christmas"
    assert choose_peak(hist.assign(orders=100.0), HolidayCalendar("DE")) == "mid_autumn"
    assert choose_peak(hist, HolidayCalendar("CN")) == "mid_autumn"


def test_a_quiet_stretch_alone_does_not_hand_a_series_to_the_seasonal_naive() -> None:
    """The last weeks repeat exactly, so there the seasonal naive is perfect; but it missed
    last year's Christmas rush, so the series heading into Christmas stays boosted."""
    days = pd.date_range("2021-01-04", "2023-12-03")
    to_xmas = np.array([(pd.Timestamp(d.year, 12, 24) - d).days for d in days])
    week = np.array([100.0, 90.0, 95.0, 110.0, 140.0, 160.0, 60.0])[days.dayofweek]
    rush = np.where((to_xmas >= 0) & (to_xmas <= 12), 2.5, 1.0)
    frames = [pd.DataFrame({"unique_id": f"s{i}", "ds": days, "y": (i + 1) * week * rush})
              for i in range(3)]
    history = pd.concat(frames, ignore_index=True)
    cal = HolidayCalendar("DE")
    fc = forecast_long(history, H, cal, peak="christmas")
    assert set(fc["model"]) == {"boosted"}
    # from the same quiet weeks without a peak ahead it keeps the (perfect) seasonal naive
    quiet = forecast_long(history[history["ds"] < "2023-09-01"], H, cal, peak="christmas")
    assert set(quiet["model"]) == {"seasonal_naive"}
