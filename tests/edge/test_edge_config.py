"""Strict node configuration: the example loads, mistakes name their key."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import REPO

from edge.config import load_config
from edge.config_sections import CsvActuator, RecordingSource
from peakline.cli import main
from peakline.errors import ConfigError

EXAMPLE = REPO / "configs" / "line1.toml"


def test_example_config_loads_with_paths_relative_to_it() -> None:
    cfg = load_config(EXAMPLE)
    assert isinstance(cfg.source, RecordingSource)
    assert cfg.source.path == REPO / "tests" / "data" / "line_short"
    assert isinstance(cfg.actuator.plugin, CsvActuator)
    assert cfg.outbox.path == REPO / "var" / "line1-outbox.db"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(EXAMPLE.read_text() + text)
    return path


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("\n[extra_table]\nx = 1\n", "extra_table: unknown key; this table takes actuator, belt,"),
        ("\n[review.oops]\n", "review.oops"),
        ("\n[mqt]\n", "mqt: unknown key; did you mean 'mqtt'?"),
    ],
)
def test_unknown_keys_are_named(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, extra))
    assert key in str(err.value)


def test_bad_values_name_their_key(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("speed_px_s = 540.0", "speed_px_s = -1").replace(
        'type = "csv"', 'type = "csv"\npulse = 3')
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert "belt.speed_px_s: Input should be greater than 0" in msg
    assert "actuator.plugin.pulse: unknown key; this table takes" in msg


def test_unknown_source_type_and_belt_order(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('type = "recording"', 'type = "webcam"')
    text = text.replace("y1 = 641", "y1 = 50")
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="source"):
        load_config(path)
    path.write_text(EXAMPLE.read_text().replace("y1 = 641", "y1 = 50"))
    with pytest.raises(ConfigError, match=r"belt.y1 must be greater than belt.y0"):
        load_config(path)


def test_check_config_cli_reports_errors_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "\n[bogus]\n")
    assert main(["edge", "run", "--config", str(path), "--check-config"]) == 2
    assert "bogus: unknown key" in capsys.readouterr().err
    assert main(["edge", "run", "--config", str(tmp_path / "missing.toml")]) == 2


def test_docs_list_every_config_key() -> None:
    from edge.config import reference_markdown

    assert reference_markdown().strip() in (REPO / "docs" / "edge.md").read_text()


def test_every_plugin_is_registered_once_with_a_factory_and_documented() -> None:
    from edge.actuator import ACTUATOR_FACTORIES
    from edge.config_sections import ACTUATOR_TYPES, SOURCE_TYPES, plugin_tags
    from edge.sources import SOURCE_FACTORIES

    assert set(SOURCE_FACTORIES) == set(SOURCE_TYPES)
    assert set(ACTUATOR_FACTORIES) == set(ACTUATOR_TYPES)
    tags = [t for m in (*SOURCE_TYPES, *ACTUATOR_TYPES) for t in plugin_tags(m)]
    assert len(tags) == len(set(tags)) == 11
    doc = (REPO / "docs" / "edge.md").read_text()
    for model in SOURCE_TYPES:
        assert f"source (type = {' | '.join(plugin_tags(model))})" in doc
    for model in ACTUATOR_TYPES:
        assert f"actuator.plugin (type = {' | '.join(plugin_tags(model))})" in doc


def test_every_path_key_is_relative_to_the_config_file(tmp_path: Path) -> None:
    from edge.config import _resolve_paths

    data = {"source": {"type": "folder", "path": "frames"}, "inference": {"model": "m.onnx"},
            "outbox": {"path": "o.db"}, "review": {"dir": "rev"},
            "actuator": {"plugin": {"type": "csv", "path": "rejects.csv"}},
            "mqtt": {"password_file": "pw", "tls_ca": "ca.pem", "tls_cert": "c.pem",
                     "tls_key": "k.pem"}}
    out = _resolve_paths(data, tmp_path)
    flat = [out["source"]["path"], out["inference"]["model"], out["outbox"]["path"],
            out["review"]["dir"], out["actuator"]["plugin"]["path"],
            *(out["mqtt"][k] for k in ("password_file", "tls_ca", "tls_cert", "tls_key"))]
    assert all(p.startswith(str(tmp_path) + "/") for p in flat), flat
