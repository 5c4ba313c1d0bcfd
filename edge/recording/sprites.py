"""Pre-rendered mooncake sprites: one good or defective cake, seen from above, drawn once per item.

A sprite is premultiplied: compositing it onto a frame region is ``region * mult + add``, where
``mult`` holds ``1 - alpha`` darkened by the cake's soft shadow and ``add`` the cake's colour times
alpha. Everything is vectorised numpy/OpenCV over the sprite's own pixels, so a cake costs a few
milliseconds once and nothing per frame beyond two multiply-adds.

The cake: a scalloped rim (a fluted mould), a domed top with an embossed motif (a raised ring,
petals and a centre seal from the recording's mould), golden browning that varies per item, an egg
wash highlight, and small shape variation. Each defect edits the height map, colour or outline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["DEFECTS", "CakeSpec", "Mould", "Sprite", "make_mould", "render_cake", "render_double"]

#: every defect label a recording can carry (``good`` is not a defect)
DEFECTS: tuple[str, ...] = (
    "crack",
    "burnt",
    "chipped",
    "deformed",
    "smeared_pattern",
    "foreign_object",
    "empty_slot",
    "double",
)

_LIGHT = np.array([-0.45, -0.55, 0.70], dtype=np.float32)
_LIGHT /= np.linalg.norm(_LIGHT)


@dataclass(frozen=True)
class Mould:
    """The mould that embosses every cake of a recording: flutes, petals and the centre seal."""

    flutes: int
    petals: int
    seal: np.ndarray  # (k, 4) strokes of the centre seal: x0, y0, x1, y1 in [-1, 1]


@dataclass(frozen=True)
class CakeSpec:
    """What one cake looks like: size, shape, colour and its defect (or ``good``)."""

    diameter: float
    label: str
    rotation: float  # radians
    ellipticity: float  # 0 = round
    browning: float  # 0 = pale golden, 1 = deep brown (still good)
    emboss: float  # depth of the top pattern
    seed: int
    severity: float = 1.0  # 1 = the full defect; lower values draw it smaller and fainter


@dataclass(frozen=True)
class Sprite:
    """A premultiplied cake image: ``frame = frame * mult + add`` over ``mult.shape``."""

    mult: np.ndarray  # (h, w, 3) float32
    add: np.ndarray  # (h, w, 3) float32, BGR
    bbox: tuple[int, int, int, int]  # the cake's own box inside the sprite: x, y, w, h


def make_mould(rng: np.random.Generator) -> Mould:
    """A random mould design: 12-18 flutes, 6-10 petals and a seal of 5-8 strokes."""
    strokes = []
    for _ in range(int(rng.integers(5, 9))):
        if rng.random() < 0.5:  # horizontal stroke
            y = rng.uniform(-0.8, 0.8)
            x0, x1 = sorted(rng.uniform(-0.8, 0.8, 2))
            strokes.append((x0, y, x1, y))
        else:
            x = rng.uniform(-0.8, 0.8)
            y0, y1 = sorted(rng.uniform(-0.8, 0.8, 2))
            strokes.append((x, y0, x, y1))
    return Mould(
        flutes=int(rng.integers(12, 19)),
        petals=int(rng.integers(6, 11)),
        seal=np.array(strokes, dtype=np.float32),
    )


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (size - 1) / 2.0
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return xs - c, ys - c


def _outline(cake: CakeSpec, mould: Mould, phi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Radius of the rim at each polar angle, in units of the nominal radius."""
    rel = phi - cake.rotation
    r = 1.0 + cake.ellipticity * np.cos(2.0 * rel) + 0.025 * np.cos(mould.flutes * rel)
    if cake.label == "deformed":
        kind = rng.integers(0, 3)
        if kind == 0:  # squashed
            amp = rng.uniform(0.13, 0.2) * _mild(cake, 0.4)
            r = r + amp * np.cos(2.0 * (rel - rng.uniform(0, math.pi)))
        elif kind == 1:  # a bulge where paste pushed out
            at = rng.uniform(0, 2 * math.pi)
            d = np.angle(np.exp(1j * (phi - at)))
            r = r + rng.uniform(0.18, 0.28) * _mild(cake, 0.4) * np.exp(-(d**2) / (2 * 0.35**2))
        else:  # a flat, dented side
            at = rng.uniform(0, 2 * math.pi)
            d = np.angle(np.exp(1j * (phi - at)))
            r = r - rng.uniform(0.2, 0.3) * _mild(cake, 0.4) * np.exp(-(d**2) / (2 * 0.45**2))
    return r.astype(np.float32)


