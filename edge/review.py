"""Hard cases for review and retraining: rejected and uncertain items saved with metadata.

Each saved item is a JPEG crop plus a JSON file beside it (boot, seq, frame, bbox, score,
decision, defect, model), named ``<boot>-<seq>``; ``peakline model fit`` can be rerun on a
folder of them once a person has labelled them. The folder is bounded: beyond ``max_files``
items the oldest are removed. :func:`thumbnail_jpeg` makes the small JPEG the dashboard gets.
"""

from __future__ import annotations

import base64
import json
import logging
from collections import deque
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = ["ReviewStore", "crop", "thumbnail_jpeg"]

log = logging.getLogger(__name__)


def crop(frame: np.ndarray, box: tuple[int, int, int, int], pad: float = 0.15) -> np.ndarray:
    """A copy of ``box`` with a margin, clipped to the frame."""
    x, y, w, h = box
    m = int(max(w, h) * pad)
    fh, fw = frame.shape[:2]
    x0, y0 = max(x - m, 0), max(y - m, 0)
    x1, y1 = min(x + w + m, fw), min(y + h + m, fh)
    return frame[y0:y1, x0:x1].copy()


def thumbnail_jpeg(image: np.ndarray, max_side: int = 96, quality: int = 80) -> str:
    """Base64 JPEG of ``image`` scaled so its longest side is ``max_side``."""
    h, w = image.shape[:2]
    s = max_side / max(h, w, 1)
    if s < 1.0:
        image = cv2.resize(image, (max(int(w * s), 1), max(int(h * s), 1)),
                           interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return ""
    return base64.b64encode(buf.tobytes()).decode()


class ReviewStore:
    """A bounded folder of reject/uncertain crops with their metadata."""

    def __init__(self, folder: Path, max_files: int) -> None:
        self.folder = folder
        self.max_files = max_files
        folder.mkdir(parents=True, exist_ok=True)
        self._names: deque[Path] = deque(sorted(folder.glob("*.jpg")))
        self.saved = 0

    def save(self, image: np.ndarray, meta: dict[str, Any]) -> None:
        """Write ``<boot>-<seq>.jpg`` and ``.json``; remove the oldest beyond the bound."""
        stem = f"{meta['boot_id']}-{meta['seq']:09d}"
        path = self.folder / f"{stem}.jpg"
        try:
            cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
            path.with_suffix(".json").write_text(json.dumps(meta))
        except OSError as exc:
            log.warning("could not save review item %s: %s", stem, exc)
            return
        self.saved += 1
        self._names.append(path)
        while len(self._names) > self.max_files:
            old = self._names.popleft()
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
