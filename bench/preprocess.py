"""Benchmark of the fused preprocessing against OpenCV's own and a plain cv2 + NumPy loop.

Same inputs for all three: ``edge.fastpath.preprocess``; ``cv2.dnn.blobFromImages`` (or
``blobFromImagesWithParams`` in letterbox mode) followed by the std division; and a loop of
cv2.resize + NumPy arithmetic. Cases: 8 crops of 400x400 from 1920x1080 frames to 224x224,
and 8 full 1920x1080 frames letterboxed to 640x640, each with 1 and 2 threads (cv2 gets the
same thread count). Prints a table, then one JSON line. ``bandwidth_fraction`` is (source
bytes read: the ROI rows the taps touch + output bytes written) / time over this machine's
measured copy bandwidth (also read + written per second, see bench/common.py)::

    python bench/preprocess.py [--repeat 30] [--cold] [--kernel auto|avx2|baseline]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import CacheEvictor, copy_bandwidth, emit_json, print_table, time_interleaved

from edge import _fastpath
from edge.fastpath import PreprocessSpec, preprocess

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@dataclass
class Case:
    """One benchmark case: frames, ROIs (x, y, w, h) with their frame, and the spec."""

    name: str
    frames: list[np.ndarray]
    rois: np.ndarray
    index: np.ndarray
    spec: PreprocessSpec

    def crops(self) -> list[np.ndarray]:
        return [self.frames[i][y : y + h, x : x + w] for (x, y, w, h), i in
                zip(self.rois, self.index, strict=True)]

    def bytes_moved(self) -> int:
        """Source rows the bilinear taps touch (whole ROI width) + the output written."""
        read = 0
        for _, _, w, h in self.rois:
            if self.spec.fit == "stretch":
                ih = self.spec.height
            else:
                ih = round(h * min(self.spec.width / w, self.spec.height / h))
            top = np.floor((np.arange(ih) + 0.5) * (h / ih) - 0.5).clip(0, h - 1).astype(int)
            rows = np.unique(np.concatenate([top, (top + 1).clip(0, h - 1)]))
            read += len(rows) * int(w) * 3
        written = len(self.rois) * self.spec.channels * self.spec.width * self.spec.height * 4
        return read + written


def make_cases() -> list[Case]:
    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 256, (1080, 1920, 3), np.uint8), (0, 0), 1.5)
              for _ in range(8)]
    xs = rng.integers(0, 1920 - 400, 8)
    ys = rng.integers(0, 1080 - 400, 8)
    crop_rois = np.stack([xs, ys, np.full(8, 400), np.full(8, 400)], axis=1)
    full = np.tile(np.array([[0, 0, 1920, 1080]]), (8, 1))
    return [
        Case("crops_400_to_224", frames, crop_rois, np.arange(8),
             PreprocessSpec(224, 224, mean=MEAN, std=STD)),
        Case("letterbox_1080p_to_640", frames, full, np.arange(8),
             PreprocessSpec(640, 640, fit="letterbox", fill=114, mean=MEAN, std=STD)),
    ]


def ours_fn(case: Case, out: np.ndarray, threads: int) -> Callable[[], np.ndarray]:
    """edge.fastpath.preprocess into a preallocated batch."""

    def run() -> np.ndarray:
        return preprocess(case.frames, case.rois, case.spec, frame_index=case.index, out=out,
                          threads=threads)

    return run


def blob_fn(case: Case) -> Callable[[], np.ndarray]:
    """cv2.dnn's preprocessing (resize, mean, scale, swapRB, NCHW) + the std division."""
    spec = case.spec
    mean_px = tuple(m * 255.0 for m in spec.mean)
    inv_std = (1.0 / np.asarray(spec.std, np.float32)).reshape(1, 3, 1, 1)
    if spec.fit == "letterbox":
        params = cv2.dnn.Image2BlobParams()
        params.scalefactor = (1 / 255, 1 / 255, 1 / 255, 1 / 255)
        params.size = (spec.width, spec.height)
        params.mean = (*mean_px, 0.0)
        params.swapRB = True
        params.paddingmode = cv2.dnn.DNN_PMODE_LETTERBOX
        params.borderValue = (float(spec.fill),) * 4

        def run() -> np.ndarray:
            blob = np.asarray(cv2.dnn.blobFromImagesWithParams(case.crops(), params), np.float32)
            blob *= inv_std
            return blob

        return run

    def run_stretch() -> np.ndarray:
        blob = np.asarray(cv2.dnn.blobFromImages(case.crops(), 1 / 255, (spec.width, spec.height),
                                                 mean_px, swapRB=True, crop=False), np.float32)
        blob *= inv_std
        return blob

    return run_stretch