def _pattern(
    mould: Mould, rho: np.ndarray, phi: np.ndarray, rot: float, size: int, radius: float
) -> np.ndarray:
    """Height of the embossed motif (0..1) over the sprite grid."""
    rel = phi - rot
    ring = np.exp(-(((rho - 0.62) / 0.035) ** 2)) + 0.8 * np.exp(-(((rho - 0.84) / 0.03) ** 2))
    petal_r = 0.28 + 0.16 * np.abs(np.cos(mould.petals * rel / 2.0))
    petals = np.exp(-(((rho - petal_r) / 0.03) ** 2)) * (rho < 0.58)
    seal: np.ndarray = np.zeros((size, size), np.float32)
    c = (size - 1) / 2.0
    ca, sa = math.cos(rot), math.sin(rot)
    scale = 0.2 * radius
    for x0, y0, x1, y1 in mould.seal:
        p = []
        for x, y in ((x0, y0), (x1, y1)):
            p.append((round(c + scale * (ca * x - sa * y)), round(c + scale * (sa * x + ca * y))))
        cv2.line(seal, p[0], p[1], 1.0, max(1, round(radius * 0.035)), cv2.LINE_AA)
    seal = cv2.GaussianBlur(seal, (0, 0), max(0.6, radius * 0.01))
    return (0.9 * ring + petals + seal).astype(np.float32)


def _mild(cake: CakeSpec, low: float) -> float:
    """A factor that is exactly 1 for a full-severity defect and ``low`` at severity 0."""
    return 1.0 if cake.severity >= 1.0 else low + (1.0 - low) * max(0.0, cake.severity)


def _inside(rng: np.random.Generator, r: float) -> np.ndarray:
    """A uniform random point of the disc of radius ``r`` (a defect that is on the cake)."""
    ang = rng.uniform(0, 2 * math.pi)
    return np.array([math.cos(ang), math.sin(ang)]) * r * math.sqrt(rng.uniform(0, 1))


def _random_walk(
    rng: np.random.Generator,
    start: np.ndarray,
    heading: float,
    length: float,
    step: float,
    wiggle: float,
) -> np.ndarray:
    n = max(2, int(length / step))
    turns = np.cumsum(rng.normal(0.0, wiggle, n))
    ang = heading + turns
    pts = start + np.cumsum(np.stack([np.cos(ang), np.sin(ang)], 1) * step, 0)
    return np.round(pts).astype(np.int32)


