"""Where a forecast of many series runs: in this process, or spread over a Dask or Ray cluster.

A group of factories forecasting every SKU at every customer outgrows one machine. The series
are cut into partitions of ``partition_size`` (in the order of their ids), and each partition
is forecast by :func:`plant.forecast.longform.forecast_long` on its own (its own global model,
choice and calibration): the partitions, not the engine, decide the result, so ``local``
(one after the other, here), ``dask`` (as Dask tasks: on a cluster given by its scheduler
address, else on Dask's local process pool) and ``ray`` (as Ray tasks: on a cluster given by
its Ray Client address, else on a Ray instance started here for the call) give the same
forecast. Dask and Ray are optional (``pip install 'peakline[cluster]'``); a cluster's
workers need peakline installed too.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from peakline.errors import ConfigError, PeaklineError
from plant.calendar import HolidayCalendar
from plant.forecast.longform import forecast_long
from plant.peaks import DEFAULT_PEAK

__all__ = ["ENGINES", "engine_session", "forecast_partitioned"]

#: the engines a forecast can run on
ENGINES = ("local", "dask", "ray")

_DASK_SCHEMES = ("tcp://", "tls://", "inproc://")

Call = tuple[pd.DataFrame, "pd.DataFrame | None"]


def _partitions(history: pd.DataFrame, future: pd.DataFrame | None,
                size: int) -> list[Call]:
    """(history, future) of each partition: ``size`` series in the order of their ids. One
    pass over the rows (a filter per partition would scan every row once per partition)."""
    ids = history["unique_id"].astype(str)
    order = sorted(ids.unique())
    part_of = pd.Series([i // size for i in range(len(order))], index=order)
    hist_parts = dict(list(history.groupby(ids.map(part_of).to_numpy(), sort=True)))
    fut_parts: dict[Any, pd.DataFrame] = {}
    if future is not None:
        fut_key = future["unique_id"].astype(str).map(part_of)
        fut_parts = dict(list(future[fut_key.notna().to_numpy()].groupby(
            fut_key.dropna().astype(int).to_numpy(), sort=True)))
    empty = None if future is None else future.iloc[:0]
    return [(hist_parts[k], fut_parts.get(k, empty)) for k in sorted(hist_parts)]


def forecast_partitioned(
    history: pd.DataFrame, h: int, cal: HolidayCalendar, peak: str = DEFAULT_PEAK,
    future: pd.DataFrame | None = None, engine: str = "local", partition_size: int = 5000,
    scheduler: str | None = None, dask_scheduler: str = "processes",
    candidates: tuple[str, ...] = (),
) -> pd.DataFrame:
    """:func:`forecast_long` partition by partition on ``engine``; the same columns.

    ``scheduler`` is the cluster's address: a Dask scheduler's (``tcp://host:8786``) or a Ray
    cluster's Ray Client server (``ray://host:10001``). Without one, Dask runs the partitions
    on its local ``dask_scheduler`` (``processes`` or ``threads``) and Ray on a local instance
    of one worker per core, shut down afterwards.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if scheduler is not None and engine == "local":
        raise ConfigError(f"--scheduler {scheduler} goes with --engine dask or ray")
    calls = _partitions(history, future, partition_size)
    if engine == "local":
        frames = [forecast_long(hist, h, cal, peak=peak, future=fut, candidates=candidates)
                  for hist, fut in calls]
    elif engine == "dask":
        frames = _on_dask(calls, h, cal, peak, scheduler, dask_scheduler, candidates)
    else:
        frames = _on_ray(calls, h, cal, peak, scheduler, candidates)
    return pd.concat(frames, ignore_index=True).sort_values(["unique_id", "ds"],
                                                            ignore_index=True)


def _on_dask(calls: list[Call], h: int, cal: HolidayCalendar, peak: str,
             scheduler: str | None, dask_scheduler: str,
             candidates: tuple[str, ...] = ()) -> list[pd.DataFrame]:
    try:
        import dask
    except ImportError as exc:
        raise ConfigError("--engine dask needs Dask: pip install 'peakline[cluster]'") from exc
    tasks = [dask.delayed(forecast_long)(hist, h, cal, peak=peak, future=fut,
                                         candidates=candidates)
             for hist, fut in calls]
    if scheduler is None:
        # one task per dispatch: Dask's process pool otherwise sends up to six ready tasks
        # to one worker as a batch, so that two to six partitions ran one after the other
        workers = min(os.cpu_count() or 1, len(tasks))
        return list(dask.compute(*tasks, scheduler=dask_scheduler, num_workers=workers,
                                 chunksize=1))
    if not scheduler.startswith(_DASK_SCHEMES):
        raise ConfigError(f"--scheduler {scheduler}: not a Dask scheduler's address "
                          "(tcp://host:8786)")
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


def _on_ray(calls: list[Call], h: int, cal: HolidayCalendar, peak: str,
            address: str | None, candidates: tuple[str, ...] = ()) -> list[pd.DataFrame]:
    from ray.exceptions import RayTaskError

    with engine_session("ray", address) as ray:
        task = ray.remote(num_cpus=1)(forecast_long)
        cal_ref = ray.put(cal)  # sent once, not once per partition
        refs = [task.remote(hist, h, cal_ref, peak=peak, future=fut, candidates=candidates)
                for hist, fut in calls]
        try:
            return list(ray.get(refs))
        except RayTaskError as exc:
            if isinstance(exc.cause, PeaklineError):  # the partition's own clear message
                raise exc.cause from None
            raise


@contextmanager
def engine_session(engine: str, scheduler: str | None = None) -> Iterator[Any]:
    """One Ray instance for every :func:`forecast_partitioned` call inside (a backtest's
    origins): started here (or joined at ``scheduler``) unless Ray already runs, and shut
    down on leaving if it was started here. Yields the ``ray`` module; ``None`` and nothing
    done for the other engines (their start costs little)."""
    if engine != "ray":
        yield None
        return
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--engine ray needs Ray: pip install 'peakline[cluster]'") from exc
    if scheduler is not None and not scheduler.startswith("ray://"):
        raise ConfigError(f"--scheduler {scheduler}: not a Ray cluster's address "
                          "(ray://host:10001)")
    started = not ray.is_initialized()
    if started:
        _keeping_sigterm(lambda: _ray_init(ray, scheduler))
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def _keeping_sigterm(start: Callable[[], None]) -> None:
    """Call ``start`` (``ray.init``), then give back this process's own SIGTERM handler.

    ``ray.init`` replaces it with one that raises ``SystemExit`` wherever the main thread is,
    for the rest of the process's life: a plant service or test run would no longer stop the
    way it says (seen as fixtures failing at random points after a SIGTERM)."""
    if threading.current_thread() is not threading.main_thread():
        start()  # Ray leaves the handlers alone off the main thread
        return
    own = signal.getsignal(signal.SIGTERM)
    try:
        start()
    finally:
        signal.signal(signal.SIGTERM, own)


#: sessions asked of a Ray cluster whose head answers but fails to start one
RAY_CLIENT_TRIES = 3


def _ray_init(ray: Any, address: str | None) -> None:
    """Join the Ray cluster at ``address``, or start one here with a worker per core (never
    the cluster last started on this machine, which ``ray.init()`` would join)."""
    quiet = {"include_dashboard": False, "log_to_driver": False,
             "logging_level": logging.WARNING}
    if address is None:
        # Ray's token authentication stays on (its default); only its notice is not printed
        notice = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = notice.level
        notice.setLevel(logging.ERROR)
        try:
            ray.init(address="local", num_cpus=os.cpu_count() or 1, **quiet)
        finally:
            notice.setLevel(level)
        return
    for attempt in range(1, RAY_CLIENT_TRIES + 1):
        try:
            ray.init(address=address, **quiet)
            return
        except ConnectionAbortedError as exc:
            # the cluster answered, but the server its head starts for each Ray Client session
            # failed to start (seen on a busy two-core head right after another session ended)
            ray.shutdown()
            if attempt == RAY_CLIENT_TRIES:
                raise ConfigError(f"--scheduler {address}: the Ray cluster there answered but "
                                  f"could not start a session, {attempt} tries ({exc})") from exc
            time.sleep(2.0)
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise ConfigError(f"--scheduler {address}: no Ray cluster answers there "
                              f"({exc})") from exc
