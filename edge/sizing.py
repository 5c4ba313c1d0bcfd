"""Line sizing: from belt speed, item size and the smallest defect to the camera, lens and box.

Pure functions over a :class:`LineSpec` (what the line is) and the catalogue in
``hardware/targets.toml`` (what a factory can buy). ``peakline edge size`` prints the report;
the worked examples in ``hardware/README.md`` are checked by ``tests/edge/test_sizing.py``.

Geometry (free-running area-scan camera looking straight down on the belt):

* resolution: ``mm_per_px = smallest_defect / px_per_defect``;
* field of view across the belt: the belt width when given, else the item plus a margin each
  side; along the belt: one item plus one pitch, so an item is wholly in view over one pitch of
  travel and ``views_per_item`` frames must fall in that travel: ``fps = views * v / pitch``;
* exposure against motion blur: the item may move at most ``max_blur_px`` pixels while the
  shutter is open: ``t_exp <= max_blur_px * mm_per_px / v``;
* latency budget: the time from the item leaving the view to reaching the reject station,
  less the actuator's own response time.

With ``trigger="photo-eye"`` a sensor fires the camera once per item (one view): the view along
the belt is the item plus the margin each side, and the frame rate is the item rate per lane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from edge.targets import (
    DEFAULT_TARGETS,
    Camera,
    EdgeDevice,
    Lens,
    Targets,
    Throughput,
    load_targets,
)
from peakline.errors import ConfigError

__all__ = [
    "DEFAULT_TARGETS",
    "Camera",
    "CameraFit",
    "DeviceFit",
    "EdgeDevice",
    "Lens",
    "LineSpec",
    "Requirements",
    "Targets",
    "Throughput",
    "fit_camera",
    "fit_device",
    "load_targets",
    "requirements",
]

@dataclass(frozen=True)
class LineSpec:
    """What the line is: belt, items, the defect to see and where the reject station sits."""

    belt_speed_m_s: float
    item_length_mm: float
    pitch_mm: float
    smallest_defect_mm: float
    reject_distance_m: float
    px_per_defect: float = 3.0
    item_width_mm: float | None = None
    belt_width_mm: float | None = None
    lanes: int = 1
    margin_mm: float = 10.0
    views_per_item: int = 2
    max_blur_px: float = 1.0
    max_skew_px: float = 2.0
    actuator_ms: float = 20.0
    working_distance_mm: float = 400.0
    headroom: float = 2.0
    trigger: Literal["free-run", "photo-eye"] = "free-run"

    def __post_init__(self) -> None:
        positive = {
            "belt_speed_m_s": self.belt_speed_m_s,
            "item_length_mm": self.item_length_mm,
            "pitch_mm": self.pitch_mm,
            "smallest_defect_mm": self.smallest_defect_mm,
            "px_per_defect": self.px_per_defect,
            "max_blur_px": self.max_blur_px,
            "working_distance_mm": self.working_distance_mm,
            "headroom": self.headroom,
        }
        for name, value in positive.items():
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be a positive number, got {value}")
        if self.pitch_mm < self.item_length_mm:
            raise ConfigError(
                f"pitch_mm ({self.pitch_mm}) is less than item_length_mm ({self.item_length_mm}):"
                " items would overlap"
            )
        if self.reject_distance_m < 0 or self.margin_mm < 0 or self.actuator_ms < 0:
            raise ConfigError("reject_distance_m, margin_mm and actuator_ms must be >= 0")
        if self.lanes < 1 or self.views_per_item < 1:
            raise ConfigError("lanes and views_per_item must be at least 1")
        if self.trigger not in ("free-run", "photo-eye"):
            raise ConfigError(f"trigger must be free-run or photo-eye, got {self.trigger!r}")
        if self.trigger == "photo-eye" and self.views_per_item != 1:
            raise ConfigError("a photo-eye trigger takes one view per item (views_per_item=1)")
        if self.lanes > 1 and self.belt_width_mm is None:
            raise ConfigError("with more than one lane, give belt_width_mm (the view spans it)")


@dataclass(frozen=True)
class Requirements:
    """What the line asks of a camera and an edge box."""

    mm_per_px: float
    fov_across_mm: float
    fov_along_mm: float
    px_across: int
    px_along: int
    fps: float
    exposure_max_us: float
    items_per_s: float
    inferences_per_s: float
    latency_budget_ms: float
    decision_budget_ms: float
    data_rate_mb_s: float


def requirements(spec: LineSpec) -> Requirements:
    """Field of view, resolution, frame rate, exposure limit, throughput and latency budget."""
    v_mm_s = spec.belt_speed_m_s * 1000.0
    mm_per_px = spec.smallest_defect_mm / spec.px_per_defect
    width = spec.item_width_mm if spec.item_width_mm is not None else spec.item_length_mm
    fov_across = (
        spec.belt_width_mm if spec.belt_width_mm is not None else width + 2 * spec.margin_mm
    )
    if spec.trigger == "photo-eye":  # one frame per item, centred by the trigger
        fov_along = spec.item_length_mm + 2 * spec.margin_mm
        fps = v_mm_s / spec.pitch_mm
    else:
        fov_along = spec.item_length_mm + spec.pitch_mm
        fps = spec.views_per_item * v_mm_s / (fov_along - spec.item_length_mm)
    px_across = math.ceil(fov_across / mm_per_px - 1e-9)
    px_along = math.ceil(fov_along / mm_per_px - 1e-9)
    items_per_s = spec.lanes * v_mm_s / spec.pitch_mm
    budget_ms = spec.reject_distance_m * 1000.0 / v_mm_s * 1000.0
    return Requirements(
        mm_per_px=mm_per_px,
        fov_across_mm=fov_across,
        fov_along_mm=fov_along,
        px_across=px_across,
        px_along=px_along,
        fps=fps,
        exposure_max_us=spec.max_blur_px * mm_per_px / v_mm_s * 1e6,
        items_per_s=items_per_s,
        inferences_per_s=items_per_s * spec.views_per_item,
        latency_budget_ms=budget_ms,
        decision_budget_ms=budget_ms - spec.actuator_ms,
        data_rate_mb_s=px_across * px_along * fps / 1e6,
    )


@dataclass
class CameraFit:
    """Verdict on one camera (and the longest listed lens that works with it)."""

    camera: Camera
    fits: bool
    reasons: list[str] = field(default_factory=list)
    rotated: bool = False
    px_per_defect: float = 0.0
    focal_mm_max: float = 0.0
    lens: Lens | None = None


def _sensor_fit(cam: Camera, req: Requirements) -> tuple[bool, float]:
    """(rotated, achieved mm per pixel) with the orientation that resolves finest."""
    plain = max(req.fov_across_mm / cam.width_px, req.fov_along_mm / cam.height_px)
    turned = max(req.fov_across_mm / cam.height_px, req.fov_along_mm / cam.width_px)
    return (turned < plain, min(plain, turned))


def fit_camera(cam: Camera, spec: LineSpec, req: Requirements, lenses: list[Lens]) -> CameraFit:
    """Does ``cam`` resolve the defect, reach the frame rate and freeze the motion?"""
    rotated, mm_px = _sensor_fit(cam, req)
    fit = CameraFit(cam, True, rotated=rotated, px_per_defect=spec.smallest_defect_mm / mm_px)
    v_mm_s = spec.belt_speed_m_s * 1000.0
    if mm_px > req.mm_per_px * (1 + 1e-9):
        fit.reasons.append(
            f"resolution: {cam.width_px}x{cam.height_px} px gives {fit.px_per_defect:.1f} px"
            f" across the {spec.smallest_defect_mm:g} mm defect, needs {spec.px_per_defect:g}"
            f" (field of view {req.px_across}x{req.px_along} px)"
        )
    if cam.max_fps < req.fps:
        fit.reasons.append(f"frame rate: {cam.max_fps:g} fps, needs {req.fps:.1f}")
    if cam.min_exposure_us > req.exposure_max_us:
        fit.reasons.append(
            f"exposure: shortest is {cam.min_exposure_us:g} us, motion blur needs"
            f" <= {req.exposure_max_us:.0f} us"
        )
    if spec.trigger == "photo-eye" and not cam.hardware_trigger:
        fit.reasons.append("trigger: no hardware trigger input for the photo-eye")
    if cam.shutter == "rolling":
        skew_px = v_mm_s * (1.0 / cam.max_fps) / mm_px
        if skew_px > spec.max_skew_px:
            fit.reasons.append(
                f"rolling shutter: the item moves {skew_px:.0f} px during readout"
                f" (limit {spec.max_skew_px:g} px); use a global shutter"
            )
    fit.fits = not fit.reasons
    _choose_lens(fit, spec, req, lenses)
    return fit


def _choose_lens(fit: CameraFit, spec: LineSpec, req: Requirements, lenses: list[Lens]) -> None:
    """The longest listed lens whose field of view at the working distance still covers the
    required one without losing the resolution (thin-lens model; C lenses fit CS cameras with
    a 5 mm adapter; a fixed-lens camera is framed by its working distance alone)."""
    cam = fit.camera
    if cam.mount == "fixed":
        return
    w, h = (cam.height_px, cam.width_px) if fit.rotated else (cam.width_px, cam.height_px)
    sensor_across, sensor_along = w * cam.pixel_um / 1000.0, h * cam.pixel_um / 1000.0
    diag = math.hypot(sensor_across, sensor_along)
    magnification = min(sensor_across / req.fov_across_mm, sensor_along / req.fov_along_mm)
    wd = spec.working_distance_mm
    fit.focal_mm_max = wd * magnification / (1 + magnification)
    best: Lens | None = None
    for lens in lenses:
        mount_ok = lens.mount == cam.mount or (lens.mount, cam.mount) == ("C", "CS")
        if not mount_ok or lens.max_sensor_diag_mm < diag or lens.focal_mm >= wd:
            continue
        m = lens.focal_mm / (wd - lens.focal_mm)
        fov_across, fov_along = sensor_across / m, sensor_along / m
        covers = fov_across >= req.fov_across_mm and fov_along >= req.fov_along_mm
        sharp = max(fov_across / w, fov_along / h) <= req.mm_per_px * (1 + 1e-9)
        if covers and sharp and (best is None or lens.focal_mm > best.focal_mm):
            best = lens
    fit.lens = best
    if fit.fits and best is None:
        fit.reasons.append(
            f"lens: no listed {cam.mount}-mount lens works at {wd:g} mm; needs a focal length"
            f" <= {fit.focal_mm_max:.1f} mm that keeps {spec.px_per_defect:g} px per defect"
            " (change the working distance or add a lens)"
        )
        fit.fits = False


@dataclass
class DeviceFit:
    """Verdict on one edge device: fits, does not fit, or not measured yet."""

    device: EdgeDevice
    verdict: Literal["fits", "does not fit", "unmeasured"]
    reasons: list[str] = field(default_factory=list)
    best: Throughput | None = None


def fit_device(device: EdgeDevice, spec: LineSpec, req: Requirements) -> DeviceFit:
    """Compare the device's best measured throughput with the line's inferences per second
    (times ``headroom``) and its batch latency with the decision budget."""
    if not device.measured:
        tops = f"datasheet {device.datasheet_int8_tops:g} INT8 TOPS; " if (
            device.datasheet_int8_tops) else ""
        return DeviceFit(device, "unmeasured", [
            f"{tops}not measured: run `peakline edge bench-ep` on it"
        ])
    best = max(device.measured, key=lambda t: t.images_per_s)
    reasons = []
    need = req.inferences_per_s * spec.headroom
    if best.images_per_s < need:
        reasons.append(
            f"throughput: {best.images_per_s:.0f} images/s on {best.ep} ({best.source}),"
            f" needs {need:.0f} ({req.inferences_per_s:.1f}/s x {spec.headroom:g} headroom)"
        )
    frame_ms = 1000.0 / req.fps
    if best.batch_latency_ms + frame_ms > req.decision_budget_ms:
        reasons.append(
            f"latency: a batch takes {best.batch_latency_ms:.1f} ms plus {frame_ms:.0f} ms"
            f" frame interval, the decision budget is {req.decision_budget_ms:.0f} ms"
        )
    return DeviceFit(device, "does not fit" if reasons else "fits", reasons, best)
