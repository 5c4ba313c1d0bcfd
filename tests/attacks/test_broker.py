"""Findings 1, 5 and 6 against Mosquitto running the shipped configuration and a real plant.

1. Two nodes with the same name on two lines: line 2's ``cam1`` read line 1's acks, learned
   its boot id and published results with the next sequence numbers, so line 1's real results
   were dropped as duplicates, acknowledged and deleted from its outbox.
5. Reserved names: a "node" provisioned on a line called ``plant`` could publish the retained
   plant status, acks for any node, ERP messages or plans.
6. Client-id takeover: any device could connect with the plant's client id, and Mosquitto
   dropped the plant (its Last Will said offline; its persistent session was lost).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.credentials import ShippedBroker, login, shipped_mosquitto
from support.mqtt import Recorder
from support.payloads import batch
from support.procs import peakline
from support.waiting import wait_until

from peakline import wire
from peakline.errors import PeaklineError
from plant.broker import identities as security
from plant.config import PlantConfig
from plant.service import PlantService

NOT_AUTHORIZED = 0x87
T = wire.Topics("s1")


@pytest.fixture
def shipped(tmp_path: Path) -> Iterator[ShippedBroker]:
    with shipped_mosquitto(tmp_path) as broker:
        yield broker


def _plant(broker: ShippedBroker, tmp_path: Path) -> PlantService:
    secret = tmp_path / "plant.secret"
    secret.write_text(broker.ids.plant.secret)
    secret.chmod(0o600)
    config = PlantConfig.model_validate({
        "plant": {"site": "s1", "db": f"sqlite:///{tmp_path / 'plant.db'}"},
        "mqtt": {"port": broker.plain, "username": broker.ids.plant.username,
                 "password_file": str(secret), "keepalive_s": 5, "reconnect_max_s": 1},
        "ingest": {"parse_workers": 0, "flush_interval_ms": 10,
                   "provisioned_acl": str(broker.ids.acl)},
        "erp": {"enabled": False},
    })
    service = PlantService(config).start()
    assert service.wait_connected(10)
    return service


def _acked(rec: Recorder, line: str, node: str) -> int:
    acks = [wire.parse_payload(p, wire.PlantAck) for p in rec.on(T.plant_ack(line, node))]
    return max((a.acked_seq for a in acks), default=0)  # type: ignore[union-attr]


def test_the_same_node_name_on_another_line_cannot_take_over_its_results(
    shipped: ShippedBroker, tmp_path: Path
) -> None:
    twin = security.provision_node("s1", "l2", "n1", shipped.ids.passwd, shipped.ids.acl)
    shipped.reload()
    plant = _plant(shipped, tmp_path)
    victim = Recorder(shipped.tls, [T.plant_ack("l1", "n1")], ca=shipped.pki.ca,
                      **login(shipped.ids.n1))
    attacker = Recorder(shipped.tls, [f"{T.base}/plant/ack/#", f"{T.base}/#"],
                        ca=shipped.pki.ca, **login(twin))
    try:
        real = batch(range(1, 101), line="l1", node="n1", site="s1", boot="boot-v",
                     reject_every=5)
        results = T.node("l1", "n1", "results")
        wait_until("the plant to store the victim's results",
                   lambda: _acked(victim, "l1", "n1") == 100
                   or (victim.publish(results, wire.dump_payload(real)) and False), 20, 1.0)
        # the attacker learns nothing of line 1: it reads the plant status and nothing else
        assert {m.topic for m in attacker.messages} == {T.plant_status}
        # its results on line 1's topic are refused; on its own topic they are its own
        forged = batch(range(101, 201), line="l1", node="n1", site="s1", boot="boot-v")
        assert attacker.publish(results, wire.dump_payload(forged)).value == NOT_AUTHORIZED
        own = batch(range(1, 101), line="l2", node="n1", site="s1", boot="boot-v")
        attacker.publish(T.node("l2", "n1", "results"), wire.dump_payload(own))
        wait_until("the attacker's own results stored",
                   lambda: plant.store.count_results() == 200, 20)
        stored = plant.store.results()
        line1 = stored[stored["line"] == "l1"]
        assert len(line1) == 100 and (line1["decision"] == "reject").sum() == 20
        assert set(stored[stored["line"] == "l2"]["decision"]) == {"pass"}
        assert {m.topic for m in attacker.messages} == {T.plant_status, T.plant_ack("l2", "n1")}
    finally:
        victim.close()
        attacker.close()
        plant.stop()


@pytest.mark.parametrize("line", sorted(wire.RESERVED_NAMES))
def test_a_reserved_line_name_cannot_be_provisioned(line: str, tmp_path: Path) -> None:
    with pytest.raises(PeaklineError, match="reserved"):
        security.provision_node("s1", line, "n9", tmp_path / "passwd", tmp_path / "acl")
    assert not (tmp_path / "acl").exists()
    cli = peakline("provision", tmp_path, "plant", "provision", "node", "--site", "s1",
                   "--line", line, "--node", "n9", "--passwd-file", str(tmp_path / "passwd"),
                   "--acl-file", str(tmp_path / "acl"))
    assert cli.run(timeout=60) == 2
    said = cli.output().strip().splitlines()
    assert len(said) == 1 and "reserved" in said[0], said
    assert not (tmp_path / "acl").exists()


def test_a_node_publishes_exactly_its_own_leaves(shipped: ShippedBroker) -> None:
    """No plant status, acks, ERP messages, plans or commands from a node, retained or not."""
    node = Recorder(shipped.tls, ca=shipped.pki.ca, **login(shipped.ids.n1))
    try:
        for leaf in ("status", "results", "metrics", "rejects"):
            assert not node.publish(T.node("l1", "n1", leaf), b"{}").is_failure, leaf
        for topic in (T.node("l1", "n1", "cmd"), f"{T.base}/l1/n1/anything",
                      f"{T.base}/l1/n1/status/deeper", T.plant_status,
                      T.plant_ack("l1", "n2"), T.erp("orders"), T.plan("production"),
                      f"{T.base}/suppliers/acme/feed"):
            for retain in (False, True):
                assert node.publish(topic, b"forged", retain=retain).value == NOT_AUTHORIZED, \
                    topic
    finally:
        node.close()
    with pytest.raises(PeaklineError, match="outside"):
        security.node_acl("s1", "l1", "n1", extra_write=[T.plant_status])


def test_a_device_cannot_take_the_plants_client_id(shipped: ShippedBroker, tmp_path: Path) -> None:
    plant = _plant(shipped, tmp_path)
    watcher = Recorder(shipped.tls, [T.plant_status], ca=shipped.pki.ca,
                       **login(shipped.ids.n2))
    try:
        wait_until("the plant online", lambda: watcher.on(T.plant_status), 10)
        for client_id in (shipped.ids.plant.username, "peakline-plant", "plant-s1"):
            intruder = Recorder(shipped.tls, ca=shipped.pki.ca, client_id=client_id,
                                **login(shipped.ids.n1))
            assert intruder.accepted  # it connects, as itself: its id is its username
            time.sleep(1.0)
            intruder.close()
        time.sleep(1.0)
        states = [wire.parse_payload(p, wire.PlantStatus).state  # type: ignore[union-attr]
                  for p in watcher.on(T.plant_status)]
        assert "offline" not in states  # before: the plant was dropped, its Will said offline
        assert plant.link.connected.is_set()
    finally:
        watcher.close()
        plant.stop()
