"""``peakline plant simulate`` on the sample factory: the report, what is stored, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete

from peakline.cli import main
from peakline.cliargs import DB_ENV
from plant.store import Store
from plant.store import schema as t


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with a small sample factory, a forecast and a plan."""
    w = tmp_path_factory.mktemp("twin-cli")
    db = f"sqlite:///{w / 'plant.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(DB_ENV, raising=False)
        assert main(["plant", "sample-data", "--out", str(w / "erp"), "--years", "2",
                     "--skus", "6"]) == 0
        assert main(["plant", "import", "--db", db, "--dir", str(w / "erp")]) == 0
        assert main(["plant", "forecast", "--db", db, "--horizon", "60"]) == 0
        assert main(["plant", "plan", "--db", db]) == 0
    return db


def _count(db: str) -> int:
    with Store.open(db) as store:
        return len(store.simulations())


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_simulate_reports_per_channel_and_stores_the_runs(
    planned: str, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plant", "simulate", "--db", planned, "--runs", "8", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    summary = _last_json(out)
    assert summary["runs"] == 8 and 0 <= summary["fill_rate"] <= 1
    assert set(summary["fill_rate_by_channel"]) <= {"oem", "retail", "ecommerce"}
    assert summary["cost_p90"] >= summary["cost_p10"] > 0
    assert "wall_s" in summary and "cost" in summary
    assert "fill P10" in out and "waste (boxes, mean)" in out
    with Store.open(planned) as store:
        found = store.simulation(summary["simulation_id"])
        assert found is not None
        meta, per_run = found
    assert len(per_run) == 8 and meta["scenario"] == "baseline"
    assert meta["summary"]["cost"] == summary["cost"]
    assert len(meta["stock"]["date"]) == 60 and meta["gantt"]["line"]


def test_the_same_seed_gives_the_same_figures(planned: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    figures = []
    for _ in range(2):
        assert main(["plant", "simulate", "--db", planned, "--runs", "3", "--seed", "9"]) == 0
        s = _last_json(capsys.readouterr().out)
        figures.append((s["fill_rate"], s["cost"], s["channels"]))
    assert figures[0] == figures[1]


def test_a_scenario_is_simulated_under_its_name(planned: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "down.toml"
    path.write_text('name = "L2 down before the OEM cutoff"\n[[line_down]]\nline = "L2"\n'
                    'before_cutoff = "oem"\ndays = 3\n', encoding="utf-8")
    assert main(["plant", "simulate", "--db", planned, "--runs", "3", "--scenario",
                 str(path)]) == 0
    assert _last_json(capsys.readouterr().out)["scenario"] == "L2 down before the OEM cutoff"


@pytest.mark.parametrize(("args", "says"), [
    (["--plan", "plan-nope"], "no production plan 'plan-nope'"),
    (["--runs", "0"], "--runs"),
    (["--scenario", "{bad}"], "no line 'L9'"),
])
def test_bad_input_is_one_line_and_stores_nothing(
    planned: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
    says: str,
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[line_down]]\nline = "L9"\nstart = 2026-08-03\ndays = 1\n',
                   encoding="utf-8")
    args = [str(bad) if a == "{bad}" else a for a in args]
    before = _count(planned)
    assert main(["plant", "simulate", "--db", planned, *args]) == 2
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if "error:" in ln]
    assert len(errors) == 1 and says in errors[0] and "Traceback" not in err
    assert _count(planned) == before


def test_a_plan_whose_forecast_was_deleted_is_refused(
    tmp_path: Path, planned: str, capsys: pytest.CaptureFixture[str],
) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(planned.removeprefix("sqlite:///")).read_bytes())
    db = f"sqlite:///{copy}"
    before = _count(db)
    with Store.open(db) as store, store.engine.begin() as conn:
        conn.execute(delete(t.artifacts).where(t.artifacts.c.kind == "forecast"))
    assert main(["plant", "simulate", "--db", db, "--runs", "2"]) == 2
    err = capsys.readouterr().err
    assert "which is no longer in the store" in err
    assert _count(db) == before
