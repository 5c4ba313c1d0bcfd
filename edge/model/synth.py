"""Synthetic defects drawn onto good model inputs, to choose fit options without real defects.

Fitting only ever sees good items; to choose between feature options (illumination flattening,
grid) it scores held-out good items and the same items with one of these simple defects drawn in
(dark spot, thin dark line, coloured fleck, smeared patch, bitten edge), and keeps the option that
separates them best. None of this enters the model itself.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["KINDS", "corrupt"]

KINDS = ("spot", "line", "fleck", "smear", "bite")


def _disc(s: int, cx: float, cy: float, r: float, soft: float = 1.0) -> np.ndarray:
    ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
    d = np.hypot(xs - cx, ys - cy)
    return np.clip((r - d) / soft + 0.5, 0.0, 1.0)


def _one(img: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``img`` (H, W, C) float32 in model units -> a copy with one defect."""
    s = img.shape[0]
    out = img.copy()
    lo, hi = float(img.min()), float(img.max())
    cx, cy = rng.uniform(0.3, 0.7, 2) * s
    if kind == "spot":
        m = _disc(s, cx, cy, s * rng.uniform(0.04, 0.08), soft=s * 0.02)[..., None]
        out = out * (1 - m) + (lo + 0.15 * (hi - lo)) * m
    elif kind == "line":
        mask = np.zeros((s, s), np.float32)
        ang = rng.uniform(0, 2 * math.pi)
        length = s * rng.uniform(0.2, 0.35)
        p0 = (int(cx), int(cy))
        p1 = (int(cx + math.cos(ang) * length), int(cy + math.sin(ang) * length))
        cv2.line(mask, p0, p1, 1.0, 1, cv2.LINE_AA)
        out = out * (1 - mask[..., None]) + lo * mask[..., None]
    elif kind == "fleck":
        m = _disc(s, cx, cy, s * rng.uniform(0.02, 0.04))[..., None]
        color = np.asarray(rng.uniform(lo, hi, img.shape[2]), np.float32)
        color[rng.integers(0, img.shape[2])] = hi
        out = out * (1 - m) + color * m
    elif kind == "smear":
        m = _disc(s, cx, cy, s * rng.uniform(0.12, 0.2), soft=s * 0.03)[..., None]
        k = max(3, int(s * 0.12)) | 1
        blurred = cv2.blur(img, (k, 1)).reshape(img.shape)
        out = out * (1 - m) + blurred * m
    else:  # bite: an edge region replaced by the crop's corner (belt) colour
        ang = rng.uniform(0, 2 * math.pi)
        r0 = s * 0.42
        m = _disc(
            s, s / 2 + math.cos(ang) * r0, s / 2 + math.sin(ang) * r0, s * rng.uniform(0.07, 0.12)
        )[..., None]
        belt = img[:3, :3].reshape(-1, img.shape[2]).mean(axis=0)
        out = out * (1 - m) + belt * m
    return out.astype(np.float32)


def corrupt(x: np.ndarray, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """One synthetic defect per item of ``x`` (N, C, H, W), kinds in turn; returns (x', kinds)."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(x)
    kinds = []
    for i in range(len(x)):
        kind = KINDS[i % len(KINDS)]
        hwc = np.ascontiguousarray(x[i].transpose(1, 2, 0))
        out[i] = _one(hwc, kind, rng).reshape(hwc.shape).transpose(2, 0, 1)
        kinds.append(kind)
    return out, kinds
