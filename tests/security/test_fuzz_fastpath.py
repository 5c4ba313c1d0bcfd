"""Fuzz the C++ preprocessing with hostile frames and ROIs: a ValueError or a correct result.

Random shapes, dtypes, strides and ROIs anywhere (outside, negative, zero-sized, near the
int64 limits), wrong frame indices and output buffers. A crash (segfault, abort) kills the
test process, so it fails loudly; anything but a ``ValueError`` (``PreprocessError``) or a
result equal to the cv2 reference fails the test. Bounded by ``max_examples`` for CI.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.fastpath import BatchAssembler, PreprocessSpec, preprocess
from peakline.errors import PreprocessError

SPEC = PreprocessSpec(width=12, height=10)
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BIG = 2**62
EXTREMES = [-BIG, BIG, 2**31 - 1, -(2**31), 2**63 - 1]
coords = st.one_of(st.integers(-5, 45), st.sampled_from(EXTREMES))


@st.composite
def frames(draw: Any) -> np.ndarray:
    """Mostly valid BGR frames, plus wrong dtypes, dims and strides."""
    h, w = draw(st.integers(0, 40)), draw(st.integers(0, 40))
    base = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 256, (h, w, 3))
    kind = draw(st.sampled_from(["ok", "ok", "ok", "dtype", "gray", "four", "flat",
                                 "strided", "reversed", "fortran", "readonly", "channels"]))
    frame = base.astype(np.uint8)
    if kind == "dtype":
        frame = base.astype(draw(st.sampled_from([np.float32, np.int16, np.uint16, np.bool_,
                                                   np.int64, np.float64])))
    elif kind == "gray":
        frame = frame[:, :, 0].copy()
    elif kind == "four":
        frame = np.concatenate([frame, frame[:, :, :1]], axis=2)
    elif kind == "flat":
        frame = frame.reshape(-1).copy()
    elif kind == "strided":
        frame = frame[:, ::2]
    elif kind == "reversed":
        frame = frame[::-1]
    elif kind == "fortran":
        frame = np.asfortranarray(frame)
    elif kind == "readonly":
        frame.setflags(write=False)
    elif kind == "channels":
        frame = np.ascontiguousarray(base.astype(np.uint8)[:, :, :2])
    return frame


def _valid_frame(f: np.ndarray) -> bool:
    return (f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3
            and f.flags.c_contiguous and f.shape[0] > 0 and f.shape[1] > 0)


def _valid_roi(roi: np.ndarray, f: np.ndarray) -> bool:
    x, y, w, h = (int(v) for v in roi)
    return w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= f.shape[1] and y + h <= f.shape[0]


def _reference(frame: np.ndarray, roi: np.ndarray) -> np.ndarray:
    x, y, w, h = (int(v) for v in roi)
    crop = np.ascontiguousarray(frame[y:y + h, x:x + w])
    img = cv2.resize(crop, (SPEC.width, SPEC.height), interpolation=cv2.INTER_LINEAR)
    return (img[:, :, ::-1].astype(np.float64) / 255.0).transpose(2, 0, 1)


@FUZZ
@given(st.lists(frames(), min_size=0, max_size=3),
       st.lists(st.tuples(coords, coords, coords, coords), min_size=0, max_size=4),
       st.one_of(st.none(), st.lists(st.integers(-3, 5), min_size=0, max_size=5)))
def test_preprocess_is_valueerror_or_correct(
    frame_list: list[np.ndarray], roi_list: list[tuple[int, int, int, int]],
    index_list: list[int] | None,
) -> None:
    rois = np.array(roi_list, dtype=np.int64).reshape(-1, 4)
    index = None if index_list is None else np.array(index_list, dtype=np.int64)
    try:
        out = preprocess(frame_list, rois, SPEC, frame_index=index)
    except ValueError as exc:
        assert isinstance(exc, PreprocessError), f"ValueError not translated: {exc!r}"
        return
    # it worked: every input must have been valid and the output must be right
    assert out.shape == SPEC.shape(len(rois)) and out.dtype == np.float32
    for i, roi in enumerate(rois):
        k = 0 if index is None else int(index[i])
        assert 0 <= k < len(frame_list) and _valid_frame(frame_list[k])
        assert _valid_roi(roi, frame_list[k]), f"accepted an invalid roi {roi.tolist()}"
        diff = np.abs(out[i] - _reference(frame_list[k], roi)).max()
        assert diff <= 1 / 255 * 1.0001 + 1e-5, f"roi {roi.tolist()}: max diff {diff}"


@FUZZ
@given(frames(), st.tuples(coords, coords, coords, coords))
def test_valid_input_is_never_refused(frame: np.ndarray, roi: tuple[int, int, int, int]) -> None:
    arr = np.array([roi], dtype=np.int64)
    if not (_valid_frame(frame) and _valid_roi(arr[0], frame)):
        return
    out = preprocess([frame], arr, SPEC)
    assert np.abs(out[0] - _reference(frame, arr[0])).max() <= 1 / 255 * 1.0001 + 1e-5


@FUZZ
@given(st.one_of(
    st.lists(st.integers(-BIG, BIG), max_size=9).map(lambda v: np.array(v, dtype=np.int64)),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=8).map(np.array),
    st.sampled_from([np.zeros((2, 3), np.int64), np.zeros((1, 4, 1), np.int32),
                     np.array([[1, 2, 3, 4]], dtype=np.uint64) * (2**63),
                     np.array([["a", "b", "c", "d"]]), np.zeros((0, 4), np.float64)])))
def test_roi_arrays_of_any_shape_and_dtype(rois: np.ndarray) -> None:
    frame = np.zeros((20, 20, 3), np.uint8)
    try:
        out = preprocess([frame], rois, SPEC)
    except ValueError:
        return
    assert out.shape[1:] == (3, SPEC.height, SPEC.width)
    if out.shape[0]:
        for roi in rois.reshape(-1, 4):
            assert _valid_roi(roi, frame), f"accepted an invalid roi {roi.tolist()}"


@pytest.mark.parametrize("out", [
    np.zeros((1, 3, 10, 12), np.float64), np.zeros((1, 3, 12, 10), np.float32),
    np.zeros((0, 3, 10, 12), np.float32), np.zeros((4, 3, 10, 12), np.float32)[:, :, ::-1],
    np.zeros((1, 3, 10, 12), np.float32)[:, :, :, :],
])
def test_output_buffers(out: np.ndarray) -> None:
    frame = np.zeros((20, 20, 3), np.uint8)
    rois = np.array([[0, 0, 5, 5]], np.int64)
    ok = out.dtype == np.float32 and out.shape[0] >= 1 and out.shape[1:] == (3, 10, 12) \
        and out.flags.c_contiguous
    if ok:
        assert preprocess([frame], rois, SPEC, out=out).shape == (1, 3, 10, 12)
    else:
        with pytest.raises(PreprocessError):
            preprocess([frame], rois, SPEC, out=out)


@pytest.mark.parametrize("size", [(0, 10), (10, -1), (-(2**31), 5)])
def test_bad_spec_sizes_are_refused(size: tuple[int, int]) -> None:
    with pytest.raises(PreprocessError):
        preprocess([np.zeros((8, 8, 3), np.uint8)], np.array([[0, 0, 4, 4]]),
                   PreprocessSpec(width=size[0], height=size[1]))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.tuples(coords, coords, coords, coords))
def test_batch_assembler_add_is_valueerror_or_queued(
    frame: np.ndarray, roi: tuple[int, int, int, int],
) -> None:
    assembler = BatchAssembler(SPEC, batch_size=2, max_wait_ms=1.0, slots=2, threads=1)
    try:
        try:
            added = assembler.add(frame, np.array(roi, np.int64), tag=7, timeout=1.0)
        except ValueError as exc:
            assert isinstance(exc, PreprocessError)
            return
        assert added and _valid_frame(frame) and _valid_roi(np.array(roi), frame)
        assembler.flush()
        batch = assembler.next_batch(timeout=5.0)
        assert batch is not None
        assert np.abs(batch.array[0] - _reference(frame, np.array(roi))).max() <= 1 / 255 + 1e-4
        batch.release()
    finally:
        assembler.close()
