"""The synthetic line recorder, the recording reader and the dataset-folder layout."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.recording import DEFECTS, read_recording
from edge.recording.dataset import export_dataset, read_dataset
from edge.recording.recorder import record
from edge.recording.scene import LineConfig, LineScene
from peakline.cli import main
from peakline.errors import DataError

SMALL = {"width": 640, "height": 360}


def _frames(seed: int, n: int = 4) -> tuple[list[np.ndarray], list[list[dict]]]:
    scene = LineScene(LineConfig(seed=seed, n_frames=n, defect_rate=0.5, **SMALL))
    out = [scene.frame(i) for i in range(n)]
    return [f for f, _ in out], [lab for _, lab in out]


def test_same_seed_same_frames_and_labels() -> None:
    a_frames, a_labels = _frames(3)
    b_frames, b_labels = _frames(3)
    assert all(np.array_equal(a, b) for a, b in zip(a_frames, b_frames, strict=True))
    assert a_labels == b_labels
    c_frames, _ = _frames(4)
    assert not np.array_equal(a_frames[0], c_frames[0])


def test_frames_show_items_moving_left_to_right() -> None:
    scene = LineScene(LineConfig(seed=1, n_frames=10, **SMALL))
    _, first = scene.frame(0)
    _, later = scene.frame(5)
    x0 = {r["item"]: r["bbox"][0] for r in first if r["full"]}
    x1 = {r["item"]: r["bbox"][0] for r in later if r["full"]}
    common = set(x0) & set(x1)
    assert common, "some items should stay in view for 5 frames"
    assert all(x1[i] > x0[i] for i in common)
    assert 4 <= len(first) <= 14


def test_record_writes_a_readable_recording(tmp_path: Path) -> None:
    meta = record(tmp_path / "rec", seed=2, seconds=1.0, defect_rate=0.5, progress=False, **SMALL)
    rec = read_recording(tmp_path / "rec")
    assert rec.meta == meta
    frames = list(rec.frames())
    assert len(frames) == meta.n_frames == 30
    assert frames[0][1].shape == (360, 640, 3) and frames[0][1].dtype == np.uint8
    for row in rec.labels:
        x, y, w, h = row.bbox
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 640 and y + h <= 360
        assert row.label == "good" or row.label in DEFECTS
    spans = {it.item: (it.first_frame, it.last_frame) for it in rec.items}
    for row in rec.labels:
        assert spans[row.item][0] <= row.frame <= spans[row.item][1]
    assert sum(meta.label_counts.values()) == meta.n_items == len(rec.items)


def test_jpg_format_and_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    record(out, seed=1, seconds=0.2, fmt="jpg", progress=False, **SMALL)
    assert len(list((out / "frames").glob("*.jpg"))) == 6
    with pytest.raises(DataError, match="not empty"):
        record(out, seed=1, seconds=0.2, fmt="jpg", progress=False, **SMALL)
    record(out, seed=1, seconds=0.1, fmt="jpg", progress=False, overwrite=True, **SMALL)
    assert [i for i, _ in read_recording(out).frames()] == [0, 1, 2]


def test_committed_recording_has_every_defect(recording_dir: Path) -> None:
    rec = read_recording(recording_dir)
    assert (rec.meta.width, rec.meta.height, rec.meta.fps) == (1280, 720, 30.0)
    best = rec.best_views()
    labels = [row.label for row in best.values()]
    for defect in DEFECTS:
        assert labels.count(defect) >= 2, defect
    assert labels.count("good") >= 25
    assert any(not row.full for row in rec.labels), "some items touch the frame edge"
    seen = [i for i, frame in rec.frames(0, 3) if frame.shape == (720, 1280, 3)]
    assert seen == [0, 1, 2]


def test_read_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"recording\.json is missing"):
        read_recording(tmp_path)
    (tmp_path / "recording.json").write_text("{not json")
    with pytest.raises(DataError, match="not a valid recording"):
        read_recording(tmp_path)


def test_export_dataset_layout(recording_dir: Path, tmp_path: Path) -> None:
    counts = export_dataset(recording_dir, tmp_path / "ds", size=96)
    ds = read_dataset(tmp_path / "ds")
    assert ds.counts() == counts
    assert (ds.width, ds.height) == (96, 96)
    assert counts["train/good"] > counts.get("test/good", 0) > 0
    assert {k.split("/")[1] for k in counts if k.startswith("test/")} >= set(DEFECTS)
    imgs = ds.load(ds.select("train", "good")[:3])
    assert [im.shape for im in imgs] == [(96, 96, 3)] * 3
    assert [im.shape for im in ds.load(ds.select("train", "good")[:1], max_side=48)] == [
        (48, 48, 3)
    ]


def test_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="neither a recording"):
        read_dataset(tmp_path)
    good = tmp_path / "train" / "good"
    good.mkdir(parents=True)
    with pytest.raises(DataError, match="holds no images"):
        read_dataset(tmp_path)
    cv2.imwrite(str(good / "a.png"), np.zeros((32, 32, 3), np.uint8))
    cv2.imwrite(str(good / "b.png"), np.zeros((40, 32, 3), np.uint8))
    cv2.imwrite(str(good / "c.jpg"), np.zeros((30, 50), np.uint8))
    ds = read_dataset(tmp_path)  # different sizes and a grey image are fine
    assert ds.sizes == {(32, 32), (32, 40), (50, 30)}
    assert [im.shape for im in ds.load(ds.entries)] == [(32, 32, 3), (40, 32, 3), (30, 50, 3)]
    (good / "b.png").write_bytes(b"this is not a png")
    with pytest.raises(DataError, match=r"b\.png is not a readable image"):
        read_dataset(tmp_path)


def test_record_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    code = main(
        [
            "record",
            "--seed",
            "5",
            "--seconds",
            "0.5",
            "--width",
            "640",
            "--height",
            "360",
            "--defect-rate",
            "0.3",
            "--quiet",
            "--out",
            str(out),
            "--dataset",
            str(tmp_path / "ds"),
            "--crop-size",
            "64",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["frames"] == 15 and result["items"] > 0
    assert read_dataset(tmp_path / "ds").width == 64
    assert main(["record", "--seconds", "0.1", "--out", str(out), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err


def test_frames_from_a_start_index_are_exact(recording_dir: Path) -> None:
    rec = read_recording(recording_dir)
    from_start = dict(rec.frames(0, 8))
    (index, frame), *_ = list(rec.frames(6, 7))
    assert index == 6 and np.array_equal(frame, from_start[6])


def test_committed_labels_regenerate_from_the_seed(recording_dir: Path) -> None:
    rec = read_recording(recording_dir)
    m = rec.meta
    scene = LineScene(
        LineConfig(seed=m.seed, product=m.product, n_frames=m.n_frames, defect_rate=m.defect_rate)
    )
    for index in (0, m.n_frames // 2, m.n_frames - 1):
        _, rows = scene.frame(index)
        assert rows == [r.model_dump(mode="json") for r in rec.labels_at(index)]


def test_subtle_defects_keep_the_plan() -> None:
    cfg = {"seed": 2, "n_frames": 2, "defect_rate": 0.6, **SMALL}
    full = LineScene(LineConfig(**cfg))
    subtle = LineScene(LineConfig(severity_min=0.3, **cfg))
    assert [(s.item, s.label) for s in full.slots] == [(s.item, s.label) for s in subtle.slots]
    severities = [
        s.cakes[0].severity for s in subtle.slots if s.label not in ("good", "double", "empty_slot")
    ]
    assert severities and all(0.3 <= v <= 1.0 for v in severities) and min(severities) < 1.0
    # the same items in view (a milder deformation can change a bbox by a few pixels)
    assert [(r["item"], r["label"]) for r in full.frame(0)[1]] == [
        (r["item"], r["label"]) for r in subtle.frame(0)[1]
    ]
