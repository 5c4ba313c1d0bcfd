"""Edge node test kit: a node config for the committed recording, and the offline reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from edgekit import to_toml

from edge.recording.format import read_recording

__all__ = ["iou", "match_results", "node_config", "offline_reference", "read_outbox"]


def node_config(
    tmp: Path, port: int, recording: Path, model: Path, **sections: dict[str, Any]
) -> Path:
    """Write a node config replaying ``recording`` to ``tmp/node.toml`` and return its path."""
    meta = json.loads((recording / "recording.json").read_text())
    data: dict[str, Any] = {
        "site": "s1", "line": "l1", "node": "n1", "metrics_port": 0,
        "source": {"type": "recording", "path": str(recording), "realtime": False},
        "belt": {"y0": meta["belt_y0"], "y1": meta["belt_y1"],
                 "speed_px_s": meta["belt_speed_px_s"]},
        "inference": {"model": str(model), "threads": 1, "batch_size": 8, "max_wait_ms": 5.0},
        "actuator": {"station_x": float(meta["width"]) * 1.5, "latency_ms": 10.0,
                     "plugin": {"type": "csv", "path": str(tmp / "rejects.csv")}},
        "outbox": {"path": str(tmp / "outbox.db"), "synchronous": "normal"},
        "mqtt": {"port": port, "batch_interval_ms": 50, "resend_after_s": 3.0,
                 "reconnect_min_s": 0.1, "reconnect_max_s": 1.0, "keepalive_s": 5,
                 "metrics_interval_s": 1.0, "drain_on_stop_s": 10.0},
        "review": {"dir": str(tmp / "review")},
    }
    for name, values in sections.items():
        target = data.setdefault(name, {})
        for k, v in values.items():
            if isinstance(v, dict):
                target.setdefault(k, {}).update(v)
            else:
                target[k] = v
    path = tmp / "node.toml"
    path.write_text(to_toml(data))
    return path


def iou(a: tuple[int, ...] | list[int], b: tuple[int, ...] | list[int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / float(aw * ah + bw * bh - inter)


def match_results(recording: Path, results: list[Any]) -> tuple[dict[int, list[Any]], list[Any]]:
    """Labelled item id -> the node results whose box is that item's at that frame."""
    rec = read_recording(recording)
    hits: dict[int, list[Any]] = {}
    unmatched = []
    for r in results:
        rows = rec.labels_at(r.frame)
        best = max(rows, key=lambda row: iou(row.bbox, r.bbox), default=None)
        if best is None or iou(best.bbox, r.bbox) < 0.5:
            unmatched.append(r)
        else:
            hits.setdefault(best.item, []).append(r)
    return hits, unmatched


def offline_reference(recording: Path, model: Path) -> dict[int, tuple[str, float, int]]:
    """What ``peakline model eval`` scores: item -> (label, score, frame of its best view)."""
    from edge.model.data import load_items
    from edge.model.scorer import Scorer

    scorer = Scorer(model, threads=1)
    items = load_items(recording, scorer.spec, margin=scorer.card.crop.margin, with_digest=False)
    scores = scorer.score(items.x)
    best = read_recording(recording).best_views()
    out = {}
    for item, row in best.items():
        name = f"item {item} (frame {row.frame})"
        k = items.names.index(name)
        out[item] = (items.labels[k], float(scores[k]), row.frame)
    return out


def rescore(recording: Path, model: Path, results: list[Any]) -> np.ndarray:
    """Offline scores of the node's own boxes at the node's frames (card ROI + preprocess)."""
    from edge.fastpath import preprocess
    from edge.model.scorer import Scorer

    scorer = Scorer(model, threads=1)
    rec = read_recording(recording)
    by_frame: dict[int, list[int]] = {}
    for k, r in enumerate(results):
        by_frame.setdefault(r.frame, []).append(k)
    out = np.zeros(len(results), np.float32)
    for index, frame in rec.frames(min(by_frame), max(by_frame) + 1):
        ks = by_frame.get(index, [])
        if not ks:
            continue
        h, w = frame.shape[:2]
        rois = np.array([scorer.card.roi_for(results[k].bbox, w, h) for k in ks], np.int64)
        out[ks] = scorer.score(preprocess(frame, rois, scorer.spec))
    return out


def read_outbox(path: Path) -> set[tuple[str, int]]:
    """(boot_id, seq) of every row in an outbox file (read directly, as after a crash)."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return {(b, int(s)) for b, s in db.execute("SELECT boot_id, seq FROM results")}
    finally:
        db.close()
