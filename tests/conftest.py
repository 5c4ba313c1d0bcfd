"""Shared fixtures: a real Mosquitto per test session (and one per test that kills it)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.paths import RECORDING

from plant.broker.process import Mosquitto


def _require_mosquitto() -> None:
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it with apt-get)")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One Mosquitto on a free loopback port for the whole session; do not kill it."""
    _require_mosquitto()
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as mosquitto:
        yield mosquitto


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto for this test alone, free to be killed and restarted."""
    _require_mosquitto()
    mosquitto = Mosquitto(tmp_path / "mosquitto").start()
    try:
        yield mosquitto
    finally:
        mosquitto.kill()


@pytest.fixture(scope="session")
def recording_dir() -> Path:
    """The committed short recording of a mooncake line (frames + labels.jsonl)."""
    if not RECORDING.exists():
        pytest.fail(f"{RECORDING} is missing; regenerate it with tests/data/README.md")
    return RECORDING


@pytest.fixture(scope="session")
def line_model(recording_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted on the committed recording (no download, a few seconds); used by the
    edge tests and the attack suite."""
    from edge.model.fit import fit_model

    out = tmp_path_factory.mktemp("model") / "line.onnx"
    fit_model(recording_dir, out, threads=1)
    return out
