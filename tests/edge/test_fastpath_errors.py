"""Bad input to the fused preprocessing: a PreprocessError (ValueError) naming the problem."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edge import _fastpath
from edge.fastpath import PreprocessSpec, preprocess
from peakline.errors import PreprocessError

FRAME = np.zeros((48, 64, 3), np.uint8)
ROI = np.array([[0, 0, 10, 10]])
SPEC = PreprocessSpec(8, 8)


@pytest.mark.parametrize(
    ("frames", "rois", "kwargs", "message"),
    [
        (FRAME.astype(np.float32), ROI, {}, "dtype float32"),
        (FRAME[:, ::2], ROI, {}, "not C-contiguous"),
        (FRAME[:, :, :2].copy(), ROI, {}, r"shape \(48, 64, 2\)"),
        (FRAME[:, :, 0].copy(), ROI, {}, "H x W x 3"),
        ([FRAME, "frame"], ROI, {}, "frame 1 must be a numpy array"),
        ([], ROI, {}, "no frames"),
        (FRAME, np.array([[60, 0, 10, 10]]), {}, "outside the 64x48 frame"),
        (FRAME, np.array([[-1, 0, 10, 10]]), {}, "outside"),
        (FRAME, np.array([[0, 40, 10, 9]]), {}, "outside"),
        (FRAME, np.array([[0, 0, 0, 10]]), {}, "empty"),
        (FRAME, np.array([[0, 0, 10, -3]]), {}, "empty"),
        (FRAME, np.array([[0.5, 0, 10, 10]]), {}, "integers"),
        (FRAME, np.array([[0, 0, 10]]), {}, r"shape \(N, 4\)"),
        (FRAME, ROI, {"frame_index": np.array([1])}, "frame_index"),
        (FRAME, ROI, {"frame_index": np.array([0, 0])}, "one entry per roi"),
        (FRAME, ROI, {"out": np.zeros((1, 3, 8, 8), np.float64)}, "out has dtype float64"),
        (FRAME, ROI, {"out": np.zeros((1, 3, 8, 9), np.float32)}, "out has shape"),
        (FRAME, ROI, {"out": np.zeros((0, 3, 8, 8), np.float32)}, "out has shape"),
        (FRAME, ROI, {"out": np.zeros((1, 8, 8, 3), np.float32)}, "out has shape"),
        (FRAME, ROI, {"out": np.zeros((1, 3, 8, 16), np.float32)[..., ::2]}, "C-contiguous"),
        (FRAME, ROI, {"threads": -2}, "threads"),
    ],
)
def test_bad_input_is_named(frames: Any, rois: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PreprocessError, match=message):
        preprocess(frames, rois, SPEC, **kwargs)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (PreprocessSpec(0, 8), "zero-size output"),
        (PreprocessSpec(8, -1), "zero-size output"),
        (PreprocessSpec(8, 8, std=(1.0, 0.0, 1.0)), "std contains 0"),
        (PreprocessSpec(8, 8, mean=(0.1, 0.2)), "mean has 2 values"),
        (PreprocessSpec(8, 8, color="gray", std=(1.0, 2.0)), "std has 2 values"),
        (PreprocessSpec(8, 8, color="gray", mean=(0.1, 0.2, 0.3)), "mean has 3 values"),
        (PreprocessSpec(8, 8, color="hsv"), "color must be one of"),  # type: ignore[arg-type]
        (PreprocessSpec(8, 8, resize="cubic"), "resize must be one of"),  # type: ignore[arg-type]
        (PreprocessSpec(8, 8, output="float16"), "output must be one of"),  # type: ignore[arg-type]
        (PreprocessSpec(8, 8, fill=300), "fill"),
        (PreprocessSpec(8, 8, scale=float("nan")), "scale"),
    ],
)
def test_bad_spec_is_named(spec: PreprocessSpec, message: str) -> None:
    with pytest.raises(PreprocessError, match=message):
        preprocess(FRAME, ROI, spec)


def test_errors_are_value_errors_from_the_extension_too() -> None:
    with pytest.raises(ValueError, match="dtype"):
        _fastpath.preprocess([FRAME.astype(np.int16)], ROI.astype(np.int64), None,
                             _fastpath.Spec(8, 8), None, 0)


def test_broadcast_mean_std_and_gray_defaults_are_accepted() -> None:
    assert preprocess(FRAME, ROI, PreprocessSpec(8, 8, mean=(0.5,), std=(0.5,))).shape == (
        1, 3, 8, 8)
    assert preprocess(FRAME, ROI, PreprocessSpec(8, 8, color="gray")).shape == (1, 1, 8, 8)
    assert preprocess(FRAME, np.zeros((0, 4), np.int64), SPEC).shape == (0, 3, 8, 8)


def test_unknown_kernel_is_named() -> None:
    with pytest.raises(ValueError, match="kernel must be"):
        _fastpath.set_kernel("neon")
    assert _fastpath.kernel() in ("avx2", "baseline")


def test_spec_validate() -> None:
    assert PreprocessSpec(8, 8).validate() == PreprocessSpec(8, 8)
    with pytest.raises(PreprocessError, match="std contains 0"):
        PreprocessSpec(8, 8, std=(0.0,)).validate()
