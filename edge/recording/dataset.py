"""Image-dataset folders in the common (MVTec AD) layout, and export of a recording into one.

Layout::

    DIR/train/good/*.png            good items to fit on
    DIR/test/good/*.png             good items to evaluate on
    DIR/test/<defect>/*.png         defective items, one folder per defect type
    DIR/ground_truth/<defect>/*_mask.png   optional defect masks (not needed to fit or evaluate)

Every image is one item, already cropped; all images must have the same size. A factory can fit a
model on its own photos this way; ``peakline record --dataset`` writes a recording in this layout
(crops cut with the model card's crop policy, so a model fitted on them sees what the edge sees).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.model.card import square_roi
from edge.recording.format import read_recording
from peakline.errors import DataError

__all__ = [
    "IMAGE_SUFFIXES",
    "DatasetEntry",
    "DatasetFolder",
    "export_dataset",
    "is_dataset",
    "read_dataset",
]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


@dataclass(frozen=True)
class DatasetEntry:
    """One image of a dataset folder."""

    path: Path
    split: str  # "train" or "test"
    label: str  # "good" or the defect folder name


@dataclass
class DatasetFolder:
    """A dataset folder: its entries (in a stable order) and the common image size."""

    root: Path
    entries: list[DatasetEntry]
    width: int
    height: int

    def select(self, split: str | None = None, label: str | None = None) -> list[DatasetEntry]:
        """Entries of one split and/or label."""
        return [
            e
            for e in self.entries
            if (split is None or e.split == split) and (label is None or e.label == label)
        ]

    def load(self, entries: list[DatasetEntry]) -> np.ndarray:
        """The images of ``entries`` as one (N, H, W, 3) BGR uint8 array."""
        out = np.empty((len(entries), self.height, self.width, 3), np.uint8)
        for k, e in enumerate(entries):
            out[k] = _imread(e.path, (self.width, self.height))
        return out

    def counts(self) -> dict[str, int]:
        """Images per ``split/label``."""
        return dict(sorted(Counter(f"{e.split}/{e.label}" for e in self.entries).items()))


def _imread(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    data = np.fromfile(str(path), np.uint8) if path.is_file() else np.empty(0, np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise DataError(f"{path} is not a readable image")
    if size is not None and (img.shape[1], img.shape[0]) != size:
        raise DataError(
            f"images have different sizes: {path} is {img.shape[1]}x{img.shape[0]}, "
            f"the others are {size[0]}x{size[1]}; crop or resize them to one size"
        )
    return img


def is_dataset(path: str | Path) -> bool:
    """Whether ``path`` has a ``train/`` or ``test/`` folder."""
    p = Path(path)
    return (p / "train").is_dir() or (p / "test").is_dir()


def read_dataset(path: str | Path) -> DatasetFolder:
    """Scan a dataset folder and check every image; :class:`DataError` says what is wrong."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    if not is_dataset(root):
        raise DataError(
            f"{root} is neither a recording (recording.json) nor a dataset folder "
            "(train/good/, test/good/, test/<defect>/)"
        )
    entries: list[DatasetEntry] = []
    for split in ("train", "test"):
        base = root / split
        if not base.is_dir():
            continue
        for label_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for f in sorted(label_dir.iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    entries.append(DatasetEntry(f, split, label_dir.name))
    if not entries:
        raise DataError(f"{root} holds no images (looked in train/*/ and test/*/)")
    first = _imread(entries[0].path)
    size = (first.shape[1], first.shape[0])
    for e in entries[1:]:
        _imread(e.path, size)
    return DatasetFolder(root=root, entries=entries, width=size[0], height=size[1])


def _is_test(item: int, fraction: float) -> bool:
    h = hashlib.sha256(str(item).encode()).digest()
    return int.from_bytes(h[:4], "big") / 2**32 < fraction


def export_dataset(
    recording: str | Path,
    out: str | Path,
    *,
    size: int = 160,
    margin: float = 0.15,
    test_fraction: float = 0.3,
    include_empty: bool = True,
    prefix: str = "item",
    exist_ok: bool = False,
) -> dict[str, int]:
    """Write every item seen whole in ``recording`` as a ``size`` x ``size`` PNG crop.

    Good items go to ``train/good`` or (a ``test_fraction`` of them, chosen by item id)
    ``test/good``; defects to ``test/<defect>``. Files are ``<prefix>_<item>.png``; with
    ``exist_ok`` a second recording can be added to the same folder under another prefix.
    Returns the image count per folder.
    """
    rec = read_recording(recording)
    root = Path(out)
    if root.exists() and any(root.iterdir()) and not exist_ok:
        raise DataError(f"{root} exists and is not empty")
    best = rec.best_views()
    by_frame: dict[int, list] = {}
    for row in best.values():
        if row.label == "empty_slot" and not include_empty:
            continue
        by_frame.setdefault(row.frame, []).append(row)
    counts: Counter[str] = Counter()
    if not by_frame:
        raise DataError(f"{recording} has no item seen entirely inside a frame")
    for index, frame in rec.frames(0, max(by_frame) + 1):
        for row in by_frame.get(index, []):
            x, y, w, h = square_roi(row.bbox, margin, rec.meta.width, rec.meta.height)
            crop = cv2.resize(
                frame[y : y + h, x : x + w], (size, size), interpolation=cv2.INTER_AREA
            )
            split = "test" if row.label != "good" or _is_test(row.item, test_fraction) else "train"
            folder = root / split / row.label
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{prefix}_{row.item:06d}.png"), crop)
            counts[f"{split}/{row.label}"] += 1
    return dict(sorted(counts.items()))
