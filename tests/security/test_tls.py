"""MQTT over TLS with a CA made in the test: the right CA connects, another CA does not."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.credentials import Identities, Pki, broker_auth_lines, login
from support.mqtt import Recorder
from support.payloads import draft
from support.waiting import wait_until

from edge.config_sections import MqttLinkConfig
from edge.outbox import Outbox
from edge.publisher import Publisher
from peakline.wire import NodeId, PlantStatus, ResultsBatch, dump_payload, parse_payload
from plant.broker.process import Mosquitto


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Pki, identities: Identities) -> Iterator[Mosquitto]:
    """TLS-only listener with password + ACL authentication and no anonymous access."""
    extra = [f"cafile {pki.ca}", f"certfile {pki.cert}", f"keyfile {pki.key}",
             "tls_version tlsv1.2", *broker_auth_lines(identities)]
    broker = Mosquitto(tmp_path / "tls-broker", allow_anonymous=False, extra=extra).start()
    try:
        yield broker
    finally:
        broker.stop()


def test_right_ca_connects(tls_broker: Mosquitto, pki: Pki, identities: Identities) -> None:
    session = Recorder(tls_broker.port, **login(identities.n1), ca=pki.ca)
    assert session.accepted
    assert not session.publish("peakline/v1/s1/l1/n1/status", b"online").is_failure
    assert session.publish("peakline/v1/s1/l1/n2/status", b"x").value == 0x87
    session.close()


def test_other_ca_fails(tls_broker: Mosquitto, pki: Pki, identities: Identities) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        Recorder(tls_broker.port, **login(identities.n1), ca=pki.other_ca)


def test_plaintext_client_gets_nothing(tls_broker: Mosquitto, identities: Identities) -> None:
    session = Recorder(tls_broker.port, **login(identities.n1), timeout=2.0)
    assert not session.accepted


def test_wrong_password_refused_over_tls(tls_broker: Mosquitto, pki: Pki,
                                         identities: Identities) -> None:
    session = Recorder(tls_broker.port, username=identities.n1.username, password="wrong",
                       ca=pki.ca)
    assert session.connack is not None and session.connack.is_failure


@pytest.fixture
def mtls_broker(tmp_path: Path, pki: Pki, identities: Identities) -> Iterator[Mosquitto]:
    """Mutual TLS: a client certificate is required and its CN is the username."""
    extra = [f"cafile {pki.ca}", f"certfile {pki.cert}", f"keyfile {pki.key}",
             "tls_version tlsv1.2", "require_certificate true", "use_identity_as_username true",
             *broker_auth_lines(identities)]
    broker = Mosquitto(tmp_path / "mtls-broker", allow_anonymous=False, extra=extra).start()
    try:
        yield broker
    finally:
        broker.stop()


def test_mutual_tls_maps_the_certificate_to_the_acl(
    mtls_broker: Mosquitto, pki: Pki, identities: Identities, tmp_path: Path
) -> None:
    cert = pki.issue_client(identities.n1.username, tmp_path)
    session = Recorder(mtls_broker.port, ca=pki.ca, client_cert=cert)
    assert session.accepted
    assert not session.publish("peakline/v1/s1/l1/n1/results", b"ok").is_failure
    assert session.publish("peakline/v1/s1/l1/n2/results", b"forged").value == 0x87
    session.close()


def test_mutual_tls_refuses_a_client_without_certificate(
    mtls_broker: Mosquitto, pki: Pki, identities: Identities
) -> None:
    try:
        session = Recorder(mtls_broker.port, **login(identities.n1), ca=pki.ca, timeout=2.0)
    except (ssl.SSLError, OSError):
        return
    assert not session.accepted


def test_camera_node_link_delivers_over_tls(
    tls_broker: Mosquitto, pki: Pki, identities: Identities, tmp_path: Path
) -> None:
    """The node's own publisher (edge.publisher), configured with tls_ca, gets results across."""
    plant = Recorder(tls_broker.port, **login(identities.plant), ca=pki.ca)
    assert plant.accepted
    plant.subscribe("peakline/v1/s1/+/+/results")
    status = PlantStatus(site="s1", state="online", ts=time.time())
    plant.publish("peakline/v1/s1/plant/status", dump_payload(status), retain=True)
    outbox = Outbox(tmp_path / "outbox.db")
    outbox.begin_boot("boot1", "m@1")
    outbox.store("boot1", [draft(i) for i in range(3)])
    secret = tmp_path / "n1.secret"
    secret.write_text(identities.n1.secret)
    link = MqttLinkConfig(port=tls_broker.port, username=identities.n1.username,
                          password_file=secret, tls_ca=pki.ca)
    node = Publisher(NodeId("s1", "l1", "n1"), link, outbox, boot_id="boot1", model="m@1")
    node.start()
    try:
        wait_until("results to reach the plant", lambda: bool(plant.messages), 15)
        batch = parse_payload(plant.messages[0].payload, ResultsBatch)
        assert isinstance(batch, ResultsBatch)
        assert [r.seq for r in batch.results] == [1, 2, 3]
    finally:
        node.stop(drain_s=0.5)
        outbox.close()
        plant.close()
