"""Fuzz the C++ preprocessing with hostile frames and ROIs: a ValueError or a correct result.

Cases are built valid (frames down to 1x1, ROIs touching the borders, several frames with an
index) and then, in about three of five examples, changed once: a frame of the wrong dtype,
dims, channels or strides, a ROI outside its frame or near the int64 limits, a bad index. An
oracle says whether the result is valid; the call must be refused (``PreprocessError``)
exactly when it is not, and an accepted batch must equal the cv2 reference. A crash (segfault,
abort) kills the test process, so it fails loudly. ``event()`` counts the branches
(``pytest --hypothesis-show-statistics``); bounded by ``max_examples`` for CI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edge.fastpath import BatchAssembler, PreprocessSpec, preprocess
from peakline.errors import PreprocessError

SPEC = PreprocessSpec(width=12, height=10)
FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BIG = 2**62


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


@dataclass
class Case:
    """Inputs for one preprocess call, and what was done to make them (maybe) invalid."""

    frames: list[np.ndarray]
    rois: np.ndarray
    index: np.ndarray | None
    mutation: str = "none"

    def valid(self) -> bool:
        """The oracle: every referenced frame, ROI and index is valid."""
        n = len(self.rois)
        index = np.zeros(n, np.int64) if self.index is None else self.index
        if len(index) != n:
            return False
        for roi, k in zip(self.rois, index, strict=True):
            if not 0 <= k < len(self.frames):
                return False
            frame = self.frames[int(k)]
            if not (_valid_frame(frame) and _valid_roi(roi, frame)):
                return False
        return all(_valid_frame(f) for f in self.frames)


@st.composite
def valid_cases(draw: Any, max_frames: int = 3, max_rois: int = 4) -> Case:
    """One to three valid frames (down to 1x1) and one to four ROIs inside them."""
    frame_list = []
    for _ in range(draw(st.integers(1, max_frames))):
        h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        frame_list.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    rois, index = [], []
    for _ in range(draw(st.integers(1, max_rois))):
        k = draw(st.integers(0, len(frame_list) - 1))
        fh, fw = frame_list[k].shape[:2]
        x, y = draw(st.integers(0, fw - 1)), draw(st.integers(0, fh - 1))
        rois.append((x, y, draw(st.integers(1, fw - x)), draw(st.integers(1, fh - y))))
        index.append(k)
    single = len(frame_list) == 1 and draw(st.booleans())
    return Case(frame_list, np.array(rois, np.int64),
                None if single else np.array(index, np.int64))


FRAME_MUTATIONS = ["dtype", "gray", "four", "flat", "strided", "reversed", "fortran",
                   "readonly", "channels", "empty"]
ROI_MUTATIONS = ["x<0", "y<0", "w=0", "h<0", "past_right", "past_bottom", "huge_x",
                 "huge_w", "int64_max_x", "int32_w"]
INDEX_MUTATIONS = ["negative", "past_end", "too_long", "too_short", "huge"]


def _mutate_frame(frame: np.ndarray, kind: str, draw: Any) -> np.ndarray:
    if kind == "dtype":
        return frame.astype(draw(st.sampled_from([np.float32, np.int16, np.uint16, np.bool_,
                                                   np.int64, np.float64])))
    if kind == "gray":
        return frame[:, :, 0].copy()
    if kind == "four":
        return np.concatenate([frame, frame[:, :, :1]], axis=2)
    if kind == "flat":
        return frame.reshape(-1).copy()
    if kind == "strided":
        return np.concatenate([frame, frame], axis=1)[:, ::2]
    if kind == "reversed":
        return frame[::-1]
    if kind == "fortran":
        return np.asfortranarray(frame)
    if kind == "readonly":
        frame = frame.copy()
        frame.setflags(write=False)
        return frame
    if kind == "channels":
        return np.ascontiguousarray(frame[:, :, :2])
    return frame[:0]  # empty


def _mutate_roi(roi: np.ndarray, fw: int, fh: int, kind: str) -> None:
    x, y, w, h = (int(v) for v in roi)
    roi[:] = {
        "x<0": (-1, y, w, h), "y<0": (x, -1 - y, w, h), "w=0": (x, y, 0, h),
        "h<0": (x, y, w, -h), "past_right": (x, y, fw - x + 1, h),
        "past_bottom": (x, y, w, fh - y + 1), "huge_x": (BIG, y, w, h),
        "huge_w": (x, y, BIG, h), "int64_max_x": (2**63 - 1, y, 1, h),
        "int32_w": (x, y, 2**31 - 1, h),
    }[kind]


@st.composite
def mutated_cases(draw: Any) -> Case:
    """A valid case, then (usually) one change to its first ROI, that ROI's frame, or the index."""
    case = draw(valid_cases())
    part = draw(st.sampled_from(["none", "none", "frame", "roi", "index"]))
    k = 0 if case.index is None else int(case.index[0])
    if part == "frame":
        kind = draw(st.sampled_from(FRAME_MUTATIONS))
        case.frames[k] = _mutate_frame(case.frames[k], kind, draw)
    elif part == "roi":
        kind = draw(st.sampled_from(ROI_MUTATIONS))
        fh, fw = case.frames[k].shape[:2]
        _mutate_roi(case.rois[0], fw, fh, kind)
    elif part == "index":
        kind = draw(st.sampled_from(INDEX_MUTATIONS))
        n = len(case.rois)
        index = np.zeros(n, np.int64) if case.index is None else case.index.copy()
        if kind in ("negative", "past_end", "huge"):
            index[0] = {"negative": -1, "past_end": len(case.frames), "huge": BIG}[kind]
        case.index = {"too_long": np.append(index, 0), "too_short": index[:-1]}.get(kind, index)
    else:
        kind = "none"
    case.mutation = f"{part}:{kind}" if part != "none" else "none"
    return case


