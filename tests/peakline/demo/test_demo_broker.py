"""The demo's broker choice: Mosquitto when it is on PATH, else the embedded amqtt broker.

The PATH is changed by the test; the brokers themselves are real child processes, and real
clients log in with what the demo gives its nodes and plant.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from support.mqtt import Recorder

from edge.config_sections import MqttLinkConfig as EdgeMqtt
from peakline.demo.broker import PASSWORD_ENV, DemoBroker, choose_broker
from peakline.demo.procs import demo_child
from peakline.procs import wait_for_port
from plant.config import PlantMqttConfig as PlantMqtt


def _login(port: int, protocol: mqtt.MQTTProtocolVersion, user: str | None,
           password: str | None) -> Any:
    """CONNECT and return the CONNACK's reason code."""
    with Recorder(port, username=user, password=password, protocol=protocol) as client:
        assert client.connack is not None, "no CONNACK"
        return client.connack


def _client_configs(broker: DemoBroker) -> tuple[EdgeMqtt, PlantMqtt]:
    table = tomllib.loads(f"port = {broker.port}\n" + broker.client_toml())
    return EdgeMqtt.model_validate(table), PlantMqtt.model_validate(table)


def test_without_mosquitto_on_path_the_demo_runs_the_embedded_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bare))
    assert shutil.which("mosquitto") is None

    broker = choose_broker(tmp_path)
    assert (broker.kind, broker.protocol) == ("amqtt", "3.1.1")
    assert "embedded amqtt broker" in broker.description and "3.1.1" in broker.description
    edge_cfg, plant_cfg = _client_configs(broker)
    assert edge_cfg.protocol == plant_cfg.protocol == "3.1.1"
    assert edge_cfg.username == plant_cfg.username == broker.username
    assert broker.password and broker.password not in broker.client_toml()  # env, not file
    assert broker.client_env == {PASSWORD_ENV: broker.password}
    monkeypatch.setenv(PASSWORD_ENV, broker.password)
    assert plant_cfg.password() == broker.password

    child = demo_child("broker", broker.argv, tmp_path / "broker.log").start()
    try:
        wait_for_port(broker.port, 15)
        assert not _login(broker.port, mqtt.MQTTv311, broker.username, broker.password).is_failure
        assert _login(broker.port, mqtt.MQTTv311, broker.username, "guess").is_failure
        assert _login(broker.port, mqtt.MQTTv311, None, None).is_failure  # no anonymous access
    finally:
        assert child.stop(10) is not None


def test_with_mosquitto_on_path_the_demo_runs_mosquitto(tmp_path: Path) -> None:
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it with apt-get)")
    broker = choose_broker(tmp_path)
    assert (broker.kind, broker.protocol, broker.username) == ("mosquitto", "5", None)
    assert "Mosquitto" in broker.description
    edge_cfg, plant_cfg = _client_configs(broker)
    assert edge_cfg.protocol == plant_cfg.protocol == "5"
    child = demo_child("broker", broker.argv, tmp_path / "broker.log").start()
    try:
        wait_for_port(broker.port, 15)
        assert not _login(broker.port, mqtt.MQTTv5, None, None).is_failure
    finally:
        assert child.stop(10) is not None

