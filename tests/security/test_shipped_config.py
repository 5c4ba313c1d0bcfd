"""The shipped broker config (configs/mosquitto/mosquitto.conf) runs and is locked down."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.mqtt import Recorder
from support.paths import REPO

from peakline.procs import free_port, wait_for_port

from .credentials import Identities, Pki, login, make_identities, make_pki

SHIPPED = REPO / "configs" / "mosquitto" / "mosquitto.conf"


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
    if shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto is not installed")
    pki, ids = make_pki(tmp_path), make_identities(tmp_path)
    plain, tls = free_port(), free_port()
    moves = {
        "/etc/mosquitto/peakline/passwd": str(ids.passwd),
        "/etc/mosquitto/peakline/acl": str(ids.acl),
        "/etc/mosquitto/peakline/certs/ca.crt": str(pki.ca),
        "/etc/mosquitto/peakline/certs/server.crt": str(pki.cert),
        "/etc/mosquitto/peakline/certs/server.key": str(pki.key),
        "/var/lib/mosquitto/": f"{tmp_path}/",
        "listener 1883 127.0.0.1": f"listener {plain} 127.0.0.1",
        "listener 8883": f"listener {tls} 127.0.0.1",
        "log_dest syslog": "log_dest stderr",
    }
    text = SHIPPED.read_text()
    for old, new in moves.items():
        assert old in text, f"shipped config no longer has {old!r}; update this test"
        text = text.replace(old, new)
    if os.geteuid() == 0:
        text += "user root\n"
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text)
    log = (tmp_path / "mosquitto.log").open("wb")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_for_port(plain)
        wait_for_port(tls)
        yield plain, tls, ids, pki
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


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
