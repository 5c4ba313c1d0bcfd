"""A camera node replaying a recording, checked from outside: its results against the offline
reference (``peakline model eval``), and its outbox file read as after a crash."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from edge.recording.format import read_recording

__all__ = ["iou", "match_results", "offline_reference", "read_outbox", "rescore"]


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
    """(boot_id, seq) of every row in an outbox file, read-only (none if there is no file)."""
    if not path.exists():
        return set()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {(b, int(s)) for b, s in db.execute("SELECT boot_id, seq FROM results")}
    finally:
        db.close()
