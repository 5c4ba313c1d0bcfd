"""Finding items on the belt and tracking them, so each item is judged once.

:class:`ItemFinder` builds a foreground mask of the belt region at ``1/downscale`` resolution
(warm-coloured items on a neutral belt by R-B, difference from a learned belt
background, or a fixed grey threshold), cleans it with one
morphological open and takes connected components; each box is then refined at full
resolution inside a small window. :class:`Tracker` follows items along the belt (predicted
by the belt speed, greedy nearest matching) and says when to judge each one: the frames where
it is fully in view and closest to the frame centre (``judge_frames`` around it). An item that
touches the frame edge is never judged; a track that was judged is never judged again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge.config_sections import BeltConfig

__all__ = ["ItemFinder", "Judge", "Track", "Tracker"]

Box = tuple[int, int, int, int]


class ItemFinder:
    """Foreground boxes ``(x, y, w, h)`` of the items in the belt region of a frame."""

    def __init__(self, belt: BeltConfig, width: int, height: int) -> None:
        self.belt = belt
        self.width = width
        self.height = height
        self.y0 = min(belt.y0, height - 1)
        self.y1 = min(belt.y1, height)
        self.d = belt.downscale
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._bg: np.ndarray | None = None
        self._warm: list[np.ndarray] = []
        self.min_area = belt.min_area / (self.d * self.d)
        self.max_area = belt.max_area / (self.d * self.d)

    def _feature(self, region: np.ndarray, x0: int = 0, y0: int = 0) -> np.ndarray:
        """uint8 image that is high on items: R-B (color), grey level, or |grey - belt|."""
        method = self.belt.method
        if method == "color":
            return cv2.subtract(region[:, :, 2], region[:, :, 0])
        gray = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY)
        if method == "threshold":
            return gray if self.belt.polarity == "brighter" else cv2.bitwise_not(gray)
        bg = self._background(gray) if x0 < 0 else self._bg_window(x0, y0, gray.shape)
        if bg is None:
            return np.zeros_like(gray)
        return cv2.absdiff(gray, bg)

    def _background(self, gray: np.ndarray) -> np.ndarray:
        """The learned belt at 1/downscale: median of the first frames, then a slow update."""
        if self._bg is None:
            self._warm.append(gray)
            bg = np.median(np.stack(self._warm), axis=0).astype(np.float32)
            if len(self._warm) >= 9:
                self._bg, self._warm = bg, []
            return bg.astype(np.uint8)
        return self._bg.astype(np.uint8)

    def _bg_window(self, x0: int, y0: int, shape: tuple[int, ...]) -> np.ndarray | None:
        if self._bg is None:
            return None
        d = self.d
        ys = np.clip((np.arange(y0, y0 + shape[0]) - self.y0) // d, 0, self._bg.shape[0] - 1)
        xs = np.clip(np.arange(x0, x0 + shape[1]) // d, 0, self._bg.shape[1] - 1)
        return self._bg[np.ix_(ys, xs)].astype(np.uint8)

    def find(self, frame: np.ndarray, exact: bool = True) -> np.ndarray:
        """``(n, 4)`` int32 boxes in frame pixels, left to right.

        With ``exact=False`` the boxes are the coarse ones (within ``downscale`` pixels); the
        tracker refines only the boxes it may judge (:meth:`refine`), which saves most of the
        per-frame work.
        """
        small = frame[self.y0 : self.y1 : self.d, :: self.d]
        feature = self._feature(small, -1)
        mask = cv2.threshold(feature, self.belt.threshold, 255, cv2.THRESH_BINARY)[1]
        if self.belt.method == "background" and self._bg is not None:
            gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
            cv2.accumulateWeighted(gray, self._bg, 0.02, mask=cv2.bitwise_not(mask))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        stats = stats[1:n]
        area = stats[:, cv2.CC_STAT_AREA]
        keep = stats[(area >= self.min_area) & (area <= self.max_area)]
        if not len(keep):
            return np.zeros((0, 4), dtype=np.int32)
        boxes = keep[:, :4].astype(np.int32) * self.d
        boxes[:, 1] += self.y0
        if exact:
            boxes = np.stack([self.refine(frame, b) for b in boxes])
        return boxes[np.argsort(boxes[:, 0], kind="stable")]

    def refine(self, frame: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The exact box: each coarse edge searched in a strip ``2 * downscale`` pixels wide."""
        d = self.d
        if d == 1:
            return box
        x0, y0 = max(int(box[0]) - d, 0), max(int(box[1]) - d, self.y0)
        x1 = min(int(box[0] + box[2]) + d, self.width)
        y1 = min(int(box[1] + box[3]) + d, self.y1)
        s = 2 * d
        left = self._first(frame, x0, y0, min(x0 + s, x1), y1, axis=0, last=False)
        right = self._first(frame, max(x1 - s, x0), y0, x1, y1, axis=0, last=True)
        top = self._first(frame, x0, y0, x1, min(y0 + s, y1), axis=1, last=False)
        bottom = self._first(frame, x0, max(y1 - s, y0), x1, y1, axis=1, last=True)
        if None in (left, right, top, bottom):
            return box
        assert left is not None and right is not None and top is not None and bottom is not None
        return np.array([left, top, right - left + 1, bottom - top + 1], dtype=np.int32)

    def _first(
        self, frame: np.ndarray, x0: int, y0: int, x1: int, y1: int, axis: int, last: bool
    ) -> int | None:
        """First (or last) column (axis=0) or row (axis=1) of a strip with >= 2 item pixels."""
        sel = self._feature(frame[y0:y1, x0:x1], x0, y0) > self.belt.threshold
        idx = np.flatnonzero(np.count_nonzero(sel, axis=axis) >= 2)
        if not len(idx):
            return None
        return (x0 if axis == 0 else y0) + int(idx[-1] if last else idx[0])


