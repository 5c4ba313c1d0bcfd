"""Write a synthetic line recording to a directory (``peakline record``).

Frames come from :class:`edge.recording.scene.LineScene`; they are stored as an MPEG-4 video
(OpenCV's FFmpeg writer) or as JPEG files, with the labels beside them (see
``edge.recording.format``). The same seed and options give the same frames and labels.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Literal

import cv2
from tqdm import tqdm

from edge.recording.format import RecordingMeta
from edge.recording.scene import LineConfig, LineScene
from peakline.errors import DataError

__all__ = ["record"]


def record(
    out: str | Path,
    *,
    seed: int = 0,
    product: int = 0,
    seconds: float = 60.0,
    fps: float = 30.0,
    width: int = 1280,
    height: int = 720,
    defect_rate: float = 0.1,
    severity_min: float = 1.0,
    belt_speed: float = 540.0,
    lanes: int = 2,
    fmt: Literal["mp4", "jpg"] = "mp4",
    jpeg_quality: int = 90,
    progress: bool = True,
    overwrite: bool = False,
) -> RecordingMeta:
    """Render ``seconds`` of line to ``out`` and return its metadata.

    ``belt_speed`` is in pixels per second at 720p and scales with ``height``, like the cakes.
    """
    if seconds <= 0 or fps <= 0:
        raise DataError("a recording needs a positive duration and frame rate")
    if width < 320 or height < 240:
        raise DataError(f"frame size {width}x{height} is too small (at least 320x240)")
    if not 0.0 <= defect_rate <= 1.0:
        raise DataError(f"defect rate must be within 0..1, got {defect_rate}")
    if not 0.0 <= severity_min <= 1.0:
        raise DataError(f"severity must be within 0..1, got {severity_min}")
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        if not overwrite:
            raise DataError(f"{root} exists and is not empty (use --overwrite to replace it)")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    n_frames = math.ceil(seconds * fps)
    config = LineConfig(
        seed=seed,
        product=product,
        width=width,
        height=height,
        fps=fps,
        n_frames=n_frames,
        belt_speed=belt_speed,
        lanes=lanes,
        defect_rate=defect_rate,
        severity_min=severity_min,
    )
    scene = LineScene(config)

    writer = None
    if fmt == "mp4":
        writer = cv2.VideoWriter(
            str(root / "video.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height)
        )
        if not writer.isOpened():
            raise DataError("OpenCV cannot write MPEG-4 video here; use --format jpg")
    else:
        (root / "frames").mkdir()
    spans: dict[int, list[int]] = {}
    labels_of: dict[int, str] = {}
    try:
        with (root / "labels.jsonl").open("w") as labels_fh:
            for i in tqdm(range(n_frames), desc="recording", unit="frame", disable=not progress):
                frame, rows = scene.frame(i)
                if writer is not None:
                    writer.write(frame)
                else:
                    cv2.imwrite(
                        str(root / "frames" / f"{i:06d}.jpg"),
                        frame,
                        [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality],
                    )
                for row in rows:
                    labels_fh.write(json.dumps(row, separators=(",", ":")) + "\n")
                    span = spans.setdefault(row["item"], [i, i])
                    span[1] = i
                    labels_of[row["item"]] = row["label"]
                if i % 30 == 0:
                    scene.release_before(i)
    finally:
        if writer is not None:
            writer.release()
    with (root / "items.jsonl").open("w") as items_fh:
        for item in sorted(spans):
            first, last = spans[item]
            items_fh.write(
                json.dumps(
                    {
                        "item": item,
                        "label": labels_of[item],
                        "first_frame": first,
                        "last_frame": last,
                    }
                )
                + "\n"
            )
    y0, y1 = config.belt_rows
    dmin, dmax = config.diameter_range
    meta = RecordingMeta(
        seed=seed,
        product=product,
        fps=fps,
        width=width,
        height=height,
        n_frames=n_frames,
        belt_speed_px_s=config.speed,
        belt_y0=y0,
        belt_y1=y1,
        lanes=lanes,
        pitch_px=config.pitch,
        diameter_min=dmin,
        diameter_max=dmax,
        defect_rate=defect_rate,
        severity_min=severity_min,
        format=fmt,
        n_items=len(spans),
        label_counts=dict(sorted(Counter(labels_of.values()).items())),
    )
    (root / "recording.json").write_text(meta.model_dump_json(by_alias=True, indent=2) + "\n")
    return meta
