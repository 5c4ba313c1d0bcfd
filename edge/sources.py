"""Frame source plugins: video file, folder of frames, recording, camera, RTSP/GStreamer.

Each implements :class:`FrameSource`; ``make_source(config)`` picks one by the config's
``type``. Sources only open and read; pacing, shape checks, the buffer ring and reopening with
back-off live in :mod:`edge.capture`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from edge.config_sections import (
    CameraSource,
    FileSource,
    FolderSource,
    RecordingSource,
    SourceConfig,
    StreamSource,
)
from edge.recording.format import read_meta
from peakline.errors import DataError, SourceError, redact_url

__all__ = [
    "SOURCE_FACTORIES",
    "CorruptFrame",
    "FolderFrames",
    "FrameSource",
    "OpenCVCapture",
    "make_source",
]


class CorruptFrame(Exception):
    """One frame could not be decoded; the source can go on with the next one."""


class FrameSource(Protocol):
    """A source of BGR uint8 frames."""

    name: str
    live: bool
    loop: bool

    @property
    def fps(self) -> float | None:
        """Frames per second the source delivers (None if it does not say)."""
        ...

    def open(self) -> None:
        """Open (or reopen) the source; SourceError if it cannot be opened."""

    def read(self, out: np.ndarray | None = None) -> np.ndarray | None:
        """The next frame (decoded into ``out`` when it fits), None at the end of a file.

        Raises CorruptFrame for one bad frame and SourceError when the source is lost.
        """

    def close(self) -> None:
        """Release the device or file."""


class OpenCVCapture:
    """``cv2.VideoCapture`` over a file, a device index or a stream URL/pipeline."""

    def __init__(
        self, target: str | int, *, live: bool, loop: bool = False, api: int = cv2.CAP_ANY,
        fps: float | None = None, timeout_s: float | None = None,
    ) -> None:
        self.name = redact_url(str(target))  # an rtsp:// URL may carry a password
        self.live = live
        self.loop = loop
        self._target = target
        self._api = api
        self._fps = fps
        self._timeout_ms = int(timeout_s * 1000) if timeout_s else 0
        self._cap: cv2.VideoCapture | None = None

    @property
    def fps(self) -> float | None:
        return self._fps

    def open(self) -> None:
        self.close()
        if isinstance(self._target, str) and not self.live and not Path(self._target).exists():
            raise SourceError(f"video file {self._target} does not exist")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self._timeout_ms,
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, self._timeout_ms] if self._timeout_ms else []
        cap = cv2.VideoCapture(self._target, self._api, params)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot open {self.name}")
        reported = cap.get(cv2.CAP_PROP_FPS)
        if self._fps is None and reported and 0 < reported < 1000:
            self._fps = float(reported)
        self._cap = cap

    def read(self, out: np.ndarray | None = None) -> np.ndarray | None:
        if self._cap is None:
            raise SourceError(f"{self.name} is not open")
        ok, frame = self._cap.read(out) if out is not None else self._cap.read()
        if ok and frame is not None:
            return frame
        if self.live:
            raise SourceError(f"{self.name}: no frame (stream lost)")
        if self.loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
            return frame if ok else None
        return None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class FolderFrames:
    """Still images in a folder, in name order; an undecodable file is a CorruptFrame."""

    def __init__(self, folder: Path, pattern: str, fps: float | None, loop: bool) -> None:
        self.name = str(folder)
        self.live = False
        self.loop = loop
        self._folder = folder
        self._pattern = pattern
        self._fps = fps
        self._files: list[Path] = []
        self._next = 0

    @property
    def fps(self) -> float | None:
        return self._fps

    def open(self) -> None:
        if not self._folder.is_dir():
            raise SourceError(f"frame folder {self._folder} does not exist")
        self._files = sorted(self._folder.glob(self._pattern))
        if not self._files:
            raise SourceError(f"no {self._pattern} files in {self._folder}")
        self._next = 0

    def read(self, out: np.ndarray | None = None) -> np.ndarray | None:
        if self._next >= len(self._files):
            if not self.loop:
                return None
            self._next = 0
        path = self._files[self._next]
        self._next += 1
        data = np.fromfile(path, dtype=np.uint8)
        frame = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if frame is None:
            raise CorruptFrame(f"{path.name}: cannot decode")
        return frame

    def close(self) -> None:
        self._files = []


def _recording(config: RecordingSource) -> FrameSource:
    try:
        meta, frames_at = read_meta(config.path)
    except DataError as exc:
        raise SourceError(str(exc)) from exc
    fps = config.fps or meta.fps or None
    if meta.format == "mp4":
        return OpenCVCapture(str(frames_at), live=False, loop=config.loop, fps=fps)
    return FolderFrames(frames_at, "*.jpg", fps, config.loop)


def _stream(config: StreamSource) -> FrameSource:
    api = cv2.CAP_GSTREAMER if config.type == "gstreamer" else cv2.CAP_FFMPEG
    return OpenCVCapture(config.url, live=True, api=api, fps=config.fps,
                         timeout_s=config.timeout_s)


#: the source plugins: one factory per config class of :data:`SOURCE_TYPES`
SOURCE_FACTORIES: dict[type[Any], Callable[[Any], FrameSource]] = {
    FileSource: lambda c: OpenCVCapture(str(c.path), live=False, loop=c.loop, fps=c.fps),
    FolderSource: lambda c: FolderFrames(c.path, c.pattern, c.fps, c.loop),
    RecordingSource: _recording,
    CameraSource: lambda c: OpenCVCapture(c.index, live=True, fps=c.fps),
    StreamSource: _stream,
}


def make_source(config: SourceConfig) -> FrameSource:
    """The source plugin the config's ``type`` names."""
    factory = SOURCE_FACTORIES.get(type(config))
    if factory is None:
        raise SourceError(f"unknown source type {config!r}")
    return factory(config)
