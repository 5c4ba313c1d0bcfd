"""``peakline plant forecast --csv`` and ``backtest --csv --peak`` on a long-format history."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from support.configs import to_toml
from support.sales import shop_history

from peakline.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    w = tmp_path_factory.mktemp("long")
    shops = shop_history(n_series=3, start="2021-01-04", end="2023-04-30")
    hist = shops[shops["ds"] < "2023-04-01"]
    fut = shops[shops["ds"] >= "2023-04-01"][["unique_id", "ds", "promo"]]
    out = {"history": w / "history.csv", "future": w / "future.csv", "dir": w}
    hist.assign(ds=hist["ds"].dt.strftime("%Y-%m-%d")).to_csv(out["history"], index=False)
    fut.assign(ds=fut["ds"].dt.strftime("%Y-%m-%d")).to_csv(out["future"], index=False)
    return out


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_forecast_csv_with_future_regressors(files: dict[str, Path],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = files["dir"] / "fc" / "forecast.csv"
    assert main(["plant", "forecast", "--csv", str(files["history"]), "--future",
                 str(files["future"]), "--horizon", "21", "--peak", "easter", "--country", "DE",
                 "--out", str(out)]) == 0
    summary = _last_json(capsys.readouterr().out)
    assert summary["series"] == 3 and summary["regressors"] == ["promo"]
    assert summary["peak"] == "easter" and summary["start"] == "2023-04-01"
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["unique_id", "ds", "p10", "p50", "p90", "mean"]
    assert len(fc) == 3 * 21 and fc["ds"].iloc[0] == "2023-04-01"
    # Good Friday (04-07), Easter Monday (04-10) and Sundays: closed, forecast zero
    assert (fc[fc["ds"].isin(["2023-04-07", "2023-04-09", "2023-04-10"])]["p90"] == 0).all()


@pytest.mark.parametrize(("extra", "message"), [
    ([], "has regressor column(s) promo: give their future values with --future"),
    (["--peak", "eastr"], "unknown peak 'eastr'"),
    (["--peak", "Easter Day"], "argument --peak: must be a lower-case name"),
])
def test_forecast_csv_refusals(files: dict[str, Path], extra: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = files["dir"] / "refused.csv"
    assert main(["plant", "forecast", "--csv", str(files["history"]), "--horizon", "21",
                 "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_forecast_csv_future_without_a_regressor_column(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    bad = files["dir"] / "future_bad.csv"
    pd.read_csv(files["future"]).drop(columns="promo").to_csv(bad, index=False)
    assert main(["plant", "forecast", "--csv", str(files["history"]), "--future", str(bad),
                 "--horizon", "21"]) == 2
    assert "future_bad.csv, header, column 'promo': missing column" in capsys.readouterr().err


def test_backtest_csv_around_easter(files: dict[str, Path],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plant", "backtest", "--csv", str(files["history"]), "--peak", "easter",
                 "--country", "DE", "--horizon", "21", "--lead", "14", "--window=-6,-1",
                 "--ets-sample", "2"]) == 0
    summary = _last_json(capsys.readouterr().out)
    assert summary["peak"] == "easter" and summary["leads"] == [14]
    assert summary["window"] == [-6, -1]
    assert summary["origins"] == ["2022-04-03"]  # Easter 2022-04-17; 2023's has no 21 days
    assert set(summary["mase_peak"]) == {"ours", "ours_mean", "seasonal_naive", "ours@sample",
                                         "autoets"}
    assert summary["mase_peak"]["ours"] < summary["mase_peak"]["seasonal_naive"]
    assert 0 < summary["coverage_p10_p90"]["horizon"] <= 1


def _planning_toml(folder: Path, planning: dict[str, str], events: str | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    if events is not None:
        (folder / "events.csv").write_text(events)
    path = folder / "plant.toml"
    path.write_text(to_toml({"planning": planning}))
    return path


def test_forecast_and_backtest_take_the_peak_of_the_config(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """The plant's TOML says Easter: ``--config`` is enough; ``--peak`` still wins."""
    toml = str(_planning_toml(files["dir"] / "easter", {"peak": "easter"}))
    common = ["--csv", str(files["history"]), "--horizon", "21", "--country", "DE",
              "--config", toml]
    assert main(["plant", "forecast", *common, "--future", str(files["future"])]) == 0
    assert _last_json(capsys.readouterr().out)["peak"] == "easter"
    assert main(["plant", "backtest", *common, "--lead", "14", "--ets-sample", "1"]) == 0
    summary = _last_json(capsys.readouterr().out)
    assert summary["peak"] == "easter" and summary["origins"] == ["2022-04-03"]
    assert main(["plant", "forecast", *common, "--future", str(files["future"]),
                 "--peak", "christmas"]) == 0
    assert _last_json(capsys.readouterr().out)["peak"] == "christmas"


@pytest.mark.parametrize("action", ["forecast", "backtest"])
def test_a_peak_dated_only_in_the_config_s_events_file(
        files: dict[str, Path], action: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``[planning] peak`` names the plant's own festival, dated in its ``events`` file: the
    calendar of ``--config`` knows it; without ``--config`` the name is unknown."""
    toml = str(_planning_toml(files["dir"] / "own", {"peak": "open_day",
                                                     "events": "events.csv"},
                              "date,name,kind\n2021-06-12,open_day,festival\n"
                              "2022-06-11,open_day,festival\n2023-06-10,open_day,festival\n"))
    args = ["plant", action, "--csv", str(files["history"]), "--horizon", "7"]
    args += (["--future", str(files["future"])] if action == "forecast"
             else ["--lead", "14", "--ets-sample", "1"])
    assert main([*args, "--peak", "open_day"]) == 2
    assert "unknown peak 'open_day'" in capsys.readouterr().err
    assert main([*args, "--config", toml]) == 0
    summary = _last_json(capsys.readouterr().out)
    assert summary["peak"] == "open_day"
    if action == "backtest":  # 2021's has no year of history before it, 2023's no actuals
        assert summary["origins"] == ["2022-05-28"]
