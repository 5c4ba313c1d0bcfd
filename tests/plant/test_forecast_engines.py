"""Partitions of series forecast here, as Dask tasks or as Ray tasks give the same forecast;
Ray leaves no process behind."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from support.sales import shop_history

from peakline.errors import ConfigError
from plant.calendar import HolidayCalendar
from plant.forecast.engines import engine_session, forecast_partitioned

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


def _ray_processes() -> set[int]:
    """Ids of the Ray processes on this machine (raylet, GCS, workers, agents)."""
    import psutil

    found = set()
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "ray/core/src" in cmd or "ray/_private" in cmd or "ray::" in cmd \
                or "ray/dashboard" in cmd or "ray.util.client" in cmd:
            found.add(proc.info["pid"])
    return found


def _gone(before: set[int], wait_s: float = 20.0) -> set[int]:
    """The Ray processes started since ``before`` that still run after ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while (left := _ray_processes() - before) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def test_ray_local_instance_gives_the_same_forecast_and_leaves_no_process(
    shops: tuple[pd.DataFrame, pd.DataFrame], local: pd.DataFrame,
) -> None:
    import ray

    hist, fut = shops
    before = _ray_processes()
    own_sigterm = signal.getsignal(signal.SIGTERM)
    got = forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut, engine="ray",
                               partition_size=2)
    pd.testing.assert_frame_equal(got, local)
    assert not ray.is_initialized()
    assert signal.getsignal(signal.SIGTERM) is own_sigterm  # Ray's SystemExit handler is gone
    with engine_session("ray") as session:  # one instance for several calls (backtest)
        for _ in range(2):
            got = forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut,
                                       engine="ray", partition_size=2)
            assert session.is_initialized()
            pd.testing.assert_frame_equal(got, local)
    assert not ray.is_initialized()
    assert not _gone(before)


def test_ray_cluster_by_its_address_gives_the_same_forecast(
    shops: tuple[pd.DataFrame, pd.DataFrame], local: pd.DataFrame, tmp_path: Path,
) -> None:
    import ray

    hist, fut = shops
    before = _ray_processes()
    gcs, client = _free_port(), _free_port()
    ip = ray.util.get_node_ip_address()
    with (tmp_path / "head.log").open("w") as log:
        head = subprocess.Popen(
            [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
             f"--port={gcs}", f"--ray-client-server-port={client}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats"],
            stdout=subprocess.DEVNULL, stderr=log)
    try:
        _wait_for_port(ip, client, head)
        _wait_for_ray_client(f"ray://{ip}:{client}")
        got = forecast_partitioned(hist, H, HolidayCalendar("DE"), "easter", fut,
                                   engine="ray", partition_size=2,
                                   scheduler=f"ray://{ip}:{client}")
        assert not ray.is_initialized()
    finally:
        head.send_signal(signal.SIGTERM)
        head.wait(60)
    pd.testing.assert_frame_equal(got, local)
    assert not _gone(before)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _wait_for_ray_client(address: str, tries: int = 4) -> None:
    """Connect once and leave: on a busy machine the head's first Ray Client session can take
    longer than Ray's own connection timeout."""
    import ray

    for _ in range(tries - 1):
        try:
            ray.init(address=address)
        except ConnectionError:
            continue
        ray.shutdown()
        return
    ray.init(address=address)
    ray.shutdown()


def _wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes],
                   wait_s: float = 120.0) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "ray start --head exited"
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the Ray head did not listen on {host}:{port} in {wait_s:.0f} s")


def test_addresses_are_checked_against_the_engine(
    shops: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    hist, fut = shops
    cal = HolidayCalendar("DE")
    with pytest.raises(ConfigError, match="not a Ray cluster's address"):
        forecast_partitioned(hist, H, cal, "easter", fut, engine="ray",
                             scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match="not a Dask scheduler's address"):
        forecast_partitioned(hist, H, cal, "easter", fut, engine="dask",
                             scheduler="ray://127.0.0.1:9")
    with pytest.raises(ConfigError, match="goes with --engine dask or ray"):
        forecast_partitioned(hist, H, cal, "easter", fut, engine="local",
                             scheduler="tcp://127.0.0.1:9")


class _FlakyHead:
    """Ray's module as a client sees a head that answers but fails to start the first
    ``failures`` sessions (``ConnectionAbortedError``, as the real client raises it)."""

    def __init__(self, failures: int) -> None:
        self.failures, self.inits, self.shutdowns = failures, 0, 0

    def init(self, **_: object) -> None:
        self.inits += 1
        if self.inits <= self.failures:
            raise ConnectionAbortedError("Initialization failure from server")

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_session_the_head_fails_to_start_is_asked_again(monkeypatch: pytest.MonkeyPatch,
                                                          ) -> None:
    from plant.forecast import engines

    monkeypatch.setattr(engines.time, "sleep", lambda _s: None)
    head = _FlakyHead(failures=engines.RAY_CLIENT_TRIES - 1)
    engines._ray_init(head, "ray://127.0.0.1:1")
    assert (head.inits, head.shutdowns) == (engines.RAY_CLIENT_TRIES, engines.RAY_CLIENT_TRIES - 1)
    dead = _FlakyHead(failures=engines.RAY_CLIENT_TRIES)
    with pytest.raises(ConfigError, match="could not start a session, 3 tries"):
        engines._ray_init(dead, "ray://127.0.0.1:1")
