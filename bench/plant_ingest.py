"""Benchmark: item results per second from a real Mosquitto into SQLite, none lost.

Starts its own Mosquitto (the shipped settings, persistence on) on a free port, the real
plant service (``plant.service.PlantService``) in this process on a fresh SQLite file, and
publisher processes that act like camera nodes: QoS 1 ``ResultsBatch`` messages of
``--batch`` results each, at most ``--window`` batches ahead of the plant's acknowledgement
(as an edge outbox does, so nothing piles up in the broker). After ``--duration`` seconds
the publishers stop, wait for the last acks, and the bench counts results sent, stored,
lost and duplicated. Prints a table and, as its last line, one JSON object.

    python bench/plant_ingest.py --duration 60
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

GOAL = 50_000
_PASS = (b'{"seq":%d,"item_id":%d,"ts":%.3f,"frame":%d,"bbox":[10,20,150,150],"score":0.12,'
         b'"decision":"pass","defect":null,"latency_ms":8.5,"rejected":false}')
_REJECT = (b'{"seq":%d,"item_id":%d,"ts":%.3f,"frame":%d,"bbox":[10,20,150,150],"score":0.93,'
           b'"decision":"reject","defect":"crack","latency_ms":8.5,"rejected":true}')


def _publisher(port: int, site: str, line: str, node: str, batch: int, window: int,
               duration: float, out: Any) -> None:
    """One simulated node: publish batches while at most ``window`` are unacknowledged."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    boot = f"bench-{node}"
    acked = 0
    cond = threading.Condition()

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        nonlocal acked
        data = json.loads(msg.payload)
        if data.get("boot_id") == boot:
            with cond:
                acked = max(acked, int(data["acked_seq"]))
                cond.notify_all()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{node}",
                         protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(window)
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(f"peakline/v1/{site}/plant/ack/{node}", qos=1)
    client.loop_start()
    topic = f"peakline/v1/{site}/{line}/{node}/results"
    head = (f'{{"schema":"peakline.results/1","site":"{site}","line":"{line}","node":"{node}",'
            f'"boot_id":"{boot}","model":"bench/1","sent_at":%.3f,"results":[').encode()
    seq = 0
    t0 = time.time()
    end = time.monotonic() + duration
    while time.monotonic() < end:
        with cond:
            while seq - acked >= window * batch and time.monotonic() < end:
                cond.wait(0.05)
        if time.monotonic() >= end:
            break
        now = time.time()
        items = []
        for _ in range(batch):  # formatted, not json.dumps'd: the bench measures the plant
            seq += 1
            items.append((_REJECT if seq % 50 == 0 else _PASS) % (seq, seq, now, seq))
        payload = head % (now,) + b",".join(items) + b"]}"
        client.publish(topic, payload, qos=1)
    sent_s = time.time() - t0
    deadline = time.monotonic() + 60
    with cond:
        while acked < seq and time.monotonic() < deadline:
            cond.wait(0.1)
    client.loop_stop()
    client.disconnect()
    out.put({"node": node, "sent": seq, "acked": acked, "send_s": sent_s,
             "ack_wait_s": time.time() - t0 - sent_s, "cpu_s": time.process_time()})


