"""The MQTT link against a real Mosquitto: batches, plant acks, plant offline, broker crash."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.mqtt import Acker, Recorder, open_sockets
from support.payloads import draft
from support.waiting import wait_until

from edge.config_sections import MqttLinkConfig
from edge.outbox import Outbox
from edge.publisher import Publisher
from peakline.wire import NodeId
from plant.broker.process import Mosquitto

NODE = NodeId("s1", "l1", "n1")


def _link(port: int, **kw: object) -> MqttLinkConfig:
    base: dict[str, object] = dict(
        port=port, batch_interval_ms=20, batch_max=50,
        resend_after_s=2.0, reconnect_min_s=0.1, reconnect_max_s=0.5, keepalive_s=5,
    )
    base.update(kw)
    return MqttLinkConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db")
    box.begin_boot("boot-a", "m:1")
    yield box
    box.close()


def test_results_go_in_batches_and_leave_the_outbox_only_when_acked(
    broker: Mosquitto, outbox: Outbox
) -> None:
    acker = Acker(broker.port, site="s1")
    pub = Publisher(NODE, _link(broker.port), outbox, "boot-a", "m:1")
    pub.start()
    try:
        for k in range(4):
            outbox.store("boot-a", [draft(k * 100 + i) for i in range(100)])
        acker.wait_stored(400)
        wait_until("the outbox to empty", lambda: outbox.backlog == 0, 30)
        seqs = sorted(acker.results[("l1", "n1", "boot-a")])
        assert seqs == list(range(1, 401))
        assert max(len(b.results) for b in acker.batches) == 50  # many results per message
        assert len(acker.batches) <= 400 / 10
        assert not any(b.historical for b in acker.batches)
    finally:
        pub.stop(2)
        acker.close()


def test_nothing_is_deleted_without_a_plant_ack_and_resends_happen(
    broker: Mosquitto, outbox: Outbox
) -> None:
    acker = Acker(broker.port, site="s1", ack=False)
    pub = Publisher(NODE, _link(broker.port, resend_after_s=0.5), outbox, "boot-a", "m:1")
    pub.start()
    try:
        outbox.store("boot-a", [draft(i) for i in range(20)])
        acker.wait_stored(20)
        wait_until("20 resends", lambda: pub.stats.resent >= 20, 10)
        assert outbox.backlog == 20  # the broker's PUBACK deletes nothing
        # resends are marked historical (they reach the acker a moment after being counted)
        wait_until("a historical batch", lambda: any(b.historical for b in acker.batches), 10)
    finally:
        pub.stop(0)
        acker.close()


def test_backlog_waits_for_the_plant_and_drains_as_historical(
    broker: Mosquitto, outbox: Outbox
) -> None:
    acker = Acker(broker.port, site="s1")
    acker.go_offline()
    pub = Publisher(NODE, _link(broker.port, historical_after_s=0.2), outbox, "boot-a", "m:1")
    pub.start()
    try:
        ts = time.time() - 60
        outbox.store("boot-a", [draft(i, ts=ts) for i in range(30)])
        wait_until("the node to connect", lambda: pub.connected, 30)
        time.sleep(0.5)
        assert acker.stored() == 0 and outbox.backlog == 30
        acker.go_online()
        acker.wait_stored(30)
        wait_until("the outbox to empty", lambda: outbox.backlog == 0, 30)
        assert all(b.historical for b in acker.batches)
        assert all(r.ts == ts for b in acker.batches for r in b.results)  # original times
    finally:
        pub.stop(1)
        acker.close()


def test_broker_sigkill_loses_nothing(own_broker: Mosquitto, outbox: Outbox) -> None:
    acker = Acker(own_broker.port, site="s1")
    pub = Publisher(NODE, _link(own_broker.port), outbox, "boot-a", "m:1")
    pub.start()
    try:
        outbox.store("boot-a", [draft(i) for i in range(200)])
        acker.wait_stored(200)
        own_broker.kill()
        wait_until("the node to notice the broker gone", lambda: not pub.connected, 10)
        for k in range(5):  # the node keeps inspecting: results pile up in the outbox
            outbox.store("boot-a", [draft(1000 + k * 100 + i) for i in range(100)])
        time.sleep(1.0)
        own_broker.start()
        acker.wait_stored(700, 30)
        wait_until("the outbox to empty", lambda: outbox.backlog == 0, 30)
        assert sorted(acker.results[("l1", "n1", "boot-a")]) == list(range(1, 701))
        assert pub.stats.connects >= 2
    finally:
        pub.stop(1)
        acker.close()


def test_denied_publish_is_noticed(tmp_path: Path, outbox: Outbox) -> None:
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite peakline/v1/s1/plant/#\ntopic read peakline/v1/s1/+/+/results\n"
                   "topic readwrite peakline/v1/s1/l1/n1/status\n")
    with Mosquitto(tmp_path / "mq", extra=[f"acl_file {acl}"]) as mq:
        acker = Acker(mq.port, site="s1")
        pub = Publisher(NODE, _link(mq.port), outbox, "boot-a", "m:1")
        pub.start()
        try:
            outbox.store("boot-a", [draft(i) for i in range(5)])
            wait_until("a denied publish", lambda: pub.stats.denied >= 1, 10)
            assert outbox.backlog == 5 and acker.stored() == 0
        finally:
            pub.stop(0)
            acker.close()


def test_status_metrics_and_commands(broker: Mosquitto, outbox: Outbox) -> None:
    from peakline.wire import NodeCommand, NodeMetrics, NodeStatus, dump_payload, parse_payload

    base = "peakline/v1/s1/l1/n1"
    seen = Recorder(broker.port, [f"{base}/#"])
    commands: list[NodeCommand] = []

    def metrics() -> NodeMetrics:
        return NodeMetrics(site="s1", line="l1", node="n1", boot_id="boot-a", ts=time.time(),
                           window_s=1.0, items=3)

    def last_status() -> NodeStatus:
        status = parse_payload(seen.on(f"{base}/status")[-1], NodeStatus)
        assert isinstance(status, NodeStatus)
        return status

    pub = Publisher(NODE, _link(broker.port, metrics_interval_s=0.2, require_plant_online=False),
                    outbox, "boot-a", "m:1", "digest", metrics=metrics,
                    on_command=commands.append)
    pub.start()
    try:
        wait_until("two metrics messages", lambda: len(seen.on(f"{base}/metrics")) >= 2, 10)
        first = next(m for m in seen.messages if m.topic == f"{base}/metrics")
        assert parse_payload(first.payload, NodeMetrics).items == 3  # type: ignore[attr-defined]
        # stale metrics expire
        assert getattr(first.properties, "MessageExpiryInterval", None) == 1
        status = last_status()
        assert status.state == "online"
        assert status.model == "m:1" and status.config_digest == "digest"
        cmd = NodeCommand(id="c1", ts=time.time(), sender="test", command="set_thresholds",
                          reject_threshold=2.0)
        seen.publish(f"{base}/cmd", dump_payload(cmd))
        wait_until("the command to reach the node", lambda: commands == [cmd], 10)
    finally:
        pub.stop(0)
    wait_until("the node's status offline", lambda: last_status().state == "offline", 10)
    seen.close()


def test_resends_of_one_message_back_off() -> None:
    from edge.link import Flight

    f = Flight("boot", lo=1, hi=5, last_seq=5, n=5, sent=100.0)
    assert not f.resend_due(109.9, 10.0) and f.resend_due(110.0, 10.0)
    waits = []
    for _ in range(6):
        waits.append(next(t for t in range(1, 1000) if f.resend_due(f.sent + t, 10.0)))
        f.sent, f.resends = f.sent + waits[-1], f.resends + 1
    assert waits == [10, 20, 40, 80, 160, 160]


def test_wrong_acks_delete_nothing_and_vanished_rows_end_their_resends(
    broker: Mosquitto, outbox: Outbox,
) -> None:
    """The delivery-error paths: acks that are malformed, for another node or another boot
    are ignored; a partial ack deletes only what it covers and the rest is resent; rows that
    left the outbox meanwhile (dropped by its bound, or acked) end their flight."""
    from peakline.wire import PlantAck, dump_payload

    results = f"peakline/v1/s1/{NODE.line}/{NODE.node}/results"
    seen = Recorder(broker.port, [results])
    pub = Publisher(NODE, _link(broker.port, resend_after_s=1.0, require_plant_online=False),
                    outbox, "boot-a", "m:1")
    pub.start()
    try:
        outbox.store("boot-a", [draft(i) for i in range(10)])
        wait_until("the first send", lambda: pub.stats.sent == 10, 10)
        ack = pub.t_ack

        def send_ack(payload: bytes) -> None:
            info = seen.client.publish(ack, payload, qos=1)
            info.wait_for_publish(5)

        send_ack(b"not json at all")
        send_ack(dump_payload(PlantAck(site="s1", line="l2", node="n1", boot_id="boot-a",
                                       acked_seq=10, ts=time.time())))  # another line's cam
        send_ack(dump_payload(PlantAck(site="s1", line="l1", node="n1", boot_id="boot-x",
                                       acked_seq=10, ts=time.time())))  # another boot
        send_ack(dump_payload(PlantAck(site="s1", line="l1", node="n1", boot_id="boot-a",
                                       acked_seq=4, ts=time.time())))
        wait_until("the partial ack", lambda: pub.stats.acked == 4, 10)
        assert outbox.backlog == 6  # the wrong acks deleted nothing
        wait_until("a resend of the unacknowledged rest", lambda: pub.stats.resent >= 6, 10)
        resent = [m for m in seen.messages if b'"historical":true' in m.payload]
        assert resent
        # the rest leaves the outbox without this link (as the bound drops rows): the next
        # resend finds no rows and ends the flight instead of resending for ever
        outbox.ack("boot-a", 10)
        wait_until("the flight to end", lambda: pub.unacked == 0, 10)
    finally:
        pub.stop(0)
        seen.close()


def test_each_batch_names_the_model_that_scored_its_results(
    broker: Mosquitto, outbox: Outbox
) -> None:
    acker = Acker(broker.port, site="s1")
    pub = Publisher(NODE, _link(broker.port), outbox, "boot-a", "m:1")
    outbox.store("boot-a", [draft(i) for i in range(3)], "m:1")
    outbox.store("boot-a", [draft(3), draft(4)], ["m:1", "m:2"])  # a reload in between
    outbox.store("boot-a", [draft(5)])  # a row without a model: the boot's
    pub.start()
    try:
        acker.wait_stored(6)
        by_model = sorted((b.model, [r.item_id for r in b.results]) for b in acker.batches)
        assert by_model == [("m:1", [0, 1, 2, 3]), ("m:1", [5]), ("m:2", [4])]
    finally:
        pub.stop(1)
        acker.close()


def test_a_stopped_publisher_leaves_no_socket_open(broker: Mosquitto, outbox: Outbox) -> None:
    """Its connection and paho's wake-up socket pair close with it: not left to the garbage
    collector, which may finalise the pair first and warn of an unclosed socket."""
    before = open_sockets()
    pub = Publisher(NODE, _link(broker.port), outbox, "boot-a", "m:1")
    pub.start()
    wait_until("the node to connect", lambda: pub.connected, 30)
    made = open_sockets() - before
    pub.stop(drain_s=0.5)
    assert len(made) >= 3, made  # the connection and the pair
    assert not made & open_sockets()
