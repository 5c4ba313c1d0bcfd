"""The fault suite: every scenario of DESIGN.md's "Fault tests" against real processes.

Each test runs one scenario from ``catalog.SCENARIOS`` (its own Mosquitto, the real plant
service, generator processes on the node's outbox and publisher) and asserts the promises
``catalog.problems`` checks: nothing lost, nothing stored twice, the fault really happened,
and the scenario's own bound. ``python bench/faults.py`` runs the same scenarios for figures.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.postgres import require_postgres

from .catalog import SCENARIOS, problems

pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]


@pytest.fixture(autouse=True)
def _need_mosquitto() -> None:
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it with apt-get)")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.postgres) if "postgres" in n else n
        for n in SCENARIOS
    ],
)
def test_scenario(name: str, tmp_path: Path) -> None:
    if "postgres" in name:
        require_postgres()  # fails, saying how to start it, where the server is missing
    tally = SCENARIOS[name](tmp_path)
    broken = problems(name, tally)
    assert not broken, f"{name}: {broken}; {tally.row()}"
