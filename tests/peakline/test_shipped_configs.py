"""The shipped configs work exactly as their own comments say.

A file under ``configs/`` says how to use it in comment lines ``# Build: <command>``,
``# Check: <command>`` and ``# Run: <command>`` (``peakline`` commands, from the root of a
source checkout). This test copies the configs and the test data they name into a scratch
checkout and runs those commands in the file's order, exactly as written. A ``Run:`` command
starts a service that runs until stopped (a camera node, the plant service), so it is run
with ``--check-config`` added: the service validates everything it would load and exits.

``configs/mosquitto/mosquitto.conf`` is not a ``peakline`` config: Mosquitto runs it in
``tests/security/test_shipped_config.py``.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from support.paths import REPO

from peakline.cli import main
from peakline.cliargs import DB_ENV

CONFIGS = REPO / "configs"
#: shipped configs that other tests run
ELSEWHERE = {"mosquitto/mosquitto.conf": "tests/security/test_shipped_config.py"}
STEP = re.compile(r"^#\s*(Build|Check|Run):\s*(peakline\s.+?)\s*$", re.M)


def _shipped() -> list[str]:
    return sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.rglob("*") if p.is_file())


def _steps(name: str) -> list[tuple[str, str]]:
    return STEP.findall((CONFIGS / name).read_text(encoding="utf-8"))


def test_every_shipped_config_says_how_to_run_it() -> None:
    silent = [n for n in _shipped() if n not in ELSEWHERE and not _steps(n)]
    assert silent == []
    for name in _shipped():
        if name in ELSEWHERE:
            assert (REPO / ELSEWHERE[name]).is_file()
        else:  # what a node or the plant runs is checked before it is run
            labels = [label for label, _ in _steps(name)]
            assert "Run" in labels and "Check" in labels, name


@pytest.mark.parametrize("name", [n for n in _shipped() if n not in ELSEWHERE])
def test_shipped_config_runs_as_its_comments_say(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(CONFIGS, checkout / "configs")
    shutil.copytree(REPO / "tests" / "data", checkout / "tests" / "data")
    monkeypatch.chdir(checkout)
    monkeypatch.delenv(DB_ENV, raising=False)
    monkeypatch.delenv("PEAKLINE_MQTT_PASSWORD", raising=False)
    for label, command in _steps(name):
        argv = shlex.split(command)
        assert argv[0] == "peakline"
        if label == "Run":
            argv.append("--check-config")
        status = main(argv[1:])
        out = capsys.readouterr()
        assert status == 0, f"{name}: `{command}` failed:\n{out.err}"
        assert "Traceback" not in out.err
    leftovers = {p.name for p in checkout.iterdir()} - {"configs", "tests", "models"}
    assert leftovers == set(), f"checking {name} created {leftovers}"
