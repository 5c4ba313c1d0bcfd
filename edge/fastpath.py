"""Fused preprocessing for the edge: crop + resize + colour + normalise + NCHW in one pass.

This is the module the rest of Peakline imports; the work happens in the private C++
extension ``edge._fastpath`` with the GIL released and an internal thread pool. Frames are
always uint8 BGR ``H x W x 3``, C-contiguous (nothing is silently copied). Bad input raises
:class:`peakline.errors.PreprocessError` (a ``ValueError``) that names the problem.

Resizing matches ``cv2.resize`` (``INTER_LINEAR``; ``INTER_AREA`` for ``resize="area"``) to
within one intensity level, gray matches ``cv2.cvtColor(..., COLOR_BGR2GRAY)``. The C++ row
kernels come in a baseline x86-64 build and an AVX2+FMA build picked at run time
(``edge._fastpath.kernel()``); speed figures: ``python bench/preprocess.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

import numpy as np

from edge import _fastpath
from peakline.errors import PreprocessError

__all__ = [
    "Batch",
    "BatchAssembler",
    "PreprocessSpec",
    "letterbox_geometry",
    "native_spec",
    "preprocess",
]


@dataclass(frozen=True)
class PreprocessSpec:
    """What a model wants as input; the model card fills it in.

    ``value = (pixel * scale - mean[c]) / std[c]``, with ``mean``/``std`` in the model's
    channel order. ``output="uint8"`` writes the resized pixels unscaled (for models that
    normalise inside the graph). ``gray`` is 0.299 R + 0.587 G + 0.114 B, one channel.
    """

    width: int
    height: int
    color: Literal["rgb", "bgr", "gray"] = "rgb"
    scale: float = 1 / 255
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    resize: Literal["linear", "area"] = "linear"
    fit: Literal["stretch", "letterbox"] = "stretch"
    fill: int = 114
    output: Literal["float32", "uint8"] = "float32"

    @property
    def channels(self) -> int:
        """Channels of the output: 1 for gray, else 3."""
        return 1 if self.color == "gray" else 3

    @property
    def dtype(self) -> np.dtype[np.float32] | np.dtype[np.uint8]:
        """numpy dtype of the output."""
        return np.dtype(np.float32) if self.output == "float32" else np.dtype(np.uint8)

    def shape(self, n: int) -> tuple[int, int, int, int]:
        """Shape of a batch of ``n`` items: ``(n, C, H, W)``."""
        return (n, self.channels, self.height, self.width)

    def validate(self) -> PreprocessSpec:
        """Check the spec now (sizes, mean/std lengths, std != 0, known modes); returns it.

        Raises :class:`PreprocessError` naming the problem.
        """
        native_spec(self)
        return self


@functools.lru_cache(maxsize=64)
def _native(spec: PreprocessSpec) -> _fastpath.Spec:
    try:
        return _fastpath.Spec(
            width=int(spec.width),
            height=int(spec.height),
            color=spec.color,
            scale=float(spec.scale),
            mean=[float(v) for v in spec.mean],
            std=[float(v) for v in spec.std],
            resize=spec.resize,
            fit=spec.fit,
            fill=int(spec.fill),
            output=spec.output,
        )
    except (ValueError, TypeError) as exc:
        raise PreprocessError(f"invalid PreprocessSpec: {exc}") from exc


def native_spec(spec: PreprocessSpec) -> _fastpath.Spec:
    """The validated C++ spec for ``spec`` (cached); raises PreprocessError if invalid."""
    if not isinstance(spec, PreprocessSpec):
        raise PreprocessError(f"spec must be a PreprocessSpec, got {type(spec).__name__}")
    return _native(spec)


def _int_array(values: object, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        else:
            raise PreprocessError(f"{name} must be integers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if ndim == 2 and arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr.reshape(1, 4)
    return arr


def preprocess(
    frames: Sequence[np.ndarray] | np.ndarray,
    rois: np.ndarray,
    spec: PreprocessSpec,
    *,
    frame_index: np.ndarray | None = None,
    out: np.ndarray | None = None,
    threads: int = 0,
) -> np.ndarray:
    """Crop, resize, convert and normalise every ROI into an ``(N, C, H, W)`` array.

    ``rois`` is ``(N, 4)`` integer ``x, y, w, h`` inside its frame (touching borders allowed);
    ``frame_index`` ``(N,)`` says which frame each ROI comes from (default: frame 0).
    ``out`` is an optional preallocated C-contiguous ``(>=N, C, H, W)`` array of the spec's
    dtype, filled in place; ``threads=0`` uses the machine's cores. Returns ``out[:N]``.
    """
    native = native_spec(spec)
    if isinstance(frames, np.ndarray):
        if frames.ndim == 4:
            frame_list: Sequence[np.ndarray] = list(frames)
        else:
            frame_list = [frames]
    else:
        frame_list = list(frames)
    roi_arr = _int_array(rois, "rois", 2)
    index = None if frame_index is None else _int_array(frame_index, "frame_index", 1)
    if threads < 0:
        raise PreprocessError(f"threads must be >= 0, got {threads}")
    try:
        return _fastpath.preprocess(frame_list, roi_arr, index, native, out, int(threads))
    except ValueError as exc:
        raise PreprocessError(str(exc)) from exc


def letterbox_geometry(src_w: int, src_h: int, spec: PreprocessSpec) -> tuple[float, int, int]:
    """``(scale, pad_x, pad_y)`` of the letterbox placement of a ``src_w x src_h`` region.

    A point ``(u, v)`` in the model input maps back to ``((u - pad_x) / scale + roi_x,
    (v - pad_y) / scale + roi_y)``. For ``fit="stretch"`` it is ``(width / src_w, 0, 0)``.
    """
    try:
        native = native_spec(spec)
        scale, pad_x, pad_y = _fastpath.letterbox_geometry(int(src_w), int(src_h), native)
    except ValueError as exc:
        raise PreprocessError(str(exc)) from exc
    return float(scale), int(pad_x), int(pad_y)


class Batch:
    """A ready batch: ``array`` is a zero-copy ``(n, C, H, W)`` view of the assembler's slot.

    Use it as a context manager (or call :meth:`release`) so the slot returns to the ring;
    the array must not be used after release, since the slot is then refilled.
    """

    def __init__(self, owner: BatchAssembler, slot: int, count: int, first_added: float) -> None:
        self._owner = owner
        self.slot = slot
        self.array: np.ndarray = owner._native.batch_array(slot, count)
        self.tags: np.ndarray = owner._native.batch_tags(slot, count)
        self.first_added = first_added
        self._released = False

    def __len__(self) -> int:
        return int(self.array.shape[0])

    @property
    def released(self) -> bool:
        """Whether the slot went back to the ring."""
        return self._released

    def release(self) -> None:
        """Return the slot to the ring (idempotent)."""
        if not self._released:
            self._released = True
            self._owner._native.release(self.slot)

    def __enter__(self) -> Batch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class BatchAssembler:
    """Ring of ``slots`` preallocated ``(batch_size, C, H, W)`` buffers.

    :meth:`add` (from any thread) preprocesses one item straight into the next free row; a
    batch is ready when full, when ``max_wait_ms`` passed since its first item, or on
    :meth:`flush`. After :meth:`close`, adds return ``False`` and :meth:`next_batch` hands out
    what is left, then ``None``.
    """

    def __init__(
        self,
        spec: PreprocessSpec,
        batch_size: int,
        max_wait_ms: float,
        slots: int = 3,
        threads: int = 0,
    ) -> None:
        self.spec = spec
        if threads < 0:
            raise PreprocessError(f"threads must be >= 0, got {threads}")
        try:
            self._native = _fastpath.BatchAssembler(
                native_spec(spec), int(batch_size), float(max_wait_ms), int(slots), int(threads)
            )
        except ValueError as exc:
            raise PreprocessError(str(exc)) from exc
        self.batch_size = int(batch_size)
        self.max_wait_ms = float(max_wait_ms)

    @property
    def pending(self) -> int:
        """Items added but not yet handed out in a batch."""
        return int(self._native.pending)

    def add(
        self,
        frame: np.ndarray,
        roi: tuple[int, int, int, int] | np.ndarray,
        tag: int,
        timeout: float | None = None,
    ) -> bool:
        """Preprocess one ROI of ``frame`` into the next free row; ``False`` if no slot came
        free within ``timeout`` seconds (``None``: wait) or the assembler is closed."""
        try:
            return bool(self._native.add(frame, _int_array(roi, "roi", 1), int(tag), timeout))
        except ValueError as exc:
            raise PreprocessError(str(exc)) from exc

    def add_many(
        self,
        frame: np.ndarray,
        rois: np.ndarray,
        tags: np.ndarray,
        timeout: float | None = None,
    ) -> int:
        """Add several ROIs of one frame in order (in parallel on the pool); returns how many
        were added before one found no free slot within ``timeout`` (``None``: wait)."""
        roi_arr = _int_array(rois, "rois", 2)
        tag_arr = _int_array(tags, "tags", 1)
        try:
            return int(self._native.add_many(frame, roi_arr, tag_arr, timeout))
        except ValueError as exc:
            raise PreprocessError(str(exc)) from exc

    def next_batch(self, timeout: float | None = None) -> Batch | None:
        """Block until a batch is full or its deadline passes; ``None`` on timeout, or when
        closed and drained."""
        try:
            ready = self._native.next_batch(timeout)
        except ValueError as exc:
            raise PreprocessError(str(exc)) from exc
        if ready is None:
            return None
        slot, count, first_added = ready
        return Batch(self, slot, count, first_added)

    def flush(self) -> None:
        """Make the partially filled batch ready now."""
        self._native.flush()

    def close(self) -> None:
        """Stop accepting items; batches already added can still be taken."""
        self._native.close()

    def __enter__(self) -> BatchAssembler:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
