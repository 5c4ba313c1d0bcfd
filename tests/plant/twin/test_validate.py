"""The twin's line against a recorded run: a camera node replays the committed recording
in real time, looping, into the plant service; the twin, fitted on the first half of what
the node measured, must make the good items of the second half within 5%."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pandas as pd
import pytest
from support.configs import node_config

from edge.config import load_config
from edge.node import Node
from peakline.cli import main
from plant.broker.process import Mosquitto
from plant.service import PlantService
from plant.store import Store
from plant.twin.config import TwinConfig
from plant.twin.validate import check_line

RUN_S = 40.0


@pytest.fixture
def recorded(db_url: str, request: pytest.FixtureRequest, broker: Mosquitto, site: str,
             recording_dir: Path, line_model: Path, tmp_path: Path) -> pd.DataFrame:
    """The metrics the plant stored from a node replaying the recording for RUN_S."""
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the twin's check")
    service: PlantService = request.getfixturevalue("service")
    cfg = node_config(tmp_path, broker.port, recording_dir, line_model, site=site,
                      source={"realtime": True, "loop": True},
                      mqtt={"metrics_interval_s": 1.0})
    node = Node(load_config(cfg))
    threading.Timer(RUN_S, node.stop).start()
    node.run(install_signals=False)
    service.stop()
    with Store.open(db_url) as store:
        return store.metrics_history()


def test_the_twin_makes_the_recorded_good_items_within_5_percent(
    recorded: pd.DataFrame, db_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    line = recorded[recorded["line"] == "l1"]
    assert len(line) >= 20 and line["items"].sum() > 100
    result = check_line(line, TwinConfig(), runs=100)
    assert result["within_tolerance"], result
    assert abs(result["error"]) <= 0.05
    assert main(["plant", "check-twin", "--db", db_url, "--line", "l1", "--runs", "50"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["line"] == "l1" and abs(out["error"]) <= 0.05


def test_a_line_with_nothing_recorded_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    Store.open(db).close()
    assert main(["plant", "check-twin", "--db", db, "--line", "l9"]) == 2
    err = capsys.readouterr().err
    assert "no items recorded on this line" in err
