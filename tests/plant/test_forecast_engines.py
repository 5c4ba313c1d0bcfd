"""Partitions of series forecast here or as Dask tasks give the same forecast."""

from __future__ import annotations

import pandas as pd
import pytest
from support.sales import shop_history

from peakline.errors import ConfigError
from plant.calendar import HolidayCalendar
from plant.forecast.engines import forecast_partitioned

H = 14


@pytest.fixture(scope="module")
def shops() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = shop_history(n_series=3, start="2022-01-03", end="2023-04-16")
    cut = pd.Timestamp("2023-04-03")
    return data[data["ds"] < cut], data[data["ds"] >= cut][["unique_id", "ds", "promo"]]


@pytest.fixture(scope="module")
def local(shops: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    hist, fut = shops
    return forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut,
                                engine="local", partition_size=2)


def test_local_partitions_cover_every_series(local: pd.DataFrame) -> None:
    assert sorted(local["unique_id"].unique()) == ["shop0", "shop1", "shop2"]
    assert len(local) == 3 * H


def test_dask_local_scheduler_gives_the_same_forecast(
    shops: tuple[pd.DataFrame, pd.DataFrame], local: pd.DataFrame,
) -> None:
    hist, fut = shops
    got = forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut, engine="dask",
                               partition_size=2, dask_scheduler="threads")
    pd.testing.assert_frame_equal(got, local)


def test_dask_cluster_by_its_address_gives_the_same_forecast(
    shops: tuple[pd.DataFrame, pd.DataFrame], local: pd.DataFrame,
) -> None:
    from distributed import LocalCluster

    hist, fut = shops
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster:
        got = forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut,
                                   engine="dask", partition_size=2,
                                   scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(got, local)


def test_unknown_engine_and_absent_scheduler_are_refused(
    shops: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    hist, fut = shops
    with pytest.raises(ConfigError, match="unknown engine 'spark'"):
        forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut, engine="spark")
    with pytest.raises(ConfigError, match="no Dask scheduler answers"):
        forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut, engine="dask",
                             scheduler="tcp://127.0.0.1:9")
