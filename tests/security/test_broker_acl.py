"""Per-node identities against a real Mosquitto: refused, confined, revoked."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.credentials import Identities, login
from support.mqtt import Recorder

from plant.broker import identities as security
from plant.broker.process import Mosquitto

NOT_AUTHORIZED = 0x87


def _settle(seconds: float = 0.5) -> None:
    """Let in-flight deliveries arrive before asserting that something did not."""
    time.sleep(seconds)


@pytest.fixture
def plant_and_n1(
    secure_broker: Mosquitto, identities: Identities
) -> Iterator[tuple[Recorder, Recorder]]:
    """The plant and the node n1, each logged in with its own identity."""
    plant = Recorder(secure_broker.port, **login(identities.plant))
    n1 = Recorder(secure_broker.port, **login(identities.n1))
    try:
        assert plant.accepted and n1.accepted
        yield plant, n1
    finally:
        plant.close()
        n1.close()


def test_anonymous_is_refused(secure_broker: Mosquitto) -> None:
    session = Recorder(secure_broker.port)
    assert session.connack is not None and session.connack.is_failure


def test_wrong_credentials_are_refused(secure_broker: Mosquitto, identities: Identities) -> None:
    wrong_pw = Recorder(secure_broker.port, username=identities.n1.username,
                        password="not-the-password")
    assert wrong_pw.connack is not None and wrong_pw.connack.is_failure
    other_pw = Recorder(secure_broker.port, username=identities.n1.username,
                        password=identities.n2.secret)
    assert other_pw.connack is not None and other_pw.connack.is_failure
    unknown = Recorder(secure_broker.port, username="node/s1/l1/n9",
                       password=identities.n1.secret)
    assert unknown.connack is not None and unknown.connack.is_failure
    good = Recorder(secure_broker.port, **login(identities.n1))
    assert good.accepted
    good.close()


def test_node_publishes_only_in_its_own_subtree(
    plant_and_n1: tuple[Recorder, Recorder],
) -> None:
    plant, n1 = plant_and_n1
    assert not plant.subscribe("peakline/v1/s1/#").is_failure
    assert not n1.publish("peakline/v1/s1/l1/n1/results", b"own").is_failure
    for topic in ("peakline/v1/s1/l1/n2/results", "peakline/v1/s1/l1/n2/status",
                  "peakline/v1/s1/plant/ack/l1/n2", "peakline/v1/s1/plant/status",
                  "peakline/v1/s1/plans/production", "peakline/v1/s2/l1/n1/results"):
        assert n1.publish(topic, b"forged").value == NOT_AUTHORIZED, topic
    _settle()
    assert plant.received_pairs() == [("peakline/v1/s1/l1/n1/results", b"own")]


def test_node_reads_only_its_own_commands_and_acks(
    plant_and_n1: tuple[Recorder, Recorder],
) -> None:
    plant, n1 = plant_and_n1
    for topic in ("peakline/v1/s1/l1/+/cmd", "peakline/v1/s1/plant/#", "peakline/v1/s1/l1/n2/#"):
        n1.subscribe(topic)  # Mosquitto grants the SUBACK and filters at delivery
    sent = {
        "peakline/v1/s1/l1/n1/cmd": True, "peakline/v1/s1/l1/n2/cmd": False,
        "peakline/v1/s1/plant/status": True, "peakline/v1/s1/plant/ack/l1/n1": True,
        "peakline/v1/s1/plant/ack/l1/n2": False, "peakline/v1/s1/plant/ack/l2/n1": False,
    }
    for topic in sent:
        assert not plant.publish(topic, b"m").is_failure, topic
    _settle()
    assert sorted(m.topic for m in n1.messages) == sorted(t for t, ok in sent.items() if ok)


def test_revoked_and_new_nodes_after_reload(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    n3 = security.provision_node("s1", "l2", "n3", identities.passwd, identities.acl)
    security.revoke(identities.n2.username, identities.passwd, identities.acl)
    assert secure_broker.pid is not None
    os.kill(secure_broker.pid, signal.SIGHUP)  # what `systemctl reload mosquitto` sends
    time.sleep(0.5)
    assert not Recorder(secure_broker.port, **login(identities.n2)).accepted
    fresh = Recorder(secure_broker.port, **login(n3))
    assert fresh.accepted
    assert not fresh.publish("peakline/v1/s1/l2/n3/results", b"x").is_failure
    assert fresh.publish("peakline/v1/s1/l1/n1/results", b"x").value == NOT_AUTHORIZED
    fresh.close()


def test_rotated_password_replaces_the_old_one(
    secure_broker: Mosquitto, identities: Identities, tmp_path: Path
) -> None:
    new = security.provision_node("s1", "l1", "n1", identities.passwd, identities.acl,
                                  rotate=True)
    assert secure_broker.pid is not None
    os.kill(secure_broker.pid, signal.SIGHUP)
    time.sleep(0.5)
    assert not Recorder(secure_broker.port, **login(identities.n1)).accepted
    session = Recorder(secure_broker.port, **login(new))
    assert session.accepted
    session.close()


def test_erp_bridge_writes_only_erp_inputs(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    erp_id = security.provision_erp("s1", identities.passwd, identities.acl)
    assert secure_broker.pid is not None
    os.kill(secure_broker.pid, signal.SIGHUP)
    time.sleep(0.5)
    plant = Recorder(secure_broker.port, **login(identities.plant))
    erp = Recorder(secure_broker.port, **login(erp_id))
    try:
        assert plant.accepted and erp.accepted
        plant.subscribe("peakline/v1/s1/#")
        assert not erp.publish("peakline/v1/s1/erp/orders", b"o").is_failure
        for topic in ("peakline/v1/s1/l1/n1/results", "peakline/v1/s1/plans/production",
                      "peakline/v1/s1/plant/ack/n1", "peakline/v1/s1/l1/n1/cmd"):
            assert erp.publish(topic, b"forged").value == NOT_AUTHORIZED, topic
        _settle()
        assert plant.received_pairs() == [("peakline/v1/s1/erp/orders", b"o")]
    finally:
        plant.close()
        erp.close()


def test_extra_write_topic_reaches_the_plc_gateway(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    n5 = security.provision_node("s1", "l1", "n5", identities.passwd, identities.acl,
                                 extra_write=["plc/line1/reject"])
    assert secure_broker.pid is not None
    os.kill(secure_broker.pid, signal.SIGHUP)
    time.sleep(0.5)
    node = Recorder(secure_broker.port, **login(n5))
    try:
        assert not node.publish("plc/line1/reject", b"fire").is_failure
        assert node.publish("plc/line2/reject", b"fire").value == NOT_AUTHORIZED
    finally:
        node.close()
