"""Edge test kit: a small test-side plant that acknowledges results, and result drafts.

The ``Acker`` receives results batches and acknowledges what it "stored".

It behaves like the plant service's contract (``plant/status`` retained online with a Last
Will, ``PlantAck`` with the highest contiguous seq per boot after storing), keeping results in
memory, so the edge's delivery can be tested before/without the real plant.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from peakline.wire import (
    ItemResult,
    PlantAck,
    PlantStatus,
    ResultsBatch,
    Topics,
    dump_payload,
    parse_payload,
)

__all__ = ["Acker", "draft", "to_toml", "wait_until"]


class Acker:
    """Subscribes to every node's results on ``site`` and acks the contiguous prefix."""

    def __init__(self, port: int, site: str = "s1", ack: bool = True) -> None:
        self.topics = Topics(site)
        self.site = site
        self.ack = ack
        self.results: dict[tuple[str, str], dict[int, ItemResult]] = defaultdict(dict)
        self.batches: list[ResultsBatch] = []
        self.deliveries = 0
        self._contig: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Lock()
        self._online = threading.Event()
        c = self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"test-acker-{site}", protocol=mqtt.MQTTv5,
        )
        c.will_set(self.topics.plant_status, self._status("offline"), qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.reconnect_delay_set(1, 2)
        c.connect("127.0.0.1", port, keepalive=5)
        c.loop_start()
        if not self._online.wait(10):
            raise RuntimeError("test acker could not connect")

    def _status(self, state: str) -> bytes:
        return dump_payload(PlantStatus(site=self.site, state=state, ts=time.time()))  # type: ignore[arg-type]

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(self.topics.all_nodes("results"), qos=1)
        client.publish(self.topics.plant_status, self._status("online"), qos=1, retain=True)
        self._online.set()

    def _on_message(self, client: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        batch = parse_payload(bytes(msg.payload), ResultsBatch)
        assert isinstance(batch, ResultsBatch)
        key = (batch.node, batch.boot_id)
        with self._lock:
            self.batches.append(batch)
            self.deliveries += len(batch.results)
            store = self.results[key]
            for r in batch.results:
                store.setdefault(r.seq, r)
            n = self._contig[key]
            while n + 1 in store:
                n += 1
            self._contig[key] = n
        if self.ack:
            ack = PlantAck(site=self.site, node=batch.node, boot_id=batch.boot_id,
                           acked_seq=n, ts=time.time())
            client.publish(self.topics.plant_ack(batch.node), dump_payload(ack), qos=1)

    def stored(self) -> int:
        with self._lock:
            return sum(len(v) for v in self.results.values())

    def wait_for(self, n: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stored() >= n:
                return True
            time.sleep(0.05)
        return False

    def go_offline(self) -> None:
        """Say offline (retained) as the plant's own Last Will would."""
        self.client.publish(self.topics.plant_status, self._status("offline"), qos=1,
                            retain=True).wait_for_publish(5)

    def close(self) -> None:
        self.go_offline()
        self.client.disconnect()
        self.client.loop_stop()



def draft(i: int, decision: str = "pass", ts: float | None = None) -> dict[str, Any]:
    """The fields of one ItemResult but its seq."""
    return {
        "item_id": i, "ts": time.time() if ts is None else ts, "frame": i, "bbox": (1, 2, 3, 4),
        "score": 0.1, "decision": decision, "defect": None, "latency_ms": 1.0,
        "rejected": decision == "reject", "missed_reject": False,
    }


def wait_until(cond: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def to_toml(data: dict[str, Any]) -> str:
    """A small TOML writer for node configs (scalars, lists, nested tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []

    def table(prefix: str, d: dict[str, Any]) -> None:
        subs = {k: v for k, v in d.items() if isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {value(v)}" for k, v in d.items() if not isinstance(v, dict))
        for k, v in subs.items():
            table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines) + "\n"
