"""The fused preprocessing against a cv2.resize + cv2.cvtColor + NumPy reference, in every mode."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge import _fastpath
from edge.fastpath import PreprocessSpec, letterbox_geometry, preprocess


@pytest.fixture(scope="module", autouse=True, params=["auto", "baseline"])
def kernel(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test runs with the CPU's pick (AVX2 where present) and the baseline kernels."""
    _fastpath.set_kernel(request.param)
    try:
        yield _fastpath.kernel()
    finally:
        _fastpath.set_kernel("auto")


def inner_size(w: int, h: int, spec: PreprocessSpec) -> tuple[int, int, int, int]:
    """(inner_w, inner_h, pad_x, pad_y) of the resized ROI, computed independently."""
    if spec.fit == "stretch":
        return spec.width, spec.height, 0, 0
    scale = min(spec.width / w, spec.height / h)
    iw = min(max(int(np.floor(w * scale + 0.5)), 1), spec.width)
    ih = min(max(int(np.floor(h * scale + 0.5)), 1), spec.height)
    return iw, ih, (spec.width - iw) // 2, (spec.height - ih) // 2


def reference(
    frame: np.ndarray, roi: tuple[int, int, int, int], spec: PreprocessSpec
) -> np.ndarray:
    """One item, (C, H, W), from cv2.resize + cv2.cvtColor + NumPy arithmetic."""
    x, y, w, h = (int(v) for v in roi)
    crop = frame[y : y + h, x : x + w]
    interp = cv2.INTER_LINEAR if spec.resize == "linear" else cv2.INTER_AREA
    iw, ih, px, py = inner_size(w, h, spec)
    canvas = np.full((spec.height, spec.width, 3), spec.fill, np.uint8)
    canvas[py : py + ih, px : px + iw] = cv2.resize(crop, (iw, ih), interpolation=interp)
    if spec.color == "gray":
        if spec.output == "uint8":
            img = cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY)[:, :, None].astype(np.float64)
        else:
            img = (canvas.astype(np.float64) @ np.array([0.114, 0.587, 0.299]))[:, :, None]
    elif spec.color == "rgb":
        img = canvas[:, :, ::-1].astype(np.float64)
    else:
        img = canvas.astype(np.float64)
    if spec.output == "uint8":
        return img.transpose(2, 0, 1).astype(np.uint8)
    c = spec.channels
    mean = np.resize(np.asarray(spec.mean, np.float64), c)
    std = np.resize(np.asarray(spec.std, np.float64), c)
    value = (img * spec.scale - mean) / std
    return value.transpose(2, 0, 1).astype(np.float32)


def tolerance(spec: PreprocessSpec) -> float:
    """One intensity level (1/255 before mean/std), in output units."""
    if spec.output == "uint8":
        return 1.0
    return 1.0 * abs(spec.scale) / float(np.min(np.abs(spec.std))) * 1.0001 + 1e-5


def _frame(h: int, w: int, seed: int = 0, smooth: bool = False) -> np.ndarray:
    frame = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.GaussianBlur(frame, (0, 0), 2) if smooth else frame


def _check(frames: list[np.ndarray], rois: np.ndarray, spec: PreprocessSpec,
           index: np.ndarray | None = None, threads: int = 0) -> np.ndarray:
    out = preprocess(frames, rois, spec, frame_index=index, threads=threads)
    assert out.shape == spec.shape(len(rois))
    assert out.dtype == spec.dtype
    for i, roi in enumerate(rois):
        frame = frames[0 if index is None else int(index[i])]
        ref = reference(frame, tuple(roi), spec)
        diff = np.abs(out[i].astype(np.float64) - ref.astype(np.float64)).max()
        assert diff <= tolerance(spec), f"item {i} roi {roi}: max diff {diff}"
    return out


MODES = list(
    itertools.product(["rgb", "bgr", "gray"], ["stretch", "letterbox"], ["linear", "area"],
                      ["float32", "uint8"])
)


@pytest.mark.parametrize(("color", "fit", "resize", "output"), MODES)
def test_every_mode_matches_reference(color: str, fit: str, resize: str, output: str) -> None:
    frame = _frame(97, 131, seed=1)
    rois = np.array([
        [0, 0, 131, 97],      # whole frame
        [10, 20, 40, 30],     # inside
        [130, 96, 1, 1],      # 1-pixel ROI in the corner
        [0, 50, 7, 47],       # touching left and bottom borders
        [100, 0, 31, 5],      # touching top and right borders
        [3, 3, 90, 12],       # wide: letterbox pads top/bottom
    ])
    gray = color == "gray"
    for size in [(24, 24), (33, 17), (200, 150)]:  # downscale, odd sizes, upscale
        spec = PreprocessSpec(
            size[0], size[1], color=color, fit=fit, resize=resize, output=output,  # type: ignore[arg-type]
            mean=(0.5,) if gray else (0.485, 0.456, 0.406),
            std=(0.25,) if gray else (0.229, 0.224, 0.225),
        )
        _check([frame], rois, spec)


@pytest.mark.parametrize("resize", ["linear", "area"])
@pytest.mark.parametrize(("src", "dst"), [((400, 400), (224, 224)), ((1920, 1080), (640, 640)),
                                          ((300, 200), (640, 640)), ((641, 479), (64, 48))])
def test_realistic_sizes(resize: str, src: tuple[int, int], dst: tuple[int, int]) -> None:
    frame = _frame(src[1], src[0], seed=2, smooth=True)
    for fit in ("stretch", "letterbox"):
        spec = PreprocessSpec(dst[0], dst[1], resize=resize, fit=fit)  # type: ignore[arg-type]
        _check([frame], np.array([[0, 0, src[0], src[1]]]), spec)