def _box(b: np.ndarray) -> Box:
    return (int(b[0]), int(b[1]), int(b[2]), int(b[3]))


@dataclass(slots=True)
class Track:
    """One item followed along the belt."""

    id: int
    box: Box
    frame: int
    missed: int = 0
    judged: int = 0
    done: bool = False
    frames: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Judge:
    """Judge ``item`` in this frame at ``box``; ``last`` when it is the item's final view."""

    item: int
    box: Box
    last: bool


class Tracker:
    """Follows boxes across frames and emits :class:`Judge` records, once per item."""

    def __init__(self, belt: BeltConfig, width: int, height: int, fps: float) -> None:
        self.belt = belt
        self.width = width
        self.height = height
        sign = 1.0 if belt.direction == "left_to_right" else -1.0
        self.v = sign * belt.speed_px_s / fps  # pixels per frame
        self.tracks: dict[int, Track] = {}
        self.next_id = 0
        self.closed: list[tuple[int, int]] = []  # (item, judged) of tracks lost before `last`
        self.unjudged = 0  # items that left without a full view
        self._refine_fn: Callable[[np.ndarray], np.ndarray] | None = None
        self._slack = 0

    def _full(self, box: Box, slack: int = 0) -> bool:
        m = self.belt.edge_margin + slack
        x, y, w, h = box
        return (
            x > m and y > m and x + w < self.width - m and y + h < self.height - m
            and y >= self.belt.y0 + slack and y + h <= self.belt.y1 - slack
        )

    def _due(self, box: Box, slack: int = 0) -> bool:
        """Whether this view is at or past the judging point (the most centred view)."""
        cx = box[0] + box[2] / 2.0
        lead = (self.belt.judge_frames // 2) * abs(self.v) + abs(self.v) / 2.0 + slack
        c = self.width / 2.0
        return cx >= c - lead if self.v >= 0 else cx <= c + lead

    def update(
        self,
        frame: int,
        boxes: np.ndarray,
        refine: Callable[[np.ndarray], np.ndarray] | None = None,
        slack: int = 0,
    ) -> list[Judge]:
        """Match this frame's boxes to tracks; the items to judge in this frame.

        ``refine`` turns a coarse box (within ``slack`` pixels) into the exact one; it is called
        only for the boxes that may be judged in this frame.
        """
        self._refine_fn, self._slack = refine, slack
        tracks = list(self.tracks.values())
        matched: dict[int, int] = {}
        if tracks and len(boxes):
            pred = np.array(
                [t.box[0] + t.box[2] / 2 + self.v * (frame - t.frame) for t in tracks]
            )
            py = np.array([t.box[1] + t.box[3] / 2 for t in tracks])
            cx = boxes[:, 0] + boxes[:, 2] / 2
            cy = boxes[:, 1] + boxes[:, 3] / 2
            cost = np.abs(pred[:, None] - cx[None, :]) + np.abs(py[:, None] - cy[None, :])
            gate = np.maximum(boxes[:, 2], boxes[:, 3])[None, :] * 0.5 + abs(self.v)
            cost[cost > gate] = np.inf
            for flat in np.argsort(cost, axis=None):
                ti, bi = divmod(int(flat), len(boxes))
                if not np.isfinite(cost[ti, bi]):
                    break
                if ti in matched or bi in matched.values():
                    continue
                matched[ti] = bi
        used = set(matched.values())
        out: list[Judge] = []
        for ti, track in enumerate(tracks):
            if ti in matched:
                b = boxes[matched[ti]]
                track.box = (int(b[0]), int(b[1]), int(b[2]), int(b[3]))
                track.frame = frame
                track.missed = 0
                judge = self._maybe_judge(track)
                if judge:
                    out.append(judge)
            else:
                track.missed += 1
                if track.missed > self.belt.max_missed or self._gone(track, frame):
                    self._close(track)
        for bi in range(len(boxes)):
            if bi in used:
                continue
            b = boxes[bi]
            track = Track(self.next_id, (int(b[0]), int(b[1]), int(b[2]), int(b[3])), frame)
            self.next_id += 1
            self.tracks[track.id] = track
            judge = self._maybe_judge(track)
            if judge:
                out.append(judge)
        return out

    def _maybe_judge(self, track: Track) -> Judge | None:
        if track.done:
            return None
        if self._refine_fn is not None and track.judged == 0:
            if not self._full(track.box, -self._slack) or not self._due(track.box, self._slack):
                return None
            track.box = _box(self._refine_fn(np.asarray(track.box, dtype=np.int32)))
        elif self._refine_fn is not None and self._full(track.box, -self._slack):
            track.box = _box(self._refine_fn(np.asarray(track.box, dtype=np.int32)))
        if not self._full(track.box):
            if track.judged:  # leaving the view before judge_frames views: decide on those
                track.done = True
                self.closed.append((track.id, track.judged))
            return None
        if not self._due(track.box):
            return None
        track.judged += 1
        track.frames.append(track.frame)
        last = track.judged >= self.belt.judge_frames
        track.done = last
        return Judge(track.id, track.box, last)

    def _gone(self, track: Track, frame: int) -> bool:
        x = track.box[0] + self.v * (frame - track.frame)
        return x > self.width or x + track.box[2] < 0

    def _close(self, track: Track) -> None:
        del self.tracks[track.id]
        if track.judged and not track.done:
            self.closed.append((track.id, track.judged))
        elif not track.judged:
            self.unjudged += 1

    def last_views(
        self, frame: int, refine: Callable[[np.ndarray], np.ndarray] | None = None
    ) -> list[Judge]:
        """End of the source: judge items fully in view in the last frame, not judged yet.

        They never reached the judging point; their last view is the best one there is.
        """
        out = []
        for track in self.tracks.values():
            if track.frame != frame or track.judged:
                continue
            if refine is not None:
                track.box = _box(refine(np.asarray(track.box, dtype=np.int32)))
            if self._full(track.box):
                track.judged, track.done = 1, True
                track.frames.append(frame)
                out.append(Judge(track.id, track.box, True))
        return out

    def finish(self) -> None:
        """End of the source: close every open track."""
        for track in list(self.tracks.values()):
            self._close(track)
