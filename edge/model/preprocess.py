"""Crop + resize + colour + normalise for the model: ``edge.fastpath`` when it is built, else the
OpenCV reference below with the same contract.

Everything in the project that turns frames into model input (``model fit``/``eval`` and the
camera node) calls :func:`preprocess` from here or from ``edge.fastpath`` with the spec from the
model card, so an item gets the same tensor everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from edge.errors import PreprocessError

__all__ = ["HAVE_FASTPATH", "PreprocessSpec", "preprocess", "reference_preprocess"]


@dataclass(frozen=True)
class _ReferenceSpec:
    """Mirror of ``edge.fastpath.PreprocessSpec`` for when the extension is not built."""

    width: int
    height: int
    color: str = "rgb"
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    resize: str = "linear"
    fit: str = "stretch"
    fill: int = 114
    output: str = "float32"


def _as_frames(frames: np.ndarray) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.dtype != np.uint8:
        raise PreprocessError(f"frames must be uint8, got {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[3] != 3:
        raise PreprocessError(f"frames must be (H, W, 3) or (F, H, W, 3), got {arr.shape}")
    return arr


def reference_preprocess(
    frames: np.ndarray,
    rois: np.ndarray,
    spec: Any,
    frame_index: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """OpenCV/NumPy implementation of the preprocessing contract; returns (N, C, H, W)."""
    stack = _as_frames(frames)
    boxes = np.asarray(rois, dtype=np.int64).reshape(-1, 4)
    n = len(boxes)
    idx = np.zeros(n, np.int64) if frame_index is None else np.asarray(frame_index, np.int64)
    if idx.shape != (n,) or (n and (idx.min() < 0 or idx.max() >= len(stack))):
        raise PreprocessError("frame_index must give a valid frame for every roi")
    c = 1 if spec.color == "gray" else 3
    dtype = np.uint8 if spec.output == "uint8" else np.float32
    shape = (n, c, spec.height, spec.width)
    if out is None:
        out = np.empty(shape, dtype)
    elif out.shape[1:] != shape[1:] or out.shape[0] < n or out.dtype != dtype:
        raise PreprocessError(f"out must be {shape} {np.dtype(dtype)}, got {out.shape} {out.dtype}")
    interp = cv2.INTER_AREA if spec.resize == "area" else cv2.INTER_LINEAR
    fh, fw = stack.shape[1:3]
    mean = np.asarray(spec.mean, np.float32).reshape(-1, 1, 1)[:c]
    std = np.asarray(spec.std, np.float32).reshape(-1, 1, 1)[:c]
    for k, (x, y, w, h) in enumerate(boxes):
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > fw or y + h > fh:
            raise PreprocessError(f"roi {k} ({x}, {y}, {w}, {h}) is not inside the {fw}x{fh} frame")
        crop = stack[idx[k], y : y + h, x : x + w]
        if spec.color == "rgb":
            crop = crop[..., ::-1]
        elif spec.color == "gray":
            crop = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_BGR2GRAY)[..., None]
        crop = np.ascontiguousarray(crop)
        if spec.fit == "stretch":
            img = cv2.resize(crop, (spec.width, spec.height), interpolation=interp)
        else:
            s = min(spec.width / w, spec.height / h)
            rw, rh = max(1, round(w * s)), max(1, round(h * s))
            small = cv2.resize(crop, (rw, rh), interpolation=interp)
            img = np.full((spec.height, spec.width, c), spec.fill, np.uint8)
            ox, oy = (spec.width - rw) // 2, (spec.height - rh) // 2
            img[oy : oy + rh, ox : ox + rw] = small.reshape(rh, rw, c)
        chw = img.reshape(spec.height, spec.width, c).transpose(2, 0, 1)
        if dtype == np.uint8:
            out[k] = chw
        else:
            out[k] = (chw.astype(np.float32) * np.float32(spec.scale) - mean) / std
    return out[:n]


_fast_preprocess: Any
PreprocessSpec: Any
try:  # the C++ path, when the extension is built
    from edge.fastpath import PreprocessSpec as _FastSpec  # type: ignore[import-not-found,unused-ignore]
    from edge.fastpath import preprocess as _fast_preprocess  # type: ignore[import-not-found,unused-ignore]

    HAVE_FASTPATH = True
    PreprocessSpec = _FastSpec
except ImportError:  # pragma: no cover - depends on the build
    HAVE_FASTPATH = False
    PreprocessSpec = _ReferenceSpec
    _fast_preprocess = None


def preprocess(
    frames: np.ndarray,
    rois: np.ndarray,
    spec: Any,
    frame_index: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Crop ``rois`` (N, 4: x, y, w, h) from ``frames`` into an (N, C, H, W) model batch."""
    if _fast_preprocess is not None:
        kwargs: dict[str, Any] = {}
        if frame_index is not None:
            kwargs["frame_index"] = np.asarray(frame_index, dtype=np.int64)
        if out is not None:
            kwargs["out"] = out
        rois_arr = np.ascontiguousarray(np.asarray(rois).reshape(-1, 4), dtype=np.int32)
        return np.asarray(_fast_preprocess(frames, rois_arr, spec, **kwargs))
    return reference_preprocess(frames, rois, spec, frame_index=frame_index, out=out)