def _assert_matches_reference(case: Case, out: np.ndarray) -> None:
    assert out.shape == SPEC.shape(len(case.rois)) and out.dtype == np.float32
    for i, roi in enumerate(case.rois):
        k = 0 if case.index is None else int(case.index[i])
        diff = np.abs(out[i] - _reference(case.frames[k], roi)).max()
        assert diff <= 1 / 255 * 1.0001 + 1e-5, f"roi {roi.tolist()}: max diff {diff}"


@FUZZ
@given(mutated_cases())
def test_preprocess_is_valueerror_or_correct(case: Case) -> None:
    """Accepted exactly when the oracle says valid; an accepted batch equals cv2's."""
    expect = case.valid()
    try:
        out = preprocess(case.frames, case.rois, SPEC, frame_index=case.index)
    except ValueError as exc:
        event(f"refused ({'valid' if expect else 'invalid'} input)")
        event(f"mutation {case.mutation}")
        assert isinstance(exc, PreprocessError), f"ValueError not translated: {exc!r}"
        assert not expect, f"{case.mutation}: valid input refused: {exc}"
        return
    event(f"accepted ({'valid' if expect else 'invalid'} input), {len(case.rois)} ROIs")
    event(f"mutation {case.mutation}")
    assert expect, f"{case.mutation}: invalid input accepted"
    _assert_matches_reference(case, out)


@FUZZ
@given(valid_cases())
def test_valid_input_is_never_refused(case: Case) -> None:
    assert case.valid()
    event(f"{len(case.frames)} frames, {len(case.rois)} ROIs")
    _assert_matches_reference(case, preprocess(case.frames, case.rois, SPEC,
                                               frame_index=case.index))


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
    except ValueError as exc:
        event("refused")
        assert isinstance(exc, PreprocessError), f"ValueError not translated: {exc!r}"
        return
    event(f"accepted, {out.shape[0]} ROIs")
    assert rois.dtype.kind in "iu" or rois.size == 0, f"accepted ROIs of dtype {rois.dtype}"
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
@given(mutated_cases())
def test_batch_assembler_add_is_valueerror_or_queued(case: Case) -> None:
    """One ROI into the assembler: queued exactly when valid, and then equal to cv2's."""
    k = int(case.index[0]) if case.index is not None and len(case.index) else 0
    if not 0 <= k < len(case.frames):
        k = 0  # an index mutation: the assembler takes one frame, so give it the first
    frame, roi = case.frames[k], case.rois[0]
    expect = _valid_frame(frame) and _valid_roi(roi, frame)
    assembler = BatchAssembler(SPEC, batch_size=2, max_wait_ms=1.0, slots=2, threads=1)
    try:
        try:
            added = assembler.add(frame, roi, tag=7, timeout=1.0)
        except ValueError as exc:
            event(f"refused ({'valid' if expect else 'invalid'} input)")
            assert isinstance(exc, PreprocessError)
            assert not expect, f"{case.mutation}: valid input refused: {exc}"
            assert assembler.pending == 0  # a refused item takes no row
            return
        event(f"queued ({'valid' if expect else 'invalid'} input)")
        assert added and expect, f"{case.mutation}: invalid input queued"
        assembler.flush()
        batch = assembler.next_batch(timeout=5.0)
        assert batch is not None and len(batch) == 1
        assert np.abs(batch.array[0] - _reference(frame, roi)).max() <= 1 / 255 + 1e-4
        batch.release()
    finally:
        assembler.close()
