"""Capture: frames into the ring, corrupt and wrong-size frames skipped, lost streams reopened."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from support.waiting import wait_until

from edge.capture import Capture, FrameRef, FrameRing
from edge.config_sections import FileSource, FolderSource, StreamSource
from edge.sources import make_source
from peakline.errors import SourceError
from peakline.procs import free_port


def _frame(i: int, w: int = 64, h: int = 48) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 1] = (i * 20) % 256
    return img


def _drain(cap: Capture, out: queue.Queue[FrameRef | None]) -> list[tuple[int, int]]:
    got: list[tuple[int, int]] = []
    while True:
        ref = out.get(timeout=10)
        if ref is None:
            return got
        assert cap.ring is not None
        got.append((ref.index, int(cap.ring.frames[ref.slot][0, 0, 1])))
        cap.ring.release(ref.slot)


def test_folder_with_corrupt_and_wrong_size_frames(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), _frame(i))
    data = (folder / "0002.jpg").read_bytes()
    (folder / "0002.jpg").write_bytes(data[: len(data) // 3])  # truncated JPEG
    cv2.imwrite(str(folder / "0004.jpg"), _frame(4, w=32))  # wrong size
    (folder / "0005.jpg").write_bytes(b"")  # empty file
    cfg = FolderSource(type="folder", path=folder, realtime=False, ring=3)
    out: queue.Queue[FrameRef | None] = queue.Queue()
    cap = Capture(make_source(cfg), cfg, out)
    cap.start()
    got = _drain(cap, out)
    assert [i for i, _ in got] == [0, 1, 3]
    assert [g for _, g in got] == [0, 20, 60]
    assert cap.stats.frames == 3 and cap.stats.wrong_shape == 1 and cap.stats.corrupt == 2


def test_video_file_is_replayed_at_its_frame_rate(tmp_path: Path) -> None:
    path = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 20.0, (64, 48))
    for i in range(10):
        writer.write(_frame(i))
    writer.release()
    cfg = FileSource(type="file", path=path, realtime=True, ring=4)
    out: queue.Queue[FrameRef | None] = queue.Queue()
    cap = Capture(make_source(cfg), cfg, out)
    assert cap.source.fps is None
    t = time.perf_counter()
    cap.start()
    got = _drain(cap, out)
    assert cap.source.fps == pytest.approx(20.0)
    assert [i for i, _ in got] == list(range(10))
    assert time.perf_counter() - t >= 9 / 20.0 * 0.9  # paced, not as fast as possible


def test_missing_file_fails_at_start(tmp_path: Path) -> None:
    cfg = FileSource(type="file", path=tmp_path / "none.mp4")
    cap = Capture(make_source(cfg), cfg, queue.Queue())
    with pytest.raises(SourceError, match="does not exist"):
        cap.start()


def test_lost_stream_is_reopened_with_backoff_and_stops_cleanly() -> None:
    cfg = StreamSource(type="rtsp", url=f"rtsp://127.0.0.1:{free_port()}/cam",
                       reopen_min_s=0.05, reopen_max_s=0.2)
    out: queue.Queue[FrameRef | None] = queue.Queue()
    cap = Capture(make_source(cfg), cfg, out)
    cap.start()  # a camera that is not there yet is not fatal
    wait_until("three reopen attempts", lambda: cap.stats.reopens >= 3, 20)
    cap.stop()
    assert out.get(timeout=10) is None


def test_ring_hands_out_slots_by_reference_count() -> None:
    ring = FrameRing(2, (4, 4, 3))
    a, b = ring.acquire(0), ring.acquire(0)
    assert {a, b} == {0, 1} and ring.acquire(0) is None
    assert a is not None
    ring.retain(a, 2)
    ring.release(a)
    ring.release(a)
    assert ring.acquire(0) is None
    ring.release(a)
    assert ring.acquire(0) == a
