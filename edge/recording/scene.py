"""The synthetic production line: belt, slots, cakes, lighting and sensor, frame by frame.

:class:`LineScene` plans every slot of a recording up front from one seed (which slot holds which
cake, where exactly), pre-renders each cake's sprite once when it first comes into view, and draws a
frame as: the belt texture shifted by the belt travel, the cakes composited on it, a short
horizontal motion blur, the lighting (a fixed falloff times a slow drift and a per-frame mains
flicker) and sensor noise from a small pre-drawn bank. The same seed gives the same frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from edge.recording.sprites import (
    DEFECTS,
    CakeSpec,
    Mould,
    Sprite,
    make_mould,
    render_cake,
    render_double,
)

__all__ = ["LineConfig", "LineScene", "SlotPlan"]


@dataclass(frozen=True)
class LineConfig:
    """What the camera sees: frame size, rate, belt speed, slots and defect rate."""

    seed: int = 0
    product: int = 0  # the mould design; the same product on every recording by default
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    n_frames: int = 300
    belt_speed: float = 540.0  # px/s at 720p, scaled with height
    lanes: int = 2
    defect_rate: float = 0.1
    severity_min: float = 1.0  # defects drawn at a severity uniform in [severity_min, 1]
    exposure: float = 0.25  # fraction of the frame time the shutter is open (motion blur)
    noise_sigma: float = 2.0

    @property
    def scale(self) -> float:
        """Pixels per pixel-at-720p: every length scales with the frame height."""
        return self.height / 720.0

    @property
    def speed(self) -> float:
        return self.belt_speed * self.scale

    @property
    def belt_rows(self) -> tuple[int, int]:
        return round(0.11 * self.height), round(0.89 * self.height)

    @property
    def pitch(self) -> float:
        return 260.0 * self.scale

    @property
    def diameter_range(self) -> tuple[float, float]:
        return 145.0 * self.scale, 175.0 * self.scale


@dataclass
class SlotPlan:
    """One slot on the belt: its item id, label, where it sits and how its cake looks."""

    item: int
    label: str
    x0: float  # centre x at frame 0
    y: float  # centre y
    cakes: tuple[CakeSpec, ...]
    offset: tuple[float, float] = (0.0, 0.0)  # second cake of a double
    half_extent: float = 0.0  # conservative half width of the sprite
    sprite: Sprite | None = None


def _belt_texture(rng: np.random.Generator, length: int, rows: int, scale: float) -> np.ndarray:
    """A periodic belt strip (rows, length, 3) float32: woven texture, wear and seams."""
    pad = 16
    fine: np.ndarray = np.pad(
        rng.normal(0, 1, (rows, length)).astype(np.float32), ((0, 0), (pad, pad)), "wrap"
    )
    fine = cv2.GaussianBlur(fine, (0, 0), 0.8)[:, pad:-pad]
    cells = max(2, length // 40)
    grid = rng.normal(0, 1, (max(2, rows // 40), cells)).astype(np.float32)
    grid = np.pad(grid, ((0, 0), (2, 2)), "wrap")
    cell_w = length / cells
    wide = cv2.resize(grid, (round(cell_w * (cells + 4)), rows), interpolation=cv2.INTER_CUBIC)
    coarse = wide[:, round(2 * cell_w) : round(2 * cell_w) + length]
    xs = np.arange(length, dtype=np.float32)
    weave = 0.6 * np.sin(xs * 2 * math.pi / (6.0 * scale))[None, :] * np.ones((rows, 1), np.float32)
    lum = 150.0 + 5.0 * fine + 6.0 * coarse + 2.0 * weave
    seam_every = length // 2
    ys = np.arange(rows, dtype=np.float32)
    for s in range(seam_every // 2, length, seam_every):
        zig = s + 8.0 * scale * np.abs(((ys / (20.0 * scale)) % 2.0) - 1.0)  # finger splice
        d = np.abs(xs[None, :] - zig[:, None])
        lum -= 28.0 * np.exp(-((d / (2.0 * scale)) ** 2))
    tint = np.array([1.04, 1.0, 0.94], np.float32)  # a light blue-grey food belt (BGR)
    return np.ascontiguousarray(lum[..., None] * tint)


class LineScene:
    """Plans and draws a recording; ``frame(i)`` returns the BGR uint8 frame and its labels."""

    def __init__(self, config: LineConfig) -> None:
        self.config = c = config
        rng = np.random.default_rng(c.seed)
        self.mould: Mould = make_mould(np.random.default_rng([c.product, 7919]))
        self._plan_slots(rng)
        y0, y1 = c.belt_rows
        self._belt_len = round(c.pitch * 11)
        self._blur = max(1, round(c.speed / c.fps * c.exposure))
        # everything on the belt moves together, so its motion blur is drawn into the texture
        # and into each sprite once, not into every frame
        # the belt is part of the line, not of the recording: the same for every seed
        line_rng = np.random.default_rng([c.product, 104729])
        belt = self._motion_blur(_belt_texture(line_rng, self._belt_len, y1 - y0, c.scale))
        self._belt_phase = int(rng.integers(0, self._belt_len))
        self._belt = np.concatenate([belt, belt[:, : c.width]], axis=1)
        # static background: the machine frame above and below the belt
        bg = np.empty((c.height, c.width, 3), np.float32)
        rows = np.arange(c.height, dtype=np.float32)[:, None, None]
        bg[:] = 70.0 + 25.0 * np.cos(rows / c.height * 7.0)
        bg[y0 - max(2, round(6 * c.scale)) : y0] = 40.0
        bg[y1 : y1 + max(2, round(6 * c.scale))] = 40.0
        self._background = bg
        yy, xx = np.mgrid[0 : c.height, 0 : c.width].astype(np.float32)
        r2 = ((xx - c.width * 0.45) / c.width) ** 2 + ((yy - c.height * 0.5) / c.height) ** 2
        self._illum = np.repeat((1.05 - 0.5 * r2)[..., None], 3, axis=2).astype(np.float32)
        # lighting drift (slow) and flicker (per frame), sensor noise bank
        t = np.arange(c.n_frames) / c.fps
        walk = np.cumsum(rng.normal(0, 0.002, c.n_frames))
        drift = 0.05 * np.sin(2 * math.pi * t / 23.0 + rng.uniform(0, 6.3)) + walk - walk.mean()
        self._gain = (1.0 + drift + rng.normal(0, 0.012, c.n_frames)).astype(np.float32)
        self._noise_pick = rng.integers(0, 6, c.n_frames)
        self._noise_rng_seed = int(rng.integers(0, 2**31))
        self._noise: list[tuple[np.ndarray, np.ndarray]] | None = None

    # -- planning -------------------------------------------------------------------------
    def _plan_slots(self, rng: np.random.Generator) -> None:
        c = self.config
        sev_rng = np.random.default_rng([c.seed, 31337])
        y0, y1 = c.belt_rows
        lane_h = (y1 - y0) / c.lanes
        dmin, dmax = c.diameter_range
        travel = c.speed * c.n_frames / c.fps
        n_cols = math.ceil((c.width + travel + 2 * c.pitch) / c.pitch)
        kinds = list(DEFECTS)
        rng.shuffle(kinds)
        next_kind = 0
        slots: list[SlotPlan] = []
        for k in range(n_cols):
            for lane in range(c.lanes):
                stagger = 0.5 * c.pitch * (lane % 2)
                x0 = c.width + (0.6 - k) * c.pitch - stagger + rng.uniform(-12, 12) * c.scale
                y = y0 + (lane + 0.5) * lane_h + rng.uniform(-10, 10) * c.scale
                label = "good"
                if rng.random() < c.defect_rate:
                    label = kinds[next_kind % len(kinds)]
                    next_kind += 1
                    if next_kind % len(kinds) == 0:
                        rng.shuffle(kinds)
                d = rng.uniform(dmin, dmax)
                if label == "double":
                    d *= 0.88
                cakes = tuple(
                    CakeSpec(
                        diameter=d * (1.0 if i == 0 else rng.uniform(0.95, 1.05)),
                        label="good",
                        rotation=float(rng.uniform(0, 2 * math.pi)),
                        ellipticity=float(rng.uniform(0.0, 0.035)),
                        browning=float(rng.beta(2.0, 2.0)),
                        emboss=float(rng.uniform(0.8, 1.2)),
                        seed=int(rng.integers(0, 2**31)),
                    )
                    for i in range(2 if label == "double" else 1)
                )
                if label not in ("double", "empty_slot"):
                    severity = 1.0
                    if c.severity_min < 1.0:  # its own generator: the plan stays the same
                        severity = float(sev_rng.uniform(c.severity_min, 1.0))
                    cakes = (
                        CakeSpec(**{**cakes[0].__dict__, "label": label, "severity": severity}),
                    )
                offset = (0.0, 0.0)
                if label == "double":
                    side = float(rng.choice([-1, 1]))
                    offset = (d * rng.uniform(0.5, 0.65), d * side * rng.uniform(0.2, 0.4))
                half = 0.75 * d + abs(offset[0]) / 2 + 2
                slots.append(SlotPlan(len(slots), label, float(x0), float(y), cakes, offset, half))
        self.slots = slots

    def _motion_blur(self, img: np.ndarray) -> np.ndarray:
        if self._blur <= 1:
            return img
        return cv2.blur(img, (self._blur, 1), borderType=cv2.BORDER_REPLICATE)

    def _sprite(self, slot: SlotPlan) -> Sprite:
        if slot.sprite is None:
            if slot.label == "double":
                raw = render_double(slot.cakes[0], slot.cakes[1], self.mould, slot.offset)
            else:
                raw = render_cake(slot.cakes[0], self.mould)
            slot.sprite = Sprite(self._motion_blur(raw.mult), self._motion_blur(raw.add), raw.bbox)
        return slot.sprite

    def release_before(self, frame: int) -> None:
        """Drop the sprites of slots that have left the view before ``frame``."""
        for slot in self.slots:
            if slot.sprite is not None and self._left(slot) < frame:
                slot.sprite = None

    def _x(self, slot: SlotPlan, frame: int) -> float:
        return slot.x0 + round(self.config.speed * frame / self.config.fps)

    def _left(self, slot: SlotPlan) -> float:
        """The last frame in which the slot can still be in view."""
        c = self.config
        return (c.width + slot.half_extent - slot.x0) / c.speed * c.fps + 1

    # -- drawing --------------------------------------------------------------------------
    def _noise_bank(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._noise is None:
            c = self.config
            rng = np.random.default_rng(self._noise_rng_seed)
            bank = []
            for _ in range(6):
                n = rng.normal(0, c.noise_sigma, (c.height, c.width, 3))
                pos = np.clip(n, 0, 255).astype(np.uint8)
                bank.append((pos, np.clip(-n, 0, 255).astype(np.uint8)))
            self._noise = bank
        return self._noise

    def visible(self, frame: int) -> list[tuple[SlotPlan, int, int]]:
        """Slots in view at ``frame`` with the integer top-left of their sprite."""
        c = self.config
        out = []
        for slot in self.slots:
            x = self._x(slot, frame)
            if x - slot.half_extent >= c.width or x + slot.half_extent <= 0:
                continue
            sprite = self._sprite(slot)
            h, w = sprite.mult.shape[:2]
            out.append((slot, round(x - w / 2), round(slot.y - h / 2)))
        return out

    def frame(self, index: int) -> tuple[np.ndarray, list[dict]]:
        """Frame ``index`` as BGR uint8 and its label rows (see ``edge.recording.format``)."""
        c = self.config
        y0, y1 = c.belt_rows
        img = self._background.copy()
        start = (self._belt_phase - round(c.speed * index / c.fps)) % self._belt_len
        img[y0:y1] = self._belt[:, start : start + c.width]
        labels = []
        for slot, sx, sy in self.visible(index):
            sprite = self._sprite(slot)
            h, w = sprite.mult.shape[:2]
            ax0, ay0 = max(sx, 0), max(sy, 0)
            ax1, ay1 = min(sx + w, c.width), min(sy + h, c.height)
            if slot.label != "empty_slot" and ax1 > ax0 and ay1 > ay0:
                region = img[ay0:ay1, ax0:ax1]
                part = (slice(ay0 - sy, ay1 - sy), slice(ax0 - sx, ax1 - sx))
                cv2.multiply(region, sprite.mult[part], dst=region)
                cv2.add(region, sprite.add[part], dst=region)
            bx, by, bw, bh = sprite.bbox
            x0, yb0 = sx + bx, sy + by
            x1, yb1 = x0 + bw, yb0 + bh
            cx0, cy0, cx1, cy1 = max(x0, 0), max(yb0, 0), min(x1, c.width), min(yb1, c.height)
            if cx1 <= cx0 or cy1 <= cy0:
                continue
            full = x0 >= 0 and yb0 >= 0 and x1 <= c.width and yb1 <= c.height
            labels.append(
                {
                    "frame": index,
                    "item": slot.item,
                    "bbox": [cx0, cy0, cx1 - cx0, cy1 - cy0],
                    "label": slot.label,
                    "full": bool(full),
                }
            )
        lit = cv2.multiply(img, self._illum, scale=float(self._gain[index]))
        out = cv2.convertScaleAbs(lit)
        pos, neg = self._noise_bank()[int(self._noise_pick[index])]
        cv2.add(out, pos, dst=out)
        cv2.subtract(out, neg, dst=out)
        return out, labels
