"""``peakline plant``'s refusals: the one --db rule, options out of range, bad history files.

A refused command prints one line naming the option, file, row or column, exits with status
2 and stores nothing: no database is created by a typo, no plan is saved from a service level
of 90 (which ``plant serve`` would publish, retained, to the ERP).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from peakline.cli import main
from peakline.cliargs import DB_ENV
from plant.commands.planning import _exceptions_table
from plant.store import Store


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with the sample factory's ERP data, a forecast and a plan."""
    w = tmp_path_factory.mktemp("plant-cli")
    db = f"sqlite:///{w / 'plant.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(DB_ENV, raising=False)
        assert main(["plant", "sample-data", "--out", str(w / "erp"), "--years", "2",
                     "--skus", "3"]) == 0
        assert main(["plant", "import", "--db", db, "--dir", str(w / "erp")]) == 0
        assert main(["plant", "forecast", "--db", db, "--horizon", "30"]) == 0
        assert main(["plant", "plan", "--db", db]) == 0
    return db


def _one_error(err: str, command: str) -> str:
    lines = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(lines) == 1 and lines[0].startswith(f"peakline {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _latest_plan(db: str) -> str | None:
    with Store.open(db) as store:
        return store.latest_plan_id("production")


@pytest.mark.parametrize("value", ["90", "1.5", "1.0", "-0.2", "0"])
def test_a_service_level_out_of_range_is_refused_and_no_plan_is_saved(
    planned: str, value: str, capsys: pytest.CaptureFixture[str],
) -> None:
    before = _latest_plan(planned)
    assert main(["plant", "plan", "--db", planned, "--service-level", value]) == 2
    line = _one_error(capsys.readouterr().err, "plant plan")
    assert "--service-level" in line and "greater than 0 and less than 1" in line
    assert _latest_plan(planned) == before


def test_a_reject_rate_of_3_is_refused(planned: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plant", "plan", "--db", planned, "--default-reject-rate", "3"]) == 2
    line = _one_error(capsys.readouterr().err, "plant plan")
    assert "--default-reject-rate: must be at least 0 and less than 1, got 3" in line


def test_plan_says_which_database_and_how_many_exceptions(
    planned: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plant", "plan", "--db", planned, "--top", "1"]) == 0
    out = capsys.readouterr()
    path = planned.removeprefix("sqlite:///")
    assert f"peakline plant plan: database sqlite:///{path}" in out.err
    summary = json.loads(out.out.splitlines()[-1])
    assert f"(1 of {summary['exceptions']}" in out.out
    assert max(len(line) for line in out.out.splitlines()[:-1]) <= 100


@pytest.mark.parametrize("command", [["status"], ["forecast"], ["plan"], ["backtest"],
                                     ["export-plan", "--kind", "production", "--out", "x.csv"]])
def test_a_mistyped_or_missing_database_is_refused_not_created(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DB_ENV, raising=False)
    assert main(["plant", *command, "--db", "sqlite:///plnat.db"]) == 2
    line = _one_error(capsys.readouterr().err, f"plant {command[0]}")
    assert f"no database at {tmp_path / 'plnat.db'}" in line
    assert main(["plant", *command]) == 2  # the default, ./peakline.db, is not there either
    line = _one_error(capsys.readouterr().err, f"plant {command[0]}")
    assert "--db sqlite:///peakline.db (the default): no database at" in line
    assert list(tmp_path.iterdir()) == []


def test_peakline_db_names_the_database(
    planned: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DB_ENV, planned)
    assert main(["plant", "status"]) == 0
    assert f"database {planned}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_import_creates_the_database_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plant", "sample-data", "--out", str(tmp_path / "erp"), "--years", "1",
                 "--skus", "1"]) == 0
    db = tmp_path / "new.db"
    assert main(["plant", "import", "--db", str(db), "--dir", str(tmp_path / "erp")]) == 0
    assert db.is_file() and f"database sqlite:///{db}" in capsys.readouterr().err


def test_a_refused_import_leaves_no_new_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "demand.csv"
    bad.write_text("sku,date,orders,cancellations\nS1,01/08/2025,3,0\n")
    db = tmp_path / "new.db"
    assert main(["plant", "import", "--db", str(db), "--kind", "demand", str(bad)]) == 2
    line = _one_error(capsys.readouterr().err, "plant import")
    assert "demand.csv, row 1 (line 2), column 'date'" in line
    (tmp_path / "empty").mkdir()
    assert main(["plant", "import", "--db", str(db), "--dir", str(tmp_path / "empty")]) == 2
    assert "none of skus.csv" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demand.csv", "empty"]


@pytest.mark.parametrize(("text", "where"), [
    ("unique_id,ds,y\na,2022-06-01,3\na,2022-06-02,abc\n",
     "row 2 (line 3), column 'y': not a number (got 'abc')"),
    ("unique_id,ds,y\na,01/06/2022,3\n",
     "row 1 (line 2), column 'ds': not a date in YYYY-MM-DD form (got '01/06/2022')"),
    ("unique_id,ds,y\na,2022-06-01,-4\n", "row 1 (line 2), column 'y': negative (got '-4')"),
    ("unique_id,ds,y\na,2022-06-01,3\na,2022-06-01,4\n",
     "row 2 (line 3), column 'unique_id': repeats the key"),
    ("id,day,value\na,2022-06-01,3\n", "header, column 'unique_id': missing column"),
    ("", "empty file"),
])
def test_backtest_csv_problems_name_the_row_and_column(
    text: str, where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "history.csv"
    path.write_text(text)
    assert main(["plant", "backtest", "--csv", str(path)]) == 2
    line = _one_error(capsys.readouterr().err, "plant backtest")
    assert "history.csv" in line and where in line


def test_backtest_csv_that_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plant", "backtest", "--csv", str(tmp_path / "nope.csv")]) == 2
    line = _one_error(capsys.readouterr().err, "plant backtest")
    assert f"argument --csv: no such CSV file: {tmp_path / 'nope.csv'}" in line


def test_sample_data_refuses_a_folder_that_is_not_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plant", "sample-data", "--end", "2026-13-01", "--out", str(tmp_path)]) == 2
    assert "argument --end: 2026-13-01 is not a real day" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["plant", "sample-data", "--out", str(tmp_path), "--years", "1",
                 "--skus", "1"]) == 2
    assert "not empty (use --overwrite" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert main(["plant", "sample-data", "--out", str(tmp_path), "--years", "1", "--skus", "1",
                 "--overwrite"]) == 0
    assert (tmp_path / "skus.csv").is_file() and (tmp_path / "notes.txt").is_file()


@pytest.mark.parametrize(("given", "code"), [("CN", "CN"), ("chn", "CN"), ("China", "CN"),
                                             ("united states", "US"), ("UK", "GB")])
def test_country_names_and_codes_mean_one_code(given: str, code: str) -> None:
    from peakline.cliargs import Country

    assert Country()(given) == code


def test_an_unknown_country_is_refused_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plant", "forecast", "--country", "Chna"]) == 2
    line = _one_error(capsys.readouterr().err, "plant forecast")
    assert "argument --country: unknown country 'Chna'" in line and "did you mean CN?" in line


def test_the_exceptions_table_says_how_many_it_shows() -> None:
    rows = pd.DataFrame({
        "kind": ["late_order_by"] * 24, "what": [f"item{i}" for i in range(24)],
        "date": pd.Timestamp("2026-07-02"), "value_at_risk": range(24, 0, -1),
        "detail": ["packaging tin_6: order-by 2026-07-02 passed 30 days ago (lead 56 d); runs "
                   "out 2026-08-27 before the festival; earliest arrival 2026-09-26, 6035 boxes "
                   "at risk"] * 24,
    })
    text = _exceptions_table(rows, 10, written=True)
    lines = text.splitlines()
    assert lines[0] == ("exceptions, worst first (10 of 24; --top 24 shows all, --out has them "
                        "all):")
    assert max(map(len, lines)) <= 100
    assert "earliest arrival 2026-09-26, 6035 boxes" in " ".join(text.split())
    assert _exceptions_table(rows.head(3), 10, written=False).startswith(
        "exceptions, worst first (3 of 3):")


@pytest.mark.parametrize("command", ["plan", "forecast", "backtest"])
def test_an_unknown_peak_is_refused_before_the_database_is_read(
    planned: str, command: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plant", command, "--db", planned, "--peak", "eastr"]) == 2
    err = capsys.readouterr().err
    line = _one_error(err, f"plant {command}")
    assert "unknown peak 'eastr'; expected one of mid_autumn" in line
    assert "database" not in err  # refused before opening the store: nothing stored


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_forecast_and_plan_around_another_peak(
    tmp_path: Path, planned: str, capsys: pytest.CaptureFixture[str],
) -> None:
    import shutil

    db_file = Path(planned.removeprefix("sqlite:///"))
    shutil.copy(db_file, tmp_path / "copy.db")
    db = f"sqlite:///{tmp_path / 'copy.db'}"
    assert main(["plant", "forecast", "--db", db, "--horizon", "30", "--peak", "christmas"]) == 0
    assert _last_json(capsys.readouterr().out)["peak"] == "christmas"
    out = tmp_path / "plans"
    assert main(["plant", "plan", "--db", db, "--peak", "christmas", "--out", str(out)]) == 0
    inventory = json.loads((out / "inventory.json").read_text())
    assert inventory["peak"] == "christmas" and inventory["festival"] == "2026-12-25"
