"""MQTT over TLS with a CA made in the test: the right CA connects, another CA does not."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from plant.broker import Mosquitto

from .mqttc import connect
from .support import Identities, Pki, broker_auth_lines


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
    session = connect(tls_broker.port, identities.n1.username, identities.n1.secret, ca=pki.ca)
    assert session.accepted
    assert not session.publish("peakline/v1/s1/l1/n1/status", b"online").is_failure
    assert session.publish("peakline/v1/s1/l1/n2/status", b"x").value == 0x87
    session.close()


def test_other_ca_fails(tls_broker: Mosquitto, pki: Pki, identities: Identities) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(tls_broker.port, identities.n1.username, identities.n1.secret, ca=pki.other_ca)


def test_plaintext_client_gets_nothing(tls_broker: Mosquitto, identities: Identities) -> None:
    session = connect(tls_broker.port, identities.n1.username, identities.n1.secret,
                      timeout=2.0)
    assert not session.accepted


def test_wrong_password_refused_over_tls(tls_broker: Mosquitto, pki: Pki,
                                         identities: Identities) -> None:
    session = connect(tls_broker.port, identities.n1.username, "wrong", ca=pki.ca)
    assert session.connack is not None and session.connack.is_failure
