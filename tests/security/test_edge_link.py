"""The real camera-node link (edge.publisher) under the provisioned identities and ACLs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from support.credentials import Identities, login
from support.mqtt import Recorder
from support.payloads import draft
from support.waiting import wait_until

from edge.config_sections import MqttLinkConfig
from edge.outbox import Outbox
from edge.publisher import Publisher
from peakline.wire import NodeId, PlantAck, PlantStatus, ResultsBatch, dump_payload, parse_payload
from plant.broker.process import Mosquitto


@contextlib.contextmanager
def _node(broker: Mosquitto, tmp_path: Path, username: str, password: str) -> Iterator[Publisher]:
    """Node n1's link, running, with five results in its outbox, logged in as ``username``."""
    outbox = Outbox(tmp_path / f"outbox-{username.replace('/', '_')}.db")
    outbox.begin_boot("boot1", "m@1")
    outbox.store("boot1", [draft(i) for i in range(5)])
    secret = tmp_path / f"secret-{username.replace('/', '_')}"
    secret.write_text(password)
    settings = MqttLinkConfig(port=broker.port, username=username, password_file=secret,
                              resend_after_s=1.0, reconnect_max_s=1.0)
    node = Publisher(NodeId("s1", "l1", "n1"), settings, outbox, boot_id="boot1", model="m@1")
    node.start()
    try:
        yield node
    finally:
        node.stop(drain_s=0.5)
        outbox.close()


def _plant_online(broker: Mosquitto, identities: Identities, topics: str) -> Recorder:
    """The plant's own identity, subscribed to ``topics``, saying online (retained)."""
    plant = Recorder(broker.port, [topics], **login(identities.plant))
    status = PlantStatus(site="s1", state="online", ts=time.time())
    plant.publish("peakline/v1/s1/plant/status", dump_payload(status), retain=True)
    return plant


def test_node_delivers_and_gets_acked_with_its_own_identity(
    secure_broker: Mosquitto, identities: Identities, tmp_path: Path
) -> None:
    n1 = identities.n1
    with (_plant_online(secure_broker, identities, "peakline/v1/s1/+/+/results") as plant,
          _node(secure_broker, tmp_path, n1.username, n1.secret) as node):
        wait_until("results to reach the plant", lambda: bool(plant.messages), 15)
        batch = parse_payload(plant.messages[0].payload, ResultsBatch)
        assert isinstance(batch, ResultsBatch) and batch.node == "n1"
        last = max(r.seq for r in batch.results)
        ack = PlantAck(site="s1", line="l1", node="n1", boot_id="boot1", acked_seq=last,
                       ts=time.time())
        assert not plant.publish("peakline/v1/s1/plant/ack/l1/n1", dump_payload(ack)).is_failure
        wait_until("the ack to reach the node", lambda: node.outbox.backlog == 0, 15)
        assert node.stats.denied == 0


def test_node_with_another_nodes_identity_is_denied_and_keeps_its_results(
    secure_broker: Mosquitto, identities: Identities, tmp_path: Path
) -> None:
    # configured as n1 but holding n2's credentials: everything it sends is refused
    n2 = identities.n2
    with (_plant_online(secure_broker, identities, "peakline/v1/s1/#") as plant,
          _node(secure_broker, tmp_path, n2.username, n2.secret) as node):
        wait_until("the broker to refuse the publishes", lambda: node.stats.denied > 0, 15)
        time.sleep(0.5)
        assert [m.topic for m in plant.messages if not m.topic.endswith("/plant/status")] == []
        assert node.outbox.backlog == 5
