"""Image-dataset folders in the common (MVTec AD) layout, and export of a recording into one.

Layout::

    DIR/train/good/*.png            good items to fit on
    DIR/test/good/*.png             good items to evaluate on
    DIR/test/<defect>/*.png         defective items, one folder per defect type
    DIR/ground_truth/<defect>/*_mask.png   optional defect masks (not needed to fit or evaluate)

Every image is one item, already cropped. Images may differ in size, shape and format (png, jpg,
bmp, tiff, webp; grey or colour): each is brought to the model input by the model card's crop
policy, and a large photo is shrunk as it is read so that a set of 10-megapixel images does not
fill the memory. A factory can fit a model on its own photos this way; ``peakline record
--dataset`` writes a recording in this layout (crops cut with the model card's crop policy, so a
model fitted on them sees what the edge sees).
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
    """One image of a dataset folder, with its size in pixels."""

    path: Path
    split: str  # "train" or "test"
    label: str  # "good" or the defect folder name
    width: int = 0
    height: int = 0


@dataclass
class DatasetFolder:
    """A dataset folder: its entries (in a stable order) and the size of its largest image."""

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

    @property
    def sizes(self) -> set[tuple[int, int]]:
        """The distinct image sizes (width, height)."""
        return {(e.width, e.height) for e in self.entries}

    def load(self, entries: list[DatasetEntry], max_side: int | None = None) -> list[np.ndarray]:
        """The images of ``entries`` as BGR uint8 arrays, each shrunk (area, aspect kept) so that
        its longer side is at most ``max_side`` when given."""
        return [_shrink(_imread(e.path), max_side) for e in entries]

    def counts(self) -> dict[str, int]:
        """Images per ``split/label``."""
        return dict(sorted(Counter(f"{e.split}/{e.label}" for e in self.entries).items()))


def _shrink(img: np.ndarray, max_side: int | None) -> np.ndarray:
    h, w = img.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return img
    f = max_side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _imread(path: Path) -> np.ndarray:
    """A BGR uint8 image (grey and 16-bit images converted); DataError names a bad file."""
    try:
        data = np.fromfile(str(path), np.uint8) if path.is_file() else np.empty(0, np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    except (cv2.error, OSError, MemoryError) as exc:
        raise DataError(f"{path} is not a readable image ({exc})") from exc
    if img is None or img.size == 0:
        raise DataError(f"{path} is not a readable image")
    return img


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image, decoding it once to prove that it is readable; JPEG files
    are decoded at an eighth of their size, which checks them as well and is much faster."""
    if path.suffix.lower() in {".jpg", ".jpeg"}:
        data = np.fromfile(str(path), np.uint8) if path.is_file() else np.empty(0, np.uint8)
        small = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_8) if data.size else None
        if small is None:
            raise DataError(f"{path} is not a readable image")
        return _jpeg_size(data) or (small.shape[1] * 8, small.shape[0] * 8)
    img = _imread(path)
    return img.shape[1], img.shape[0]


def _jpeg_size(data: np.ndarray) -> tuple[int, int] | None:
    """Width and height from a JPEG's start-of-frame marker, or None if it has none."""
    buf = data.tobytes()
    i = 2
    while i + 9 < len(buf):
        if buf[i] != 0xFF:
            return None
        marker = buf[i + 1]
        length = int.from_bytes(buf[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h = int.from_bytes(buf[i + 5 : i + 7], "big")
            w = int.from_bytes(buf[i + 7 : i + 9], "big")
            return (w, h) if w and h else None
        i += 2 + length
    return None


def is_dataset(path: str | Path) -> bool:
    """Whether ``path`` has a ``train/`` or ``test/`` folder."""
    p = Path(path)
    return (p / "train").is_dir() or (p / "test").is_dir()


def read_dataset(path: str | Path) -> DatasetFolder:
    """Scan a dataset folder and check that every image can be read; :class:`DataError` names
    the first file that cannot."""
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
                    w, h = _image_size(f)
                    entries.append(DatasetEntry(f, split, label_dir.name, w, h))
    if not entries:
        raise DataError(f"{root} holds no images (looked in train/*/ and test/*/)")
    width = max(e.width for e in entries)
    height = max(e.height for e in entries)
    return DatasetFolder(root=root, entries=entries, width=width, height=height)


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
