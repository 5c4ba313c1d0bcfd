"""A recording MQTT client and small helpers for the plant's end-to-end tests."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from plant.config import PlantConfig


def wait_until(what: str, cond: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``cond`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Recorder:
    """Subscribes to topics and keeps every message (topic, payload, retained, time)."""

    def __init__(self, port: int, topics: list[str],
                 on_message: Callable[[str, bytes], None] | None = None) -> None:
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self._lock = threading.Lock()
        self._hook = on_message
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"rec-{uuid.uuid4().hex[:8]}", protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if topics:
            self.client.subscribe([(t, 1) for t in topics])
            assert self._subscribed.wait(10), "subscription not acknowledged"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if self._hook is not None:
            self._hook(msg.topic, bytes(msg.payload))
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain), time.time()))

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _r, _ts in self.messages if t == topic]

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def plant_config(port: int, site: str, db: str, **ingest: Any) -> PlantConfig:
    """A config for a plant on ``site`` (a unique client id, so sessions don't cross)."""
    return PlantConfig.model_validate({
        "plant": {"site": site, "db": db},
        "mqtt": {"port": port, "client_id": f"plant-{site}", "keepalive_s": 5,
                 "reconnect_max_s": 1},
        "ingest": {"parse_workers": 0, "flush_interval_ms": 10, **ingest},
        "erp": {"plan_poll_s": 0.2},
    })
