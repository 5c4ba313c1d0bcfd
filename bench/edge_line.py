"""Camera node throughput and latency: replay a recording as fast as possible through the node.

Two runs of the real node (capture -> items -> C++ preprocess -> ONNX Runtime -> decision ->
outbox -> MQTT to a local Mosquitto, with a small acknowledging plant in this process):

- ``load``: every fully visible item is scored in every frame (``judge_frames`` large), which
  is the goal's load of ~8 items per frame; reports frames/s, scored items/s, p50/p99 latency
  from frame arrival to score, and the time per stage;
- ``load@fps``: the same paced at the recording's frame rate (30 fps), the latency a line
  sees;
- ``decide``: the production setting (one decision per item at its most centred view);
  reports the same and whether the decisions equal ``peakline model eval``'s.

Usage::

    python bench/edge_line.py [--recording tests/data/line_short] [--model M.onnx] [--threads 2]

Without ``--model`` a model is fitted on the recording first (a few seconds). The last line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.config import NodeConfig  # noqa: E402
from edge.node import Node  # noqa: E402
from peakline.wire import PlantAck, PlantStatus, ResultsBatch, Topics, dump_payload  # noqa: E402
from plant.broker.process import Mosquitto  # noqa: E402


class _Plant:
    """Acknowledges every results batch at once (stands in for the plant service)."""

    def __init__(self, port: int, site: str) -> None:
        self.t = Topics(site)
        self.site = site
        self.received = 0
        self.results: list[Any] = []
        self._ready = threading.Event()
        c = self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, "bench-plant",
                                      protocol=mqtt.MQTTv5)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.connect("127.0.0.1", port)
        c.loop_start()
        self._ready.wait(10)

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(self.t.all_nodes("results"), qos=1)
        client.publish(self.t.plant_status, dump_payload(
            PlantStatus(site=self.site, state="online", ts=time.time())), qos=1, retain=True)
        self._ready.set()

    def _on_message(self, client: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        batch = ResultsBatch.model_validate_json(msg.payload)
        self.results.extend(batch.results)
        self.received += len(batch.results)
        client.publish(self.t.plant_ack(batch.line, batch.node), dump_payload(PlantAck(
            site=self.site, line=batch.line, node=batch.node, boot_id=batch.boot_id,
            acked_seq=batch.results[-1].seq, ts=time.time())), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _config(work: Path, port: int, recording: Path, model: Path, judge_frames: int,
            threads: int, realtime: bool = False) -> NodeConfig:
    meta = json.loads((recording / "recording.json").read_text())
    return NodeConfig.model_validate({
        "site": "bench", "line": "l1", "node": f"n{judge_frames}{'rt' if realtime else ''}",
        "source": {"type": "recording", "path": str(recording), "realtime": realtime,
                   "ring": 8 if realtime else 4},
        "belt": {"y0": meta["belt_y0"], "y1": meta["belt_y1"],
                 "speed_px_s": meta["belt_speed_px_s"], "judge_frames": judge_frames},
        "inference": {"model": str(model), "threads": threads, "batch_size": 16,
                      "max_wait_ms": 5.0, "preprocess_threads": 1},
        "actuator": {"station_x": meta["width"] * 1.5, "plugin": {"type": "log"}},
        "outbox": {"path": str(work / f"outbox{judge_frames}{realtime}.db"),
                   "synchronous": "normal"},
        "mqtt": {"port": port, "batch_interval_ms": 100, "metrics_interval_s": 60},
    })


def _run(work: Path, port: int, recording: Path, model: Path, judge_frames: int,
         threads: int, realtime: bool = False) -> tuple[dict[str, Any], Node, list[Any]]:
    plant = _Plant(port, "bench")
    node = Node(_config(work, port, recording, model, judge_frames, threads, realtime))
    t0, c0 = time.perf_counter(), time.process_time()
    node.run(install_signals=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    deadline = time.monotonic() + 20
    while plant.received < node.decisions.decided and time.monotonic() < deadline:
        time.sleep(0.05)
    plant.close()
    frames = node.capture.stats.frames
    # the pipeline's own span: first frame's arrival to the last scored item (start-up and the
    # final drain of the MQTT link are not part of the frame rate)
    tel = node.telemetry
    if tel.first_frame_t0 is not None and tel.last_scored:
        wall = tel.last_scored - tel.first_frame_t0
    views = np.asarray(tel.view_latency_s) * 1000.0
    lat = views if len(views) else np.zeros(1)
    stages = {
        "capture": node.capture.stats.read_s, "items": tel.stage_s["items"],
        "preprocess": node.inference.preprocess_s, "inference": node.inference.infer_s,
        "outbox": tel.stage_s["outbox"], "publish": node.publisher.stats.publish_s,
    }
    row = {
        "judge_frames": judge_frames, "frames": frames, "wall_s": round(wall, 2),
        "frames_per_s": round(frames / wall, 1),
        "scored_items": int(node.inference.items),
        "scored_items_per_s": round(node.inference.items / wall, 1),
        "items_per_frame": round(node.inference.items / max(frames, 1), 2),
        "decisions": node.decisions.decided,
        "delivered": plant.received,
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 2),
        "latency_p99_ms": round(float(np.percentile(lat, 99)), 2),
        "stage_ms_per_frame": {k: round(1000.0 * v / max(frames, 1), 2)
                               for k, v in stages.items()},
        # CPU of the whole node process (all threads, decoder and ONNX Runtime included): what
        # the pipeline costs regardless of other load on the machine
        "cpu_ms_per_frame": round(1000.0 * cpu / max(frames, 1), 2),
        "capacity_fps_2_cores": round(2.0 * frames / max(cpu, 1e-9), 1),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    return row, node, plant.results


def _agreement(recording: Path, model: Path, results: list[Any]) -> dict[str, Any]:
    """Compare the node's decisions with ``peakline model eval``'s for the same items."""
    sys.path.insert(0, str(ROOT / "tests"))
    from support.replay import match_results, offline_reference

    from edge.decision import Decider, Thresholds
    from edge.model.card import read_card

    hits, unmatched = match_results(recording, results)
    ref = offline_reference(recording, model)
    card = read_card(model)
    decide = Decider(Thresholds(card.thresholds.reject, card.thresholds.uncertain)).decide
    expected = {i for i, (label, _s, _f) in ref.items() if label != "empty_slot"}
    same = sum(decide(ref[i][1]) == rs[0].decision for i, rs in hits.items() if i in ref)
    t = card.thresholds
    clear_differ = sum(
        decide(ref[i][1]) != rs[0].decision
        and not any(th / 1.5 <= ref[i][1] <= th * 1.5 for th in (t.reject, t.uncertain))
        for i, rs in hits.items() if i in ref
    )
    return {
        "clear_cases_differ": clear_differ,
        "items_expected": len(expected), "items_decided": len(hits),
        "missing": len(expected - set(hits)), "unmatched": len(unmatched),
        "twice": sum(len(v) > 1 for v in hits.values()), "same_decision": same,
        "equal": same == len(hits) == len(expected) and not unmatched,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recording", type=Path, default=ROOT / "tests" / "data" / "line_short")
    ap.add_argument("--model", type=Path)
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    ap.add_argument("--load-judge-frames", type=int, default=120)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = args.model
        if model is None:
            from edge.model.fit import fit_model

            model = work / "model.onnx"
            fit_model(args.recording, model, threads=args.threads)
        with Mosquitto(work / "mq") as mq:
            load, _, _ = _run(work, mq.port, args.recording, model, args.load_judge_frames,
                              args.threads)
            line, _, _ = _run(work, mq.port, args.recording, model, args.load_judge_frames,
                              args.threads, realtime=True)
            decide, _, results = _run(work, mq.port, args.recording, model, 1, args.threads)
        agreement = _agreement(args.recording, model, results)
    print(f"recording {args.recording} on {os.cpu_count()} cores")
    head = ["run", "frames/s", "items/s", "items/frame", "p50 ms", "p99 ms", "decisions",
            "cpu ms/frame", "cap fps/2c"]
    print("  ".join(f"{h:>11}" for h in head))
    for name, row in (("load", load), ("load@fps", line), ("decide", decide)):
        cells = [name, row["frames_per_s"], row["scored_items_per_s"], row["items_per_frame"],
                 row["latency_p50_ms"], row["latency_p99_ms"], row["decisions"],
                 row["cpu_ms_per_frame"], row["capacity_fps_2_cores"]]
        print("  ".join(f"{c!s:>11}" for c in cells))
    print("stage wall ms per frame (load):", load["stage_ms_per_frame"])
    print(f"machine load average while running: {load['load_avg_1m']} (shared machine)")
    print("decisions vs model eval:", agreement)
    goal = load["scored_items_per_s"] >= 240 and load["latency_p99_ms"] < 50
    print(json.dumps({
        "bench": "edge_line", "cores": os.cpu_count(), "load": load, "load_at_source_fps": line,
        "decide": decide,
        "latency_p50_ms_at_source_fps": line["latency_p50_ms"],
        "latency_p99_ms_at_source_fps": line["latency_p99_ms"],
        "items_per_s": load["scored_items_per_s"], "frames_per_s": load["frames_per_s"],
        "latency_p50_ms": load["latency_p50_ms"], "latency_p99_ms": load["latency_p99_ms"],
        "decisions_equal_eval": agreement["equal"], "agreement": agreement,
        "goal_met": bool(goal),
    }))


if __name__ == "__main__":
    main()
