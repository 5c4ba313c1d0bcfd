"""The per-series candidates with regressors (MFLES) and their place in the held-out choice."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from support.sales import shop_history

from peakline.errors import ConfigError
from plant.calendar import HolidayCalendar
from plant.forecast.boosted import BoostedForecaster
from plant.forecast.boosted_features import FeatureMaker
from plant.forecast.exog_models import (
    arima_forecast,
    candidate_forecast,
    exog_matrix,
    mfles_forecast,
)
from plant.forecast.longform import forecast_long
from plant.forecast.panel import Panel

H = 28
CUT = pd.Timestamp("2023-03-19")  # 14 days before Easter 2023 (04-09)


@pytest.fixture(scope="module")
def features() -> FeatureMaker:
    shops = shop_history(n_series=3)
    cal = HolidayCalendar("DE")
    train = shops[shops["ds"] < CUT]
    future = shops[(shops["ds"] >= CUT) & (shops["ds"] < CUT + pd.Timedelta(days=H))]
    hol = cal.public_holiday_names(2020, 2024)
    panel = Panel.build(train, H, future[["unique_id", "ds", "promo"]], hol)
    return FeatureMaker(panel, cal, "easter")


def test_exog_matrix_holds_the_known_columns(features: FeatureMaker) -> None:
    x = exog_matrix(features)
    p = features.panel
    assert x.shape == (len(p.dates), 3, 7)
    # holiday, the week before the peak, the peak day, two days after, open, closed next day,
    # then the history's own regressors
    assert np.array_equal(x[:, :, 4], p.open.astype(float))
    assert np.array_equal(x[:, :, 6], p.regressors["promo"])
    easter = p.dates.get_loc(pd.Timestamp("2023-04-09"))
    assert x[easter, 0, 2] == 1 and x[easter - 3, 0, 1] == 1 and x[easter + 1, 0, 3] == 1


@pytest.mark.parametrize("forecast", [mfles_forecast, arima_forecast])
def test_candidates_forecast_closures_as_zero_and_lift_promotion_days(
    features: FeatureMaker, forecast: Callable[..., np.ndarray],
) -> None:
    p = features.panel
    fc = forecast(features, p.n_hist, H)
    assert fc.shape == (H, 3)
    closed = ~p.open[p.n_hist:]
    assert closed.any() and (fc[closed] == 0).all() and (fc[~closed] > 0).all()
    promo = p.regressors["promo"][p.n_hist:] > 0
    weekday = p.future.dayofweek.to_numpy()[:, None] < 5
    on = fc[promo & ~closed & weekday].mean()
    off = fc[~promo & ~closed & weekday].mean()
    assert on > 1.2 * off
    # only the asked-for series, in the order asked
    assert np.allclose(forecast(features, p.n_hist, H, np.array([2, 0])), fc[:, [2, 0]])


def test_a_candidate_takes_a_series_only_when_it_wins_every_held_out_origin(
    features: FeatureMaker,
) -> None:
    p = features.panel
    plain = BoostedForecaster(features.cal, peak="easter", n_estimators=60).forecast(p)
    assert set(plain["model"]) <= {"boosted", "seasonal_naive"}
    model = BoostedForecaster(features.cal, peak="easter", n_estimators=60,
                              candidates=("mfles", "arima"))
    fc = model.forecast(p)
    assert set(model.choice.values()) <= {"boosted", "seasonal_naive", "mfles", "arima"}
    chosen = fc.groupby("unique_id")["model"].first().to_dict()
    assert chosen == model.choice
    for j, sid in enumerate(p.ids):
        rows = fc[fc["unique_id"] == str(sid)]
        chosen_model = model.choice[str(sid)]
        if chosen_model in ("mfles", "arima"):
            expect = candidate_forecast(chosen_model, features, p.n_hist, H, np.array([j]))[:, 0]
            assert np.allclose(rows["p50"], expect) and np.allclose(rows["mean"], expect)
        else:
            assert np.allclose(rows["p50"], plain[plain["unique_id"] == str(sid)]["p50"])


def test_an_unknown_candidate_is_refused_by_name() -> None:
    shops = shop_history(n_series=1)
    with pytest.raises(ConfigError, match="unknown candidate 'prophet'; expected one of "
                                          "mfles, arima"):
        forecast_long(shops, H, HolidayCalendar("DE"), peak="easter",
                      candidates=("mfles", "prophet"))
