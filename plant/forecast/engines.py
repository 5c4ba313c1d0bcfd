"""Where a forecast of many series runs: in this process, or spread over a Dask cluster.

A group of factories forecasting every SKU at every customer outgrows one machine. The series
are cut into partitions of ``partition_size`` (in the order of their ids), and each partition
is forecast by :func:`plant.forecast.longform.forecast_long` on its own (its own global model,
choice and calibration): the partitions, not the engine, decide the result, so ``local``
(one after the other, here) and ``dask`` (as Dask tasks: on a cluster given by its scheduler
address, else on Dask's local process pool) give the same forecast. Dask is optional
(``pip install peakline[cluster]``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from peakline.errors import ConfigError
from plant.calendar import HolidayCalendar
from plant.forecast.longform import forecast_long
from plant.peaks import DEFAULT_PEAK

__all__ = ["ENGINES", "forecast_partitioned"]

#: the engines a forecast can run on
ENGINES = ("local", "dask")


def _partitions(history: pd.DataFrame, size: int) -> list[list[str]]:
    ids = sorted(history["unique_id"].astype(str).unique())
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _part(frame: pd.DataFrame | None, ids: list[str]) -> pd.DataFrame | None:
    if frame is None:
        return None
    return frame[frame["unique_id"].astype(str).isin(ids)]


def forecast_partitioned(
    history: pd.DataFrame, h: int, cal: HolidayCalendar, peak: str = DEFAULT_PEAK,
    future: pd.DataFrame | None = None, engine: str = "local", partition_size: int = 5000,
    scheduler: str | None = None, dask_scheduler: str = "processes",
) -> pd.DataFrame:
    """:func:`forecast_long` partition by partition on ``engine``; the same columns.

    ``scheduler`` is a Dask scheduler's address (``tcp://host:8786``); without one, Dask
    runs the partitions on its local ``dask_scheduler`` (``processes`` or ``threads``).
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    parts = _partitions(history, partition_size)
    calls = [(_part(history, ids), _part(future, ids)) for ids in parts]
    if engine == "local":
        frames = [forecast_long(hist, h, cal, peak=peak, future=fut) for hist, fut in calls]
    else:
        frames = _on_dask(calls, h, cal, peak, scheduler, dask_scheduler)
    return pd.concat(frames, ignore_index=True).sort_values(["unique_id", "ds"],
                                                            ignore_index=True)


def _on_dask(calls: list[tuple[Any, Any]], h: int, cal: HolidayCalendar, peak: str,
             scheduler: str | None, dask_scheduler: str) -> list[pd.DataFrame]:
    try:
        import dask
    except ImportError as exc:
        raise ConfigError("--engine dask needs Dask: pip install 'peakline[cluster]'") from exc
    tasks = [dask.delayed(forecast_long)(hist, h, cal, peak=peak, future=fut)
             for hist, fut in calls]
    if scheduler is None:
        return list(dask.compute(*tasks, scheduler=dask_scheduler))
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError("--scheduler needs dask.distributed: pip install "
                          "'peakline[cluster]'") from exc
    try:
        client = Client(scheduler, timeout=10)
    except OSError as exc:
        raise ConfigError(f"--scheduler {scheduler}: no Dask scheduler answers there "
                          f"({exc})") from exc
    with client:
        return list(client.gather(client.compute(tasks)))
