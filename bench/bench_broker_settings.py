"""What Mosquitto's autosave policy costs: QoS 1 publishes queued for an offline plant.

A persistent session (the plant, MQTT 5, session expiry 1 h) subscribes and goes away, so
every message an edge publishes is queued in the broker; the edge then publishes N QoS 1
messages of 300 bytes and waits for every PUBACK. Compared: persistence off, persistence with
``autosave_interval 1`` (seconds; the shipped config) and ``autosave_on_changes true`` (a full
database write after every change). Prints a table, then one JSON object as its last line.

    python bench/bench_broker_settings.py [--messages 3000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from plant.broker.process import Mosquitto

POLICIES = {
    "persistence off": ["persistence false"],
    "autosave every 1 s": ["autosave_on_changes false"],
    "autosave every change": ["autosave_on_changes true"],
}


def _client(client_id: str) -> mqtt.Client:
    return mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)


def run(workdir: Path, lines: list[str], messages: int) -> float:
    """Messages per second acknowledged by the broker under one policy."""
    broker = Mosquitto(workdir, extra=lines).start()
    try:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        plant = _client("plant")
        plant.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        plant.loop_start()
        plant.subscribe("bench/#", qos=1)
        time.sleep(0.5)
        plant.disconnect()
        plant.loop_stop()
        edge = _client("edge")
        edge.connect("127.0.0.1", broker.port)
        edge.loop_start()
        start = time.perf_counter()
        infos = [edge.publish("bench/results", b"x" * 300, qos=1) for _ in range(messages)]
        for info in infos:
            info.wait_for_publish(120)
        elapsed = time.perf_counter() - start
        edge.disconnect()
        edge.loop_stop()
        return messages / elapsed
    finally:
        broker.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, lines) in enumerate(POLICIES.items()):
            results[name] = round(run(Path(tmp) / str(i), lines, args.messages))
    print(f"{'policy':<24} {'msg/s':>8}   ({args.messages} QoS 1 messages, plant offline)")
    for name, rate in results.items():
        print(f"{name:<24} {rate:>8}")
    print(json.dumps({"bench": "broker_settings", "messages": args.messages, "msg_per_s": results}))


if __name__ == "__main__":
    main()