def test_multiple_frames_and_threads_agree() -> None:
    frames = [_frame(120, 160, seed=s) for s in range(3)]
    rois = np.array([[5, 5, 50, 60], [0, 0, 160, 120], [100, 60, 60, 60], [1, 2, 3, 4]] * 3)
    index = np.array([0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 0, 2])
    spec = PreprocessSpec(48, 40, mean=(0.1, 0.2, 0.3), std=(0.5, 0.6, 0.7))
    one = _check(frames, rois, spec, index, threads=1)
    two = _check(frames, rois, spec, index, threads=2)
    many = preprocess(frames, rois, spec, frame_index=index, threads=5)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, many)


def test_concurrent_callers_share_the_pool() -> None:
    frames = [_frame(90, 120, seed=s) for s in range(4)]
    spec = PreprocessSpec(40, 30, resize="area")
    rois = np.array([[0, 0, 120, 90], [10, 5, 60, 70], [50, 40, 70, 50]])
    expected = [preprocess(f, rois, spec, threads=1) for f in frames]
    errors: list[str] = []

    def work(i: int) -> None:
        out = np.empty(spec.shape(3), np.float32)
        for _ in range(30):
            got = preprocess(frames[i], rois, spec, out=out, threads=2)
            if not np.array_equal(got, expected[i]):
                errors.append(f"caller {i} got a different result")

    callers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert errors == []


def test_stacked_frames_array() -> None:
    frames = np.stack([_frame(40, 50, seed=s) for s in range(2)])
    spec = PreprocessSpec(16, 16)
    out = preprocess(frames, np.array([[0, 0, 50, 40], [0, 0, 50, 40]]), spec,
                     frame_index=np.array([1, 0]))
    np.testing.assert_allclose(out[0], reference(frames[1], (0, 0, 50, 40), spec), atol=1 / 255)
    np.testing.assert_allclose(out[1], reference(frames[0], (0, 0, 50, 40), spec), atol=1 / 255)


@pytest.mark.parametrize("output", ["float32", "uint8"])
def test_out_is_filled_in_place_and_reused(output: str) -> None:
    frame = _frame(60, 80, seed=3)
    spec = PreprocessSpec(20, 10, output=output)  # type: ignore[arg-type]
    out = np.full(spec.shape(5), 7, dtype=spec.dtype)
    for rois in (np.array([[0, 0, 80, 60], [3, 4, 5, 6]]), np.array([[10, 10, 20, 20]])):
        got = preprocess(frame, rois, spec, out=out)
        assert got.shape == spec.shape(len(rois))
        assert np.shares_memory(got, out)
        assert got.__array_interface__["data"][0] == out.__array_interface__["data"][0]
        for i, roi in enumerate(rois):
            assert np.abs(out[i].astype(float) - reference(frame, tuple(roi), spec)).max() <= (
                tolerance(spec))
    np.testing.assert_array_equal(out[2:], 7)  # rows past N are not touched


def test_letterbox_geometry_and_fill() -> None:
    spec = PreprocessSpec(640, 640, fit="letterbox", fill=114, output="uint8")
    scale, pad_x, pad_y = letterbox_geometry(1920, 1080, spec)
    assert scale == pytest.approx(1 / 3)
    assert (pad_x, pad_y) == (0, 140)
    frame = _frame(1080, 1920, seed=4)
    out = preprocess(frame, np.array([[0, 0, 1920, 1080]]), spec)
    assert (out[0, :, :140] == 114).all()
    assert (out[0, :, 500:] == 114).all()
    assert letterbox_geometry(100, 50, PreprocessSpec(64, 32)) == (0.64, 0, 0)
    assert inner_size(1080, 1920, spec)[2:] == letterbox_geometry(1080, 1920, spec)[1:]


def test_float_letterbox_fill_is_normalised() -> None:
    spec = PreprocessSpec(32, 32, fit="letterbox", fill=114, mean=(0.5, 0.5, 0.5),
                          std=(0.5, 0.5, 0.5))
    out = preprocess(_frame(10, 40), np.array([[0, 0, 40, 10]]), spec)
    np.testing.assert_allclose(out[0, :, 0, :], (114 / 255 - 0.5) / 0.5, rtol=1e-6)


@settings(max_examples=120, deadline=None)
@given(
    fh=st.integers(1, 48), fw=st.integers(1, 48), data=st.data(),
    ow=st.integers(1, 40), oh=st.integers(1, 40),
    color=st.sampled_from(["rgb", "bgr", "gray"]), fit=st.sampled_from(["stretch", "letterbox"]),
    resize=st.sampled_from(["linear", "area"]), output=st.sampled_from(["float32", "uint8"]),
    threads=st.sampled_from([1, 2]),
)
def test_property_matches_reference(fh: int, fw: int, data: st.DataObject, ow: int, oh: int,
                                    color: str, fit: str, resize: str, output: str,
                                    threads: int) -> None:
    frame = _frame(fh, fw, seed=fh * 100 + fw)
    x = data.draw(st.integers(0, fw - 1))
    y = data.draw(st.integers(0, fh - 1))
    w = data.draw(st.integers(1, fw - x))
    h = data.draw(st.integers(1, fh - y))
    mean = data.draw(st.floats(-1, 1)) if color == "gray" else 0.2
    spec = PreprocessSpec(ow, oh, color=color, fit=fit, resize=resize, output=output,  # type: ignore[arg-type]
                          mean=(mean,) * (1 if color == "gray" else 3),
                          std=(0.5,) * (1 if color == "gray" else 3))
    _check([frame], np.array([[x, y, w, h]]), spec, threads=threads)