def render_cake(cake: CakeSpec, mould: Mould) -> Sprite:
    """Draw one cake (good or with its defect) as a premultiplied sprite."""
    rng = np.random.default_rng(cake.seed)
    radius = cake.diameter / 2.0
    size = math.ceil(cake.diameter * 1.45) | 1
    xs, ys = _grid(size)
    dist = np.hypot(xs, ys) + 1e-6
    phi = np.arctan2(ys, xs)
    rim = _outline(cake, mould, phi, rng) * radius
    alpha = np.clip(rim - dist + 0.5, 0.0, 1.0)
    rho = np.clip(dist / rim, 0.0, 1.2)

    # height: a dome with a raised lip, plus the emboss
    height = np.sqrt(np.clip(1.0 - rho**2, 0.0, 1.0)) * 0.35 * radius
    pattern = _pattern(mould, rho, phi, cake.rotation, size, radius)
    if cake.label == "smeared_pattern":
        if rng.random() < 0.5:  # smeared: dragged sideways
            k = int(radius * rng.uniform(0.35, 0.6) * _mild(cake, 0.3)) | 1
            kern: np.ndarray = np.zeros((k, k), np.float32)
            cv2.line(kern, (0, k // 2), (k - 1, k // 2), 1.0, 1)
            m = cv2.getRotationMatrix2D((k / 2, k / 2), float(rng.uniform(0, 180)), 1.0)
            kern = cv2.warpAffine(kern, m, (k, k))
            pattern = cv2.filter2D(pattern, -1, kern / max(kern.sum(), 1e-6))
        else:  # pattern missing: the mould was not pressed
            keep = rng.uniform(0.0, 0.15)
            pattern = pattern * (keep + (1.0 - _mild(cake, 0.4)) * (0.8 - keep))
    height = height + cake.emboss * pattern * 0.12 * radius
    color_shift = np.zeros((size, size), np.float32)  # > 0 darkens (browning)
    paste = np.zeros((size, size), np.float32)  # 0..1 where the dark filling shows

    if cake.label == "crack":
        for _ in range(int(rng.integers(1, 3))):
            at = rng.uniform(0, 2 * math.pi)
            start = np.array([math.cos(at), math.sin(at)]) * radius * 0.92 + (size - 1) / 2
            pts = _random_walk(
                rng,
                start,
                at + math.pi + rng.normal(0, 0.4),
                radius * rng.uniform(0.6, 1.2) * _mild(cake, 0.4),
                2.0,
                0.25,
            )
            crack = np.zeros((size, size), np.float32)
            width = max(2, round(radius * 0.04)) if cake.severity >= 1.0 else 1
            cv2.polylines(crack, [pts], False, _mild(cake, 0.5), width, cv2.LINE_AA)
            crack *= alpha
            paste = np.maximum(paste, crack)
            height -= crack * 0.08 * radius
    if cake.label == "burnt":
        for _ in range(int(rng.integers(1, 3))):
            c = _inside(rng, 0.6) * radius
            s = radius * rng.uniform(0.14, 0.28) * np.array([1.0, rng.uniform(0.6, 1.0)])
            s = s * _mild(cake, 0.5)
            blob = np.exp(-((((xs - c[0]) / s[0]) ** 2 + ((ys - c[1]) / s[1]) ** 2) ** 1.5))
            color_shift += 1.5 * _mild(cake, 0.6) * blob.astype(np.float32)
    if cake.label == "chipped":
        at = rng.uniform(0, 2 * math.pi)
        cr = radius * rng.uniform(0.22, 0.36) * _mild(cake, 0.45)
        cx, cy = math.cos(at) * radius * 0.97, math.sin(at) * radius * 0.97
        d = np.hypot(xs - cx, ys - cy)
        bite = np.clip(d - cr + 0.5, 0.0, 1.0)
        alpha = alpha * bite
        paste = np.maximum(paste, np.clip(1.0 - (d - cr) / (radius * 0.08), 0, 1) * alpha)
    if cake.label == "deformed":
        color_shift += 0.15 * rng.random()

    # shading from the height map's normals
    gy, gx = np.gradient(cv2.GaussianBlur(height, (0, 0), 1.0))
    norm = np.sqrt(gx**2 + gy**2 + 1.0)
    shade = (-gx * _LIGHT[0] - gy * _LIGHT[1] + _LIGHT[2]) / norm
    spec = np.clip(shade, 0, 1) ** 24 * 0.35

    brown = 0.1 + 0.7 * cake.browning + 0.35 * pattern * 0.5 + 0.3 * rho**6 + color_shift
    golden = np.array([70.0, 150.0, 215.0], np.float32)  # BGR
    dark = np.array([25.0, 55.0, 105.0], np.float32)
    t = np.clip(brown, 0.0, 1.6)[..., None] / 1.6
    base = golden * (1.0 - t) + dark * t
    burnt_mix = np.clip(color_shift - 0.6, 0, 1)[..., None]
    base = base * (1.0 - burnt_mix) + np.array([14.0, 18.0, 26.0], np.float32) * burnt_mix
    filling = np.array([35.0, 40.0, 80.0], np.float32)
    base = base * (1.0 - paste[..., None]) + filling * paste[..., None]
    color = base * (0.55 + 0.55 * shade[..., None]) + 255.0 * spec[..., None]

    if cake.label == "foreign_object":
        c0 = _inside(rng, 0.6) * radius + (size - 1) / 2
        if rng.random() < 0.5:  # a hair
            pts = _random_walk(
                rng, c0, rng.uniform(0, 2 * math.pi), radius * rng.uniform(0.6, 1.1), 2.0, 0.12
            )
            mark = np.zeros((size, size), np.float32)
            cv2.polylines(
                mark, [pts], False, _mild(cake, 0.6), 2 if cake.severity >= 0.6 else 1, cv2.LINE_AA
            )
            ink = np.array([12.0, 12.0, 15.0], np.float32)
        else:  # a plastic fleck
            k = int(rng.integers(4, 7))
            ang = np.sort(rng.uniform(0, 2 * math.pi, k))
            rr = radius * rng.uniform(0.07, 0.12) * rng.uniform(0.6, 1.0, k) * _mild(cake, 0.5)
            pts = np.round(c0 + np.stack([np.cos(ang) * rr, np.sin(ang) * rr], 1)).astype(np.int32)
            mark = np.zeros((size, size), np.float32)
            cv2.fillPoly(mark, [pts], 1.0, cv2.LINE_AA)
            ink = np.array(
                [(210, 120, 30), (60, 170, 40), (235, 235, 235), (40, 40, 200)][rng.integers(0, 4)],
                np.float32,
            )
        mark *= alpha
        color = color * (1.0 - mark[..., None]) + ink * mark[..., None]

    # a soft contact shadow, offset away from the light
    shadow_src = cv2.GaussianBlur(alpha, (0, 0), radius * 0.06)
    shift = np.array([[1, 0, radius * 0.05], [0, 1, radius * 0.07]], np.float32)
    shadow = cv2.warpAffine(shadow_src, shift, (size, size))
    mult = np.repeat(((1.0 - alpha) * (1.0 - 0.45 * shadow))[..., None], 3, axis=2)
    mult = mult.astype(np.float32)
    add = (np.clip(color, 0, 255) * alpha[..., None]).astype(np.float32)
    ys_in, xs_in = np.nonzero(alpha > 0.5)
    bbox = (int(xs_in.min()), int(ys_in.min()), int(np.ptp(xs_in) + 1), int(np.ptp(ys_in) + 1))
    return Sprite(mult=mult, add=add, bbox=bbox)


def render_double(
    first: CakeSpec, second: CakeSpec, mould: Mould, offset: tuple[float, float]
) -> Sprite:
    """Two cakes in one slot, the second drawn over the first at ``offset`` (pixels)."""
    a, b = render_cake(first, mould), render_cake(second, mould)
    ox, oy = round(offset[0]), round(offset[1])
    h = max(a.mult.shape[0], b.mult.shape[0]) + abs(oy)
    w = max(a.mult.shape[1], b.mult.shape[1]) + abs(ox)
    mult = np.ones((h, w, 3), np.float32)
    add = np.zeros((h, w, 3), np.float32)
    boxes = []
    for sprite, (px, py) in ((a, (max(0, -ox), max(0, -oy))), (b, (max(0, ox), max(0, oy)))):
        sh, sw = sprite.mult.shape[:2]
        mult[py : py + sh, px : px + sw] *= sprite.mult
        add[py : py + sh, px : px + sw] = add[py : py + sh, px : px + sw] * sprite.mult + sprite.add
        bx, by, bw, bh = sprite.bbox
        boxes.append((bx + px, by + py, bx + px + bw, by + py + bh))
    x0 = min(bb[0] for bb in boxes)
    y0 = min(bb[1] for bb in boxes)
    x1 = max(bb[2] for bb in boxes)
    y1 = max(bb[3] for bb in boxes)
    return Sprite(mult=mult, add=add, bbox=(x0, y0, x1 - x0, y1 - y0))
