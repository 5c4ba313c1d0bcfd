"""Finding 7: thresholds from the wire.

Before: ``set_thresholds`` accepted any finite value (a reject threshold of 1e9 switched
rejection off), retained or stale commands were applied again on every reconnect, and each
``reload_model`` started a thread without limit. Now commands carry an id, a time and a
sender; they are range-checked against the model card, applied once, rate-limited, and each
outcome is logged and published in the node's status (the dashboard shows it).

The commands travel over a real Mosquitto to a real node's MQTT link.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.configs import node_config
from support.mqtt import Recorder
from support.waiting import wait_until

from edge.config import load_config
from edge.node import Node
from peakline import wire
from plant.broker.process import Mosquitto


@pytest.fixture
def node(broker: Mosquitto, recording_dir: Path, line_model: Path,
         tmp_path: Path) -> Iterator[Node]:
    site = f"c{uuid.uuid4().hex[:8]}"
    cfg = node_config(tmp_path, broker.port, recording_dir, line_model, site=site,
                      inference={"model": str(line_model)})
    node = Node(load_config(cfg))
    node.publisher.start()  # its MQTT link only: commands in, status out
    try:
        wait_until("the node connected", lambda: node.publisher.connected, 10)
        time.sleep(0.3)  # its subscriptions follow the CONNACK
        yield node
    finally:
        node.publisher.stop(0)
        node.rejects.stop(fire_pending=False)
        node.decisions.close()
        node.inference.close()
        node.outbox.close()
        node.telemetry.close()


def _send(port: int, node: Node, retain: bool = False, **fields: Any) -> str:
    c = node.config
    body = {"id": uuid.uuid4().hex[:12], "ts": time.time(), "sender": "intruder",
            "command": "set_thresholds", **fields}
    cmd = wire.NodeCommand.model_validate(body)
    with Recorder(port) as plant:
        plant.publish(wire.Topics(c.site).node(c.line, c.node, "cmd"), wire.dump_payload(cmd),
                      retain=retain)
    return cmd.id


def _outcome(node: Node, cmd_id: str, after: str = "") -> str:
    """The node's note on command ``cmd_id``; ``after``: a note on an earlier send of the same
    id, which is not the answer to this one (without it a resent id raced its first answer)."""
    wait_until(f"the node to answer command {cmd_id}",
               lambda: cmd_id in node.publisher.last_command
               and node.publisher.last_command != after, 10)
    return node.publisher.last_command


def test_commands_are_checked_applied_once_and_reported(broker: Mosquitto, node: Node) -> None:
    card = node.card.thresholds
    before = node.decider.thresholds
    # a reject threshold of 1e9 would switch rejection off: refused
    note = _outcome(node, _send(broker.port, node, reject_threshold=1e9))
    assert note.startswith("refused") and "outside" in note and "intruder" in note
    assert node.decider.thresholds == before
    # stale and future commands: refused
    assert "stale" in _outcome(node, _send(broker.port, node, reject_threshold=card.reject,
                                           ts=time.time() - 3600))
    assert "future" in _outcome(node, _send(broker.port, node, reject_threshold=card.reject,
                                            ts=time.time() + 3600))
    # a sane change is applied, once
    good = card.reject * 1.25
    first = _send(broker.port, node, reject_threshold=good, id="change-1")
    applied = _outcome(node, first)
    assert applied.startswith("applied")
    assert node.decider.thresholds.reject == good
    node.decider.set(card.reject, None)
    again = _send(broker.port, node, id="change-1", reject_threshold=good)
    assert "already applied" in _outcome(node, again, after=applied)
    assert node.decider.thresholds.reject == card.reject
    # the status the plant stores carries the outcome
    with Recorder(broker.port, [node.publisher.t_status]) as watch:
        wait_until("the retained status", lambda: watch.messages, 10)
        status = wire.parse_payload(watch.messages[-1].payload, wire.NodeStatus)
        assert "change-1" in status.last_command  # type: ignore[union-attr]


def test_a_retained_command_is_not_applied_again_on_reconnect(
    broker: Mosquitto, node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    card = node.card.thresholds
    topic = node.publisher.t_cmd
    cmd_id = _send(broker.port, node, retain=True, reject_threshold=card.reject * 1.5)
    assert _outcome(node, cmd_id).startswith("applied")  # delivered live, once
    node.decider.set(card.reject, None)  # an operator puts it back
    try:
        for _ in range(2):  # each reconnect delivers the retained copy again
            # drop the link under the node's own network thread, as a network fault would
            # (calling paho's reconnect() from this thread raced that thread and leaked a socket)
            connects = node.publisher.stats.connects
            sock = node.publisher.client.socket()
            assert sock is not None
            sock.shutdown(socket.SHUT_RDWR)
            wait_until("the node reconnected",
                       lambda before=connects: node.publisher.stats.connects > before
                       and node.publisher.connected, 15)
            time.sleep(1.0)
        assert node.decider.thresholds.reject == card.reject  # before: 1.5 x again
        assert "ignored a retained command" in caplog.text
    finally:
        with Recorder(broker.port) as plant:  # clear it
            plant.publish(topic, b"", retain=True)


def test_commands_are_rate_limited_and_reloads_do_not_pile_up(
    broker: Mosquitto, node: Node
) -> None:
    notes: list[str] = []
    report = node.publisher.set_last_command

    def record(note: str) -> None:
        notes.append(note)
        report(note)

    node.publisher.set_last_command = record  # type: ignore[method-assign]
    ref = node.card.thresholds.reject
    for i in range(7):
        _send(broker.port, node, reject_threshold=ref * (1 + i / 100))
    wait_until("seven answers", lambda: len(notes) == 7, 10)
    assert [n.split()[0] for n in notes] == ["applied"] * 6 + ["refused"]
    assert "rate limit" in notes[-1]
    assert node.decider.thresholds.reject == pytest.approx(ref * 1.05)
    # while a reload runs, another is refused (each used to start a thread of its own)
    node._reload_done.clear()
    node.commands._accepted.clear()
    reload_id = _send(broker.port, node, command="reload_model")
    assert "already running" in _outcome(node, reload_id)
    node._reload_done.set()
