"""Items to fit or evaluate a model on, from a recording or a dataset folder, as model input.

From a recording, every item seen entirely inside a frame is taken once, from the frame where it
is most centred, cropped with the card's crop policy (:func:`edge.model.card.square_roi`) straight
from that frame through :func:`edge.fastpath.preprocess` — the same path the camera node
takes. From a dataset folder each image is one item and the whole image is the crop.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.fastpath import preprocess
from edge.model.card import square_roi
from edge.recording.dataset import is_dataset, read_dataset
from edge.recording.format import is_recording, read_recording
from peakline.errors import DataError

__all__ = ["ItemSet", "data_digest", "load_items"]


@dataclass
class ItemSet:
    """Model inputs with their labels: ``x`` (N, C, H, W), one label and split per item."""

    x: np.ndarray
    labels: list[str]
    splits: list[str]  # "train" | "test" for dataset folders, "all" for recordings
    names: list[str]
    source: str
    kind: str  # "recording" | "dataset"
    digest: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def subset(self, mask: np.ndarray) -> ItemSet:
        """The items where ``mask`` is true."""
        idx = np.flatnonzero(mask)
        return ItemSet(
            self.x[idx],
            [self.labels[i] for i in idx],
            [self.splits[i] for i in idx],
            [self.names[i] for i in idx],
            self.source,
            self.kind,
            self.digest,
        )

    @property
    def is_good(self) -> np.ndarray:
        return np.array([lab == "good" for lab in self.labels], bool)


def _digest_files(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def data_digest(path: str | Path) -> str:
    """sha256 over the files of a recording or the images of a dataset folder."""
    root = Path(path)
    if is_recording(root):
        files = [root / "recording.json", root / "labels.jsonl", root / "items.jsonl"]
        files += sorted(root.glob("video.mp4")) + sorted((root / "frames").glob("*.jpg"))
    else:
        files = [e.path for e in read_dataset(root).entries]
    return _digest_files([f for f in files if f.is_file()], root)


def _from_recording(root: Path, spec: Any, margin: float, include_empty: bool) -> ItemSet:
    rec = read_recording(root)
    best = rec.best_views()
    by_frame: dict[int, list] = {}
    for row in sorted(best.values(), key=lambda r: r.item):
        if row.label == "empty_slot" and not include_empty:
            continue
        by_frame.setdefault(row.frame, []).append(row)
    if not by_frame:
        raise DataError(f"{root}: no item is seen entirely inside a frame")
    chunks: list[np.ndarray] = []
    labels: list[str] = []
    names: list[str] = []
    for index, frame in rec.frames(min(by_frame), max(by_frame) + 1):
        rows = by_frame.get(index)
        if not rows:
            continue
        rois = np.array(
            [square_roi(r.bbox, margin, rec.meta.width, rec.meta.height) for r in rows], np.int32
        )
        chunks.append(preprocess(frame, rois, spec).copy())
        labels += [r.label for r in rows]
        names += [f"item {r.item} (frame {r.frame})" for r in rows]
    x = np.concatenate(chunks)
    return ItemSet(x, labels, ["all"] * len(labels), names, str(root), "recording")


#: images are shrunk as they are read to at most this many times the model input's side, so a
#: folder of 10-megapixel photos costs a few megabytes per image, not a gigabyte per batch
SHRINK_FACTOR = 2
_CHUNK = 64


def _from_dataset(root: Path, spec: Any, split: str | None) -> ItemSet:
    ds = read_dataset(root)
    entries = ds.select(split=split)
    if not entries:
        raise DataError(f"{root} holds no images in {split}/")
    max_side = SHRINK_FACTOR * max(spec.width, spec.height)
    xs = []
    for start in range(0, len(entries), _CHUNK):
        imgs = ds.load(entries[start : start + _CHUNK], max_side=max_side)
        rois = np.array([[0, 0, im.shape[1], im.shape[0]] for im in imgs], np.int32)
        xs.append(preprocess(imgs, rois, spec, frame_index=np.arange(len(imgs))).copy())
    items = ItemSet(
        np.concatenate(xs),
        [e.label for e in entries],
        [e.split for e in entries],
        [str(e.path.relative_to(root)) for e in entries],
        str(root),
        "dataset",
    )
    items.extra["sizes"] = sorted({(e.width, e.height) for e in entries})
    items.extra["files"] = [e.path for e in ds.entries]
    return items


def load_items(
    path: str | Path,
    spec: Any,
    *,
    margin: float = 0.15,
    split: str | None = None,
    include_empty: bool = True,
    with_digest: bool = True,
) -> ItemSet:
    """Load a recording or dataset folder as model inputs (``split`` filters a dataset folder)."""
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root} does not exist")
    if is_recording(root):
        items = _from_recording(root, spec, margin, include_empty)
    elif root.is_dir() and is_dataset(root):
        items = _from_dataset(root, spec, split)
    elif root.is_dir() and not any(root.iterdir()):
        raise DataError(f"{root} is empty: expected a recording or a dataset folder")
    else:
        read_dataset(root)  # raises the explanation
        raise DataError(f"{root} cannot be read")  # pragma: no cover
    if with_digest:
        files = items.extra.get("files")
        items.digest = _digest_files(files, root) if files else data_digest(root)
    return items