def numpy_fn(case: Case) -> Callable[[], np.ndarray]:
    """A plain loop: cv2.resize (+ border) then NumPy colour, scale, mean/std and transpose."""
    spec = case.spec
    out = np.empty(spec.shape(len(case.rois)), np.float32)
    mean = np.asarray(spec.mean, np.float32)
    std = np.asarray(spec.std, np.float32)

    def run() -> np.ndarray:
        for i, crop in enumerate(case.crops()):
            if spec.fit == "letterbox":
                h, w = crop.shape[:2]
                s = min(spec.width / w, spec.height / h)
                iw, ih = round(w * s), round(h * s)
                img = cv2.resize(crop, (iw, ih), interpolation=cv2.INTER_LINEAR)
                px, py = (spec.width - iw) // 2, (spec.height - ih) // 2
                img = cv2.copyMakeBorder(img, py, spec.height - ih - py, px,
                                         spec.width - iw - px, cv2.BORDER_CONSTANT,
                                         value=(spec.fill,) * 3)
            else:
                img = cv2.resize(crop, (spec.width, spec.height), interpolation=cv2.INTER_LINEAR)
            value = (img[:, :, ::-1].astype(np.float32) * np.float32(spec.scale) - mean) / std
            out[i] = value.transpose(2, 0, 1)
        return out

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per measurement")
    parser.add_argument("--cold", action="store_true",
                        help="evict the CPU caches before every run (a fresh camera frame may "
                        "not be in cache); default: warm, repeated runs")
    parser.add_argument("--kernel", choices=["auto", "avx2", "baseline"], default="auto",
                        help="row kernel of ours (auto: AVX2 where the CPU has it)")
    args = parser.parse_args(argv)
    _fastpath.set_kernel(args.kernel)
    looks = [copy_bandwidth()]
    caches = "evicted before each run" if args.cold else "warm"
    print(f"kernel: {_fastpath.kernel()}; caches: {caches}; timings: best of {args.repeat} "
          "runs, the three taking turns (medians in the JSON line)")
    evict = CacheEvictor() if args.cold else None
    rows: list[dict[str, Any]] = []
    for case in make_cases():
        out = np.empty(case.spec.shape(len(case.rois)), np.float32)
        for threads in (1, 2):
            cv2.setNumThreads(threads)

            ours, plain = ours_fn(case, out, threads), numpy_fn(case)
            timed = time_interleaved({"ours": ours, "blob": blob_fn(case), "numpy": plain},
                                     args.repeat, before=evict if args.cold else None,
                                     chunk=1 if args.cold else 5)
            (ours_ms, ours_med), (blob_ms, blob_med) = timed["ours"], timed["blob"]
            numpy_ms, numpy_med = timed["numpy"]
            # The three agree up to cv2's fixed-point rounding (and blob's letterbox placement).
            diff = float(np.abs(ours() - plain()).max() * 255 * min(STD))
            gbps = case.bytes_moved() / (ours_ms / 1000.0) / 1e9
            looks.append(copy_bandwidth())
            rows.append({
                "case": case.name, "threads": threads, "items": len(case.rois),
                "kernel": _fastpath.kernel(),
                "ours_ms": ours_ms, "ours_median_ms": ours_med,
                "blob_ms": blob_ms, "blob_median_ms": blob_med,
                "numpy_ms": numpy_ms, "numpy_median_ms": numpy_med,
                "speedup_vs_blob": blob_ms / ours_ms, "speedup_vs_numpy": numpy_ms / ours_ms,
                "items_per_s": len(case.rois) / (ours_ms / 1000.0), "ours_gb_s": gbps,
                "bandwidth_fraction": 0.0, "max_diff_levels": diff,
            })
    cv2.setNumThreads(-1)
    # Other processes share the memory bus: the best of several looks is the machine's.
    looks.append(copy_bandwidth())
    bandwidth = max(looks)
    for row in rows:
        row["bandwidth_fraction"] = row["ours_gb_s"] * 1e9 / bandwidth
    print(f"copy bandwidth (read+write, best of {len(looks)} looks): {bandwidth / 1e9:.1f} GB/s")
    print_table(rows, ["case", "threads", "ours_ms", "blob_ms", "numpy_ms", "speedup_vs_blob",
                       "speedup_vs_numpy", "items_per_s", "ours_gb_s", "bandwidth_fraction",
                       "max_diff_levels"])
    emit_json({"bench": "preprocess", "copy_gb_s": bandwidth / 1e9, "repeat": args.repeat,
               "caches": "cold" if args.cold else "warm",
               "cases": rows})


if __name__ == "__main__":
    main()
