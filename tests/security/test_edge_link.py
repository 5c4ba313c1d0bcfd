"""The real camera-node link (edge.publisher) under the provisioned identities and ACLs."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from edge.config_sections import MqttLinkConfig
from edge.outbox import Outbox
from edge.publisher import Publisher
from peakline.wire import NodeId, PlantAck, PlantStatus, ResultsBatch, dump_payload, parse_payload
from plant.broker.process import Mosquitto

from .mqttc import connect
from .support import Identities


def _wait(cond: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def _draft(item: int) -> dict[str, object]:
    return dict(item_id=item, ts=time.time(), frame=item, bbox=(0, 0, 10, 10), score=0.1,
                decision="pass", latency_ms=2.0, rejected=False)


def _node(broker: Mosquitto, tmp_path: Path, username: str, password: str) -> Publisher:
    outbox = Outbox(tmp_path / f"outbox-{username.replace('/', '_')}.db")
    outbox.begin_boot("boot1", "m@1")
    outbox.store("boot1", [_draft(i) for i in range(5)])
    secret = tmp_path / f"secret-{username.replace('/', '_')}"
    secret.write_text(password)
    settings = MqttLinkConfig(port=broker.port, username=username, password_file=secret,
                              resend_after_s=1.0, reconnect_max_s=1.0)
    return Publisher(NodeId("s1", "l1", "n1"), settings, outbox, boot_id="boot1", model="m@1")


def test_node_delivers_and_gets_acked_with_its_own_identity(
    secure_broker: Mosquitto, identities: Identities, tmp_path: Path
) -> None:
    plant = connect(secure_broker.port, identities.plant.username, identities.plant.secret)
    assert plant.accepted
    plant.subscribe("peakline/v1/s1/+/+/results")
    status = PlantStatus(site="s1", state="online", ts=time.time())
    plant.client.publish("peakline/v1/s1/plant/status", dump_payload(status), qos=1, retain=True)
    node = _node(secure_broker, tmp_path, identities.n1.username, identities.n1.secret)
    node.start()
    try:
        assert _wait(lambda: bool(plant.messages)), "no results reached the plant"
        batch = parse_payload(plant.messages[0][1], ResultsBatch)
        assert isinstance(batch, ResultsBatch) and batch.node == "n1"
        last = max(r.seq for r in batch.results)
        ack = PlantAck(site="s1", node="n1", boot_id="boot1", acked_seq=last, ts=time.time())
        assert not plant.publish("peakline/v1/s1/plant/ack/n1", dump_payload(ack)).is_failure
        assert _wait(lambda: node.outbox.backlog == 0), "the ack did not reach the node"
        assert node.stats.denied == 0
    finally:
        node.stop(drain_s=1.0)
        node.outbox.close()
        plant.close()


def test_node_with_another_nodes_identity_is_denied_and_keeps_its_results(
    secure_broker: Mosquitto, identities: Identities, tmp_path: Path
) -> None:
    plant = connect(secure_broker.port, identities.plant.username, identities.plant.secret)
    plant.subscribe("peakline/v1/s1/#")
    status = PlantStatus(site="s1", state="online", ts=time.time())
    plant.client.publish("peakline/v1/s1/plant/status", dump_payload(status), qos=1, retain=True)
    # configured as n1 but holding n2's credentials: everything it sends is refused
    node = _node(secure_broker, tmp_path, identities.n2.username, identities.n2.secret)
    node.start()
    try:
        assert _wait(lambda: node.stats.denied > 0), "the broker did not refuse the publishes"
        time.sleep(0.5)
        assert [t for t, _ in plant.messages if not t.endswith("/plant/status")] == []
        assert node.outbox.backlog == 5
    finally:
        node.stop(drain_s=0.5)
        node.outbox.close()
        plant.close()
