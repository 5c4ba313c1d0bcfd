"""The shipped broker config (configs/mosquitto/mosquitto.conf) runs and is locked down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.credentials import SHIPPED_BROKER as SHIPPED
from support.credentials import Identities, Pki, login, shipped_mosquitto
from support.mqtt import Recorder


def _settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            out.setdefault(key, []).append(value)
    return out


def test_shipped_settings() -> None:
    s = _settings(SHIPPED.read_text())
    assert s["allow_anonymous"] == ["false"]
    assert s["persistence"] == ["true"]
    assert "password_file" in s and "acl_file" in s
    assert int(s["max_queued_messages"][0]) > 1000  # the default drops silently past 1000
    assert int(s["max_packet_size"][0]) >= 1_000_000
    assert s["listener"][0] == "1883 127.0.0.1" and "certfile" in s


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[tuple[int, int, Identities, Pki]]:
    """Mosquitto running the shipped file, with paths and ports moved into tmp_path."""
    with shipped_mosquitto(tmp_path) as b:
        yield b.plain, b.tls, b.ids, b.pki


def test_shipped_broker_refuses_anonymous_and_confines_nodes(
    shipped_broker: tuple[int, int, Identities, Pki],
) -> None:
    plain, tls, ids, pki = shipped_broker
    assert not Recorder(plain).accepted
    assert not Recorder(tls, ca=pki.ca).accepted
    plant = Recorder(plain, **login(ids.plant))
    node = Recorder(tls, **login(ids.n1), ca=pki.ca)
    assert plant.accepted and node.accepted
    assert not node.publish("peakline/v1/s1/l1/n1/results", b"ok").is_failure
    assert node.publish("peakline/v1/s1/l1/n2/results", b"forged").value == 0x87
    plant.close()
    node.close()
