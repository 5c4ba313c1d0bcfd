"""A results generator: one or many synthetic camera nodes on the node's own delivery code.

Each simulated node produces item results at a fixed rate and hands them to the SAME
:class:`edge.outbox.Outbox` and :class:`edge.publisher.Publisher` a camera node uses, so the
fault suite exercises the real delivery path without a camera or a model, and fifty nodes
cost one process. Run as ``python -m tests.faults.generator SPEC.json``; SIGTERM stops the
nodes gracefully (drain, then ``offline``), SIGKILL is what the suite uses for crashes.

Per node it appends ``<boot_id> <last_seq> <refused>`` to ``<workdir>/<node>.journal``
after every outbox commit (what was durably accepted, for counting) and rewrites
``<node>.status.json`` twice a second (backlog, link counters, refusals); a file
``<node>.hold`` ends its production. ``item_id`` counts
up across the node's whole life and ``ts`` is the wall time, so (node, item_id, ts) names
one generated result even if a resend were stored under another key.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import sys
import threading
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from support.payloads import draft

from edge.config_sections import MqttLinkConfig
from edge.outbox import Outbox
from edge.publisher import Publisher
from peakline.wire import NodeId, NodeMetrics

__all__ = ["SimNode", "main"]

log = logging.getLogger("generator")


class SimNode:
    """One simulated camera node: produce -> outbox -> publisher."""

    def __init__(self, spec: dict[str, Any], node: str, workdir: Path, stop: threading.Event):
        self.spec = spec
        self.node = node
        self.workdir = workdir
        self.stop_event = stop
        self.boot_id = uuid.uuid4().hex[:16]
        self.model = "faults-sim/1"
        ob = spec.get("outbox", {})
        self.outbox = Outbox(
            workdir / f"{node}.outbox.db",
            max_rows=int(ob.get("max_rows", 1_000_000)),
            reserve_fraction=float(ob.get("reserve_fraction", 0.1)),
            synchronous=str(ob.get("synchronous", "normal")),
        )
        self.outbox.begin_boot(self.boot_id, self.model)
        link = {k: v for k, v in spec.get("link", {}).items()
                if k in MqttLinkConfig.model_fields}
        self.id = NodeId(spec.get("site", "site1"), spec.get("line", "line1"), node)
        self.settings = MqttLinkConfig(host="127.0.0.1", port=int(spec["port"]), **link)
        self.publisher = Publisher(
            self.id, self.settings, self.outbox, self.boot_id, self.model, metrics=self._metrics
        )
        self.journal = (workdir / f"{node}.journal").open("a", buffering=1)
        self.item_id = self._last_item_id()
        self.last_seq = 0
        self.refused = 0
        self.produced = 0

    def _last_item_id(self) -> int:
        path = self.workdir / f"{self.node}.items"
        try:
            return int(path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def _metrics(self) -> NodeMetrics:
        return NodeMetrics(
            site=self.id.site, line=self.id.line, node=self.node,
            boot_id=self.boot_id, ts=time.time(), window_s=self.settings.metrics_interval_s,
            items=self.produced, outbox_backlog=self.outbox.backlog,
            outbox_dropped=sum(self.outbox.dropped.values()),
        )

    def _drafts(self, n: int) -> list[dict[str, Any]]:
        reject_every = int(self.spec.get("reject_every", 10))
        out = []
        now = time.time()
        for _ in range(n):
            self.item_id += 1
            reject = reject_every > 0 and self.item_id % reject_every == 0
            out.append(draft(self.item_id, "reject" if reject else "pass", ts=now))
        return out

    def run(self) -> None:
        """Produce ``count`` results (``None`` = until stopped) at ``rate`` per second."""
        self.publisher.start()
        rate = float(self.spec.get("rate", 100.0))
        per_store = max(1, int(self.spec.get("per_store", 10)))
        count = self.spec.get("count")
        interval = per_store / rate
        next_at = time.monotonic() + random.uniform(0, interval)
        hold = self.workdir / f"{self.node}.hold"
        while not self.stop_event.is_set() and (count is None or self.produced < count):
            if hold.exists():  # the scenario asked this node to stop producing
                break
            n = per_store if count is None else min(per_store, int(count) - self.produced)
            stored = self.outbox.store(self.boot_id, self._drafts(n))
            self.produced += n
            self.refused += n - len(stored)
            if stored:
                self.last_seq = stored[-1].seq
            self.journal.write(f"{self.boot_id} {self.last_seq} {self.refused}\n")
            (self.workdir / f"{self.node}.items").write_text(str(self.item_id))
            next_at += interval
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))
        self.stop_event.wait()

    def status(self) -> dict[str, Any]:
        return {
            "node": self.node, "pid": os.getpid(), "boot_id": self.boot_id,
            "last_seq": self.last_seq,
            "produced": self.produced, "refused": self.refused,
            "backlog": self.outbox.backlog, "dropped": self.outbox.dropped,
            "connected": self.publisher.connected, "plant_online": self.publisher.plant_online,
            "unacked": self.publisher.unacked, "link": asdict(self.publisher.stats),
        }

    def close(self, drain_s: float) -> None:
        self.publisher.stop(drain_s)
        self.journal.close()
        self.outbox.close()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    """Run the nodes named in the JSON spec until SIGTERM (or until each produced ``count``)."""
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    workdir = Path(spec["workdir"])
    logging.basicConfig(level=spec.get("log_level", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    nodes = [SimNode(spec, name, workdir, stop) for name in spec["nodes"]]
    threads = [threading.Thread(target=n.run, name=n.node, daemon=True) for n in nodes]
    for node, thread in zip(nodes, threads, strict=True):
        if spec.get("stagger_s"):
            time.sleep(float(spec["stagger_s"]))
        thread.start()
        log.info("node %s boot %s started", node.node, node.boot_id)
    while not stop.wait(0.5):
        for node in nodes:
            _write_json(workdir / f"{node.node}.status.json", node.status())
    for thread in threads:
        thread.join(timeout=5)
    drain = float(spec.get("drain_s", 5.0))
    closers = [threading.Thread(target=n.close, args=(drain,)) for n in nodes]
    for c in closers:
        c.start()
    for c in closers:
        c.join()
    for node in nodes:
        _write_json(workdir / f"{node.node}.status.json", {**node.status(), "stopped": True})
    return 0


if __name__ == "__main__":
    sys.exit(main())
