"""A supplier's identity against a real Mosquitto: its own feed and replies, nothing else."""

from __future__ import annotations

import os
import signal
import time

from support.credentials import Identities, login
from support.mqtt import Recorder

from plant.broker import identities as security
from plant.broker.process import Mosquitto

NOT_AUTHORIZED = 0x87
FEED_A = "peakline/v1/s1/suppliers/acme/feed"
FEED_B = "peakline/v1/s1/suppliers/other/feed"


def _reload(broker: Mosquitto) -> None:
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGHUP)  # what `systemctl reload mosquitto` sends
    time.sleep(0.5)


def test_supplier_reads_only_its_own_feed_and_writes_only_its_replies(
    secure_broker: Mosquitto, identities: Identities
) -> None:
    acme = security.provision_supplier("s1", "acme", identities.passwd, identities.acl)
    other_id = security.provision_supplier("s1", "other", identities.passwd, identities.acl)
    _reload(secure_broker)
    plant = Recorder(secure_broker.port, **login(identities.plant))
    sup = Recorder(secure_broker.port, **login(acme))
    other = Recorder(secure_broker.port, **login(other_id))
    try:
        assert plant.accepted and sup.accepted and other.accepted
        plant.subscribe("peakline/v1/s1/#")
        # the plant may publish every supplier's feed; the supplier sees only its own
        for topic in ("peakline/v1/s1/suppliers/+/feed", "peakline/v1/s1/#", "#",
                      "peakline/v1/s1/suppliers/other/#", "peakline/v1/s1/plans/#"):
            sup.subscribe(topic)  # Mosquitto grants the SUBACK and filters at delivery
        for topic in (FEED_A, FEED_B, "peakline/v1/s1/plans/purchases",
                      "peakline/v1/s1/plant/status"):
            assert not plant.publish(topic, b"m", retain=True).is_failure, topic
        assert plant.publish("peakline/v1/s1/suppliers/acme/reply", b"x").value == NOT_AUTHORIZED
        assert not other.publish("peakline/v1/s1/suppliers/other/reply", b"r").is_failure
        assert not sup.publish("peakline/v1/s1/suppliers/acme/reply", b"r").is_failure
        for topic in ("peakline/v1/s1/suppliers/other/reply", FEED_A,
                      "peakline/v1/s1/erp/prices", "peakline/v1/s1/plans/purchases",
                      "peakline/v1/s2/suppliers/acme/reply", "peakline/v1/s1/l1/n1/results"):
            assert sup.publish(topic, b"forged").value == NOT_AUTHORIZED, topic
        time.sleep(0.5)
        assert {m.topic for m in sup.messages} == {FEED_A}
        replies = [t for t, _ in plant.received_pairs() if t.endswith("/reply")]
        assert replies == ["peakline/v1/s1/suppliers/other/reply",
                           "peakline/v1/s1/suppliers/acme/reply"]
    finally:
        plant.close()
        sup.close()
        other.close()


def test_revoked_supplier_is_refused(secure_broker: Mosquitto, identities: Identities) -> None:
    acme = security.provision_supplier("s1", "acme", identities.passwd, identities.acl)
    _reload(secure_broker)
    first = Recorder(secure_broker.port, **login(acme))
    assert first.accepted
    first.close()
    security.revoke(security.supplier_identity("s1", "acme"), identities.passwd, identities.acl)
    _reload(secure_broker)
    assert not Recorder(secure_broker.port, **login(acme)).accepted
