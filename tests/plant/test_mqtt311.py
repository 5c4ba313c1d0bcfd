"""MQTT 3.1.1 end to end against the embedded amqtt broker (no Mosquitto involved).

The camera node's link and the plant both run with ``protocol = "3.1.1"``: results reach the
database, the plant's acks come back, the outbox empties, also across a plant restart (the
broker keeps the plant's ``clean_session=False`` session and queues for it).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import text
from support.configs import plant_config
from support.mqtt import Recorder
from support.payloads import draft
from support.waiting import wait_until

from edge.config_sections import MqttLinkConfig
from edge.outbox import Outbox
from edge.publisher import Publisher
from peakline.wire import NodeId
from plant.broker.embedded import EmbeddedBroker
from plant.service import PlantService

USER, PASSWORD = "line", "s3cret-pw"


@pytest.fixture(scope="module")
def amqtt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One real amqtt broker (child process) for this module, with one user."""
    with EmbeddedBroker(tmp_path_factory.mktemp("amqtt"), users={USER: PASSWORD}) as broker:
        yield broker


def _connect(port: int, protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTv311,
             user: str | None = USER, password: str = PASSWORD, client_id: str | None = None,
             timeout: float = 10.0) -> Recorder:
    """A connected (or refused) client on a persistent session (3.1.1: clean_session=False)."""
    return Recorder(port, username=user, password=password if user else None,
                    protocol=protocol, client_id=client_id,
                    clean_session=False if protocol != mqtt.MQTTv5 else None, timeout=timeout)


def test_the_broker_wants_a_login_and_speaks_3_1_1_only(amqtt: EmbeddedBroker) -> None:
    ok = _connect(amqtt.port)
    assert ok.accepted and ok.client.is_connected()
    ok.close()
    for kwargs in ({"user": None}, {"password": "wrong"}):
        refused = _connect(amqtt.port, **kwargs)
        assert refused.connack is not None and refused.connack.is_failure, kwargs
        refused.close()
    # amqtt answers an MQTT 5 CONNECT with a 3.1.1 "unacceptable protocol version" CONNACK
    # and closes: paho (v5) never reports a connection
    v5 = _connect(amqtt.port, protocol=mqtt.MQTTv5, timeout=2.0)
    assert not v5.client.is_connected() and not v5.accepted
    v5.close()


def test_a_persistent_session_keeps_qos1_messages_while_away(amqtt: EmbeddedBroker) -> None:
    cid, topic = f"away-{uuid.uuid4().hex[:6]}", f"t/{uuid.uuid4().hex[:6]}"
    sub = _connect(amqtt.port, client_id=cid)
    assert sub.session_present is False
    sub.subscribe(topic)
    sub.close()
    pub = _connect(amqtt.port)
    for i in range(5):
        pub.publish(topic, f"m{i}".encode())
    pub.close()
    sub = _connect(amqtt.port, client_id=cid)  # the same session: its queue is delivered
    try:
        wait_until("the queued messages", lambda: len(sub.messages) >= 5, 10)
        assert [m.payload for m in sub.messages] == [f"m{i}".encode() for i in range(5)]
    finally:
        sub.close()


def _plant(port: int, site: str, db: Path) -> PlantService:
    cfg = plant_config(port, site, f"sqlite:///{db}")
    cfg = cfg.model_copy(update={"mqtt": cfg.mqtt.model_copy(update={
        "protocol": "3.1.1", "username": USER,
        "password_env": "PEAKLINE_TEST_MQTT311_PASSWORD"})})
    svc = PlantService(cfg)
    svc.start()
    assert svc.wait_connected(10)
    return svc


def _stored(svc: PlantService, node: str) -> int:
    with svc.store.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM results WHERE node=:n"),
                                {"n": node}).scalar_one())


def test_edge_to_plant_under_3_1_1_with_a_plant_restart(
    amqtt: EmbeddedBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PEAKLINE_TEST_MQTT311_PASSWORD", PASSWORD)
    site = f"s{uuid.uuid4().hex[:6]}"
    db = tmp_path / "plant.db"
    svc = _plant(amqtt.port, site, db)
    box = Outbox(tmp_path / "outbox.db")
    box.begin_boot("boot-a", "m:1")
    link = MqttLinkConfig(port=amqtt.port, protocol="3.1.1", username=USER,
                          password_env="PEAKLINE_TEST_MQTT311_PASSWORD", batch_interval_ms=20,
                          batch_max=50, resend_after_s=2.0, reconnect_min_s=0.1,
                          reconnect_max_s=0.5, keepalive_s=5)
    pub = Publisher(NodeId(site, "L1", "n1"), link, box, "boot-a", "m:1")
    with caplog.at_level(logging.WARNING, logger="peakline.mqtt"):
        pub.start()
    warned = [r for r in caplog.records
              if r.name == "peakline.mqtt" and "results stay in the outbox" in r.getMessage()]
    assert len(warned) == 1
    try:
        box.store("boot-a", [draft(i, "reject" if i % 7 == 0 else "pass") for i in range(300)])
        wait_until("the outbox to empty", lambda: box.backlog == 0, 30)
        assert _stored(svc, "n1") == 300
        assert pub.stats.acked == 300 and pub.stats.denied == 0

        svc.stop()  # the plant goes away: its retained status says offline
        wait_until("the node to see the plant offline", lambda: not pub.plant_online, 10)
        box.store("boot-a", [draft(i, "reject" if i % 7 == 0 else "pass")
                             for i in range(300, 450)])
        time.sleep(0.5)
        assert box.backlog == 150  # held in the outbox, not pushed into the broker

        svc = _plant(amqtt.port, site, db)
        wait_until("the backlog to drain", lambda: box.backlog == 0, 30)
        assert _stored(svc, "n1") == 450
        with svc.store.engine.connect() as conn:
            seqs = [r[0] for r in conn.execute(text(
                "SELECT seq FROM results WHERE node='n1' AND boot_id='boot-a' ORDER BY seq"))]
        assert seqs == list(range(1, 451))  # nothing lost, nothing twice
    finally:
        pub.stop(2)
        box.close()
        svc.stop()
