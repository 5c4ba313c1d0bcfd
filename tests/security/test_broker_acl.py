"""Per-node identities against a real Mosquitto: refused, confined, revoked."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from plant.broker import identities as security
from plant.broker.process import Mosquitto

from .mqttc import connect
from .support import Identities

NOT_AUTHORIZED = 0x87


def _settle(seconds: float = 0.5) -> None:
    """Let in-flight deliveries arrive before asserting that something did not."""
    time.sleep(seconds)


def test_anonymous_is_refused(secure_broker: Mosquitto) -> None:
    session = connect(secure_broker.port)
    assert session.connack is not None and session.connack.is_failure


def test_wrong_credentials_are_refused(secure_broker: Mosquitto, identities: Identities) -> None:
    wrong_pw = connect(secure_broker.port, identities.n1.username, "not-the-password")
    assert wrong_pw.connack is not None and wrong_pw.connack.is_failure
    other_pw = connect(secure_broker.port, identities.n1.username, identities.n2.secret)
    assert other_pw.connack is not None and other_pw.connack.is_failure
    unknown = connect(secure_broker.port, "node/s1/l1/n9", identities.n1.secret)
    assert unknown.connack is not None and unknown.connack.is_failure
    good = connect(secure_broker.port, identities.n1.username, identities.n1.secret)
    assert good.accepted
    good.close()


def test_node_publishes_only_in_its_own_subtree(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    plant = connect(secure_broker.port, identities.plant.username, identities.plant.secret)
    n1 = connect(secure_broker.port, identities.n1.username, identities.n1.secret)
    assert plant.accepted and n1.accepted
    try:
        assert not plant.subscribe("peakline/v1/s1/#").is_failure
        assert not n1.publish("peakline/v1/s1/l1/n1/results", b"own").is_failure
        for topic in ("peakline/v1/s1/l1/n2/results", "peakline/v1/s1/l1/n2/status",
                      "peakline/v1/s1/plant/ack/n2", "peakline/v1/s1/plant/status",
                      "peakline/v1/s1/plans/production", "peakline/v1/s2/l1/n1/results"):
            assert n1.publish(topic, b"forged").value == NOT_AUTHORIZED, topic
        _settle()
        assert plant.messages == [("peakline/v1/s1/l1/n1/results", b"own")]
    finally:
        plant.close()
        n1.close()


def test_node_reads_only_its_own_commands_and_acks(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    plant = connect(secure_broker.port, identities.plant.username, identities.plant.secret)
    n1 = connect(secure_broker.port, identities.n1.username, identities.n1.secret)
    try:
        for topic in ("peakline/v1/s1/l1/+/cmd", "peakline/v1/s1/plant/#",
                      "peakline/v1/s1/l1/n2/#"):
            n1.subscribe(topic)  # Mosquitto grants the SUBACK and filters at delivery
        sent = {
            "peakline/v1/s1/l1/n1/cmd": True, "peakline/v1/s1/l1/n2/cmd": False,
            "peakline/v1/s1/plant/status": True, "peakline/v1/s1/plant/ack/n1": True,
            "peakline/v1/s1/plant/ack/n2": False,
        }
        for topic in sent:
            assert not plant.publish(topic, b"m").is_failure, topic
        _settle()
        assert sorted(t for t, _ in n1.messages) == sorted(t for t, ok in sent.items() if ok)
    finally:
        plant.close()
        n1.close()


def test_revoked_and_new_nodes_after_reload(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    n3 = security.provision_node("s1", "l2", "n3", identities.passwd, identities.acl)
    security.revoke(identities.n2.username, identities.passwd, identities.acl)
    assert secure_broker.pid is not None
    os.kill(secure_broker.pid, signal.SIGHUP)  # what `systemctl reload mosquitto` sends
    time.sleep(0.5)
    assert not connect(secure_broker.port, identities.n2.username, identities.n2.secret).accepted
    fresh = connect(secure_broker.port, n3.username, n3.secret)
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
    assert not connect(secure_broker.port, identities.n1.username, identities.n1.secret).accepted
    session = connect(secure_broker.port, new.username, new.secret)
    assert session.accepted
    session.close()


def test_erp_bridge_writes_only_erp_inputs(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    erp_id = security.provision_erp("s1", identities.passwd, identities.acl)
    assert secure_broker.pid is not None
    os.kill(secure_broker.pid, signal.SIGHUP)
    time.sleep(0.5)
    plant = connect(secure_broker.port, identities.plant.username, identities.plant.secret)
    erp = connect(secure_broker.port, erp_id.username, erp_id.secret)
    try:
        assert plant.accepted and erp.accepted
        plant.subscribe("peakline/v1/s1/#")
        assert not erp.publish("peakline/v1/s1/erp/orders", b"o").is_failure
        for topic in ("peakline/v1/s1/l1/n1/results", "peakline/v1/s1/plans/production",
                      "peakline/v1/s1/plant/ack/n1", "peakline/v1/s1/l1/n1/cmd"):
            assert erp.publish(topic, b"forged").value == NOT_AUTHORIZED, topic
        _settle()
        assert plant.messages == [("peakline/v1/s1/erp/orders", b"o")]
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
    node = connect(secure_broker.port, n5.username, n5.secret)
    try:
        assert not node.publish("plc/line1/reject", b"fire").is_failure
        assert node.publish("plc/line2/reject", b"fire").value == NOT_AUTHORIZED
    finally:
        node.close()
