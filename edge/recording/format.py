"""The recording directory format and its reader.

A recording ``DIR/`` holds:

- ``recording.json``: :class:`RecordingMeta` (seed, frame size, fps, belt speed and region, item
  sizes, defect rate, how the frames are stored);
- the frames: ``video.mp4`` (``format = "mp4"``) or ``frames/000000.jpg`` ... (``format = "jpg"``);
- ``labels.jsonl``: one :class:`LabelRow` per item per frame the item is visible in;
- ``items.jsonl``: one :class:`ItemRow` per item.

An ``empty_slot`` is a slot on the belt with no cake in it: it is listed like an item whose bbox is
where the cake should have been, so a counter can see the gap; there is nothing to score there.
A ``double`` is one row whose bbox covers both cakes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from peakline.errors import DataError

__all__ = [
    "FORMAT_ID",
    "ItemRow",
    "LabelRow",
    "Recording",
    "RecordingMeta",
    "is_recording",
    "read_recording",
]

FORMAT_ID = "peakline.recording/1"


class RecordingMeta(BaseModel):
    """``recording.json``: how a recording was made and how its frames are stored."""

    schema_id: str = Field(default=FORMAT_ID, alias="schema", description="format name and version")
    seed: int = Field(description="random seed; the same seed gives the same recording")
    product: int = Field(
        default=0, description="product (mould design) number; same product, same cakes"
    )
    fps: float = Field(gt=0, description="frames per second")
    width: int = Field(gt=0, description="frame width in pixels")
    height: int = Field(gt=0, description="frame height in pixels")
    n_frames: int = Field(ge=0, description="number of frames")
    belt_speed_px_s: float = Field(description="belt speed in pixels per second")
    direction: Literal["left_to_right"] = Field(
        default="left_to_right", description="direction items travel in the image"
    )
    belt_y0: int = Field(description="top row of the belt region")
    belt_y1: int = Field(description="bottom row (exclusive) of the belt region")
    lanes: int = Field(default=1, ge=1, description="rows of items across the belt")
    pitch_px: float = Field(gt=0, description="distance between slots along the belt, pixels")
    diameter_min: float = Field(gt=0, description="smallest good cake diameter, pixels")
    diameter_max: float = Field(gt=0, description="largest good cake diameter, pixels")
    defect_rate: float = Field(ge=0, le=1, description="fraction of slots with a defect")
    severity_min: float = Field(
        default=1.0, ge=0, le=1, description="defects drawn at a severity in [severity_min, 1]"
    )
    format: Literal["mp4", "jpg"] = Field(description="how the frames are stored")
    n_items: int = Field(default=0, ge=0, description="items (slots) that appear in the recording")
    label_counts: dict[str, int] = Field(default_factory=dict, description="items per label")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LabelRow(BaseModel):
    """One item in one frame (a line of ``labels.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    frame: int = Field(ge=0, description="frame index")
    item: int = Field(ge=0, description="item id, stable across frames")
    bbox: tuple[int, int, int, int] = Field(description="x, y, w, h, clipped to the frame")
    label: str = Field(description="'good' or the defect name")
    full: bool = Field(description="the item lies entirely inside the frame")


class ItemRow(BaseModel):
    """One item (a line of ``items.jsonl``)."""

    model_config = ConfigDict(extra="forbid")

    item: int = Field(ge=0, description="item id")
    label: str = Field(description="'good' or the defect name")
    first_frame: int = Field(ge=0, description="first frame the item is visible in")
    last_frame: int = Field(ge=0, description="last frame the item is visible in")


def _read_jsonl(path: Path, model: type[BaseModel]) -> list:
    if not path.is_file():
        raise DataError(f"{path} is missing")
    rows = []
    with path.open() as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(model.model_validate_json(line))
            except ValidationError as exc:
                raise DataError(f"{path}:{n}: not a valid {model.__name__}: {exc}") from exc
    return rows


@dataclass
class Recording:
    """A recording on disk: its metadata, its labels, and its frames on demand."""

    path: Path
    meta: RecordingMeta
    labels: list[LabelRow]
    items: list[ItemRow]
    _by_frame: dict[int, list[LabelRow]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        by_frame: dict[int, list[LabelRow]] = defaultdict(list)
        for row in self.labels:
            by_frame[row.frame].append(row)
        self._by_frame = dict(by_frame)

    def labels_at(self, frame: int) -> list[LabelRow]:
        """The items visible in ``frame``."""
        return self._by_frame.get(frame, [])

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_index, frame)`` with frames as BGR uint8 ``(height, width, 3)``."""
        stop = self.meta.n_frames if stop is None else min(stop, self.meta.n_frames)
        if self.meta.format == "jpg":
            for i in range(start, stop):
                p = self.path / "frames" / f"{i:06d}.jpg"
                img = cv2.imread(str(p), cv2.IMREAD_COLOR)
                if img is None:
                    raise DataError(f"{p} is missing or not a readable image")
                yield i, img
            return
        video = self.path / "video.mp4"
        cap = cv2.VideoCapture(str(video))
        if not cap.isOpened():
            raise DataError(f"{video} cannot be opened as a video")
        try:
            for i in range(start):  # decode up to start: exact, unlike seeking in MPEG-4
                if not cap.grab():
                    raise DataError(f"{video} ends at frame {i}, before frame {start}")
            for i in range(start, stop):
                ok, img = cap.read()
                if not ok:
                    raise DataError(f"{video} ends at frame {i}, recording.json says {stop}")
                yield i, img
        finally:
            cap.release()

    def best_views(self) -> dict[int, LabelRow]:
        """For every item seen entirely in a frame: the row where it is most centred in x."""
        best: dict[int, LabelRow] = {}
        cx = self.meta.width / 2.0
        for row in self.labels:
            if not row.full:
                continue
            prev = best.get(row.item)
            off = abs(row.bbox[0] + row.bbox[2] / 2.0 - cx)
            if prev is None or off < abs(prev.bbox[0] + prev.bbox[2] / 2.0 - cx):
                best[row.item] = row
        return best


def is_recording(path: Path) -> bool:
    """Whether ``path`` looks like a recording directory (has ``recording.json``)."""
    return (Path(path) / "recording.json").is_file()


def read_meta(path: str | Path) -> tuple[RecordingMeta, Path]:
    """A recording's description and where its frames are (``video.mp4`` or ``frames/``);
    raises :class:`DataError` naming what is wrong."""
    root = Path(path)
    meta_path = root / "recording.json"
    if not meta_path.is_file():
        raise DataError(f"{root} is not a recording: recording.json is missing")
    try:
        meta = RecordingMeta.model_validate(json.loads(meta_path.read_text()))
    except (ValueError, ValidationError) as exc:
        raise DataError(f"{meta_path} is not a valid recording description: {exc}") from exc
    frames_at = root / ("video.mp4" if meta.format == "mp4" else "frames")
    if not frames_at.exists():
        raise DataError(f"{root}: {frames_at.name} is missing")
    return meta, frames_at


def read_recording(path: str | Path) -> Recording:
    """Open a recording directory; raises :class:`DataError` naming what is wrong."""
    root = Path(path)
    meta, _ = read_meta(root)
    labels = _read_jsonl(root / "labels.jsonl", LabelRow)
    items = _read_jsonl(root / "items.jsonl", ItemRow)
    return Recording(path=root, meta=meta, labels=labels, items=items)