def _cpu_s(pid: int | None) -> float:
    """user + system CPU seconds of a live process, from /proc (0 if unknown)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(exclude: set[int]) -> list[int]:
    """Live child processes of this one (the plant's parse workers), minus ``exclude``."""
    me = str(os.getpid())
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        if fields[1] == me and pid not in exclude:
            out.append(pid)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing")
    parser.add_argument("--nodes", type=int, default=2, help="publisher processes (nodes)")
    parser.add_argument("--batch", type=int, default=500, help="results per MQTT message")
    parser.add_argument("--window", type=int, default=40,
                        help="batches a node may have unacknowledged by the plant")
    parser.add_argument("--parse-workers", type=int, default=-1,
                        help="plant parse worker processes (-1: the service default)")
    parser.add_argument("--synchronous", default="FULL", choices=["NORMAL", "FULL"],
                        help="SQLite synchronous setting of the plant")
    args = parser.parse_args(argv)

    from plant.broker.process import Mosquitto
    from plant.config import PlantConfig
    from plant.service import PlantService
    from plant.store import Store

    site, line = "bench", "L1"
    with tempfile.TemporaryDirectory(prefix="peakline-bench-") as tmp:
        broker = Mosquitto(Path(tmp) / "mosquitto").start()
        db = Path(tmp) / "plant.db"
        cfg = PlantConfig.model_validate({
            "plant": {"site": site, "db": f"sqlite:///{db}",
                      "sqlite_synchronous": args.synchronous},
            "mqtt": {"port": broker.port, "client_id": "bench-plant"},
            "ingest": {"max_batch_messages": 200, "flush_interval_ms": 20,
                       "parse_workers": args.parse_workers},
            "erp": {"enabled": False},
        })
        service = PlantService(cfg)
        try:
            service.start()
            if not service.wait_connected(10):
                raise SystemExit("plant did not connect to the broker")
            ctx = mp.get_context("spawn")
            out = ctx.Queue()
            procs = [ctx.Process(target=_publisher, args=(broker.port, site, line, f"n{i}",
                                                          args.batch, args.window,
                                                          args.duration, out))
                     for i in range(args.nodes)]
            t0 = time.time()
            cpu0 = (_cpu_s(os.getpid()), _cpu_s(broker.pid))
            workers = _children({broker.pid or 0})
            cpu0_workers = sum(_cpu_s(w) for w in workers)
            for p in procs:
                p.start()
            reports = []
            deadline = time.monotonic() + args.duration + 120
            while len(reports) < len(procs) and time.monotonic() < deadline:
                try:
                    reports.append(out.get(timeout=1))
                except queue.Empty:
                    if any(p.exitcode not in (None, 0) for p in procs):
                        raise SystemExit("a publisher process failed") from None
            if len(reports) < len(procs):
                raise SystemExit("publishers did not finish")
            for p in procs:
                p.join(10)
            elapsed = time.time() - t0
            cpu_plant = _cpu_s(os.getpid()) - cpu0[0]
            cpu_broker = _cpu_s(broker.pid) - cpu0[1]
            cpu_workers = sum(_cpu_s(w) for w in workers) - cpu0_workers
            stats = service.ingest.stats
            commits, last_ms = stats.commits, stats.last_commit_ms
        finally:
            service.stop()
            broker.stop()
        store = Store.open(f"sqlite:///{db}")
        stored = store.count_results()
        gaps = len(store.gaps())
        store.close()

    sent = sum(r["sent"] for r in reports)
    acked = sum(r["acked"] for r in reports)
    send_s = max(r["send_s"] for r in reports)
    rate = acked / max(1e-9, max(r["send_s"] + r["ack_wait_s"] for r in reports))
    lost = sent - stored
    per_k = 1000.0 / max(1, stored)
    cpu_pub = sum(r["cpu_s"] for r in reports)
    plant_us = (cpu_plant + cpu_workers) * 1e6 / max(1, stored)
    load = os.getloadavg()[0]
    rows = [
        ("nodes x batch", f"{args.nodes} x {args.batch} results/message"),
        ("duration (publishing)", f"{send_s:.1f} s"),
        ("results sent", f"{sent:,}"),
        ("results acked by plant", f"{acked:,}"),
        ("results stored", f"{stored:,}"),
        ("lost / duplicated", f"{lost} / 0 (UNIQUE node,boot,seq)"),
        ("gaps recorded", str(gaps)),
        ("commits", f"{commits:,} (last {last_ms:.1f} ms)"),
        ("items/s (sent -> committed -> acked)", f"{rate:,.0f}"),
        ("plant parse workers", str(cfg.ingest.workers())),
        ("CPU ms per 1000 items: plant main", f"{cpu_plant * 1000 * per_k:.1f}"),
        ("  plant parse workers", f"{cpu_workers * 1000 * per_k:.1f}"),
        ("  mosquitto", f"{cpu_broker * 1000 * per_k:.1f}"),
        ("  publishers (the simulated edges)", f"{cpu_pub * 1000 * per_k:.1f}"),
        ("machine load average (1 min) at end", f"{load:.1f} on {os.cpu_count()} cores"),
        ("goal", f">= {GOAL:,} items/s, none lost"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(json.dumps({
        "bench": "plant_ingest", "items_per_s": round(rate), "sent": sent, "stored": stored,
        "acked": acked, "lost": lost, "duplicated": 0, "duration_s": round(send_s, 2),
        "elapsed_s": round(elapsed, 2), "nodes": args.nodes, "batch": args.batch,
        "sqlite_synchronous": args.synchronous, "parse_workers": cfg.ingest.workers(),
        "goal_items_per_s": GOAL,
        "goal_met": bool(rate >= GOAL and lost == 0),
        "plant_cpu_us_per_item": round(plant_us, 2),
        "cpu_ms_per_1000_items": {"plant_main": round(cpu_plant * 1000 * per_k, 2),
                                  "parse_workers": round(cpu_workers * 1000 * per_k, 2),
                                  "mosquitto": round(cpu_broker * 1000 * per_k, 2),
                                  "publishers": round(cpu_pub * 1000 * per_k, 2)},
        "load_avg_1m": round(load, 2), "cpus": os.cpu_count(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
