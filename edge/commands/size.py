"""``peakline edge size``: size a camera, lens and edge box for one inspection line.

Prints what the line needs (field of view, resolution, frame rate, exposure limit, items per
second, latency budget) and, for every camera and edge device in hardware/targets.toml,
whether it fits and why not. --json prints the same as one JSON object.

Every figure is checked as it is read (errors name the option, --belt-speed); a figure no food
line has (a belt at 500 m/s: mm/s typed as m/s) gets a warning line on stderr.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from peakline.cliargs import ExistingFile, Number, integer, warn
from peakline.errors import ConfigError

__all__ = ["FLAGS", "register_size", "render_report", "size_report"]

#: LineSpec field -> the option a user types for it
FLAGS = {
    "belt_speed_m_s": "--belt-speed", "item_length_mm": "--item", "item_width_mm": "--item-width",
    "pitch_mm": "--pitch", "smallest_defect_mm": "--defect", "px_per_defect": "--px-per-defect",
    "reject_distance_m": "--reject-distance", "belt_width_mm": "--belt-width",
    "lanes": "--lanes", "margin_mm": "--margin", "views_per_item": "--views",
    "max_blur_px": "--blur-px", "max_skew_px": "--max-skew", "actuator_ms": "--actuator-ms",
    "working_distance_mm": "--working-distance", "headroom": "--headroom",
    "trigger": "--trigger",
}

#: (LineSpec field, unit, largest plausible value, what a larger one probably is)
PLAUSIBLE = [
    ("belt_speed_m_s", "m/s", 5.0,
     "food conveyors run at about 0.05-2 m/s; was it mm/s or m/min?"),
    ("reject_distance_m", "m", 20.0, "was it mm?"),
    ("item_length_mm", "mm", 2000.0, "was it micrometres?"),
    ("pitch_mm", "mm", 5000.0, "was it micrometres?"),
    ("working_distance_mm", "mm", 5000.0, "was it micrometres?"),
]
POSITIVE = Number(lo=0, lo_open=True)


def size_report(spec: Any, targets_path: Path | None = None) -> dict[str, Any]:
    """Requirements and per-target verdicts for ``spec`` (an ``edge.sizing.LineSpec``)."""
    from edge import sizing

    targets = sizing.load_targets(targets_path)
    req = sizing.requirements(spec)
    cameras = [sizing.fit_camera(cam, spec, req, targets.lenses) for cam in targets.cameras]
    devices = [sizing.fit_device(dev, spec, req) for dev in targets.edge_devices]
    return {
        "line": asdict(spec),
        "requirements": asdict(req),
        "cameras": [
            {
                "id": f.camera.id,
                "fits": f.fits,
                "rotated": f.rotated,
                "px_per_defect": round(f.px_per_defect, 2),
                "focal_mm_max": round(f.focal_mm_max, 1),
                "lens": f.lens.id if f.lens else None,
                "reasons": f.reasons,
            }
            for f in cameras
        ],
        "edge_devices": [
            {
                "id": d.device.id,
                "verdict": d.verdict,
                "eps": d.device.eps,
                "images_per_s": d.best.images_per_s if d.best else None,
                "source": d.best.source if d.best else None,
                "reasons": d.reasons,
            }
            for d in devices
        ],
    }


def render_report(report: dict[str, Any]) -> str:
    """The report as text for a person at the line."""
    r, line = report["requirements"], report["line"]
    out = [
        f"Line: belt {line['belt_speed_m_s']:g} m/s, item {line['item_length_mm']:g} mm at"
        f" {line['pitch_mm']:g} mm pitch, {line['lanes']} lane(s), smallest defect"
        f" {line['smallest_defect_mm']:g} mm at {line['px_per_defect']:g} px,"
        f" reject station {line['reject_distance_m']:g} m after the view",
        "",
        f"  resolution        {r['mm_per_px']:.3f} mm/px",
        f"  field of view     {r['fov_across_mm']:.0f} mm across x {r['fov_along_mm']:.0f} mm"
        f" along = {r['px_across']} x {r['px_along']} px",
        f"  frame rate        >= {r['fps']:.1f} fps"
        + (" (one triggered frame per item)" if line["trigger"] == "photo-eye"
           else f" ({line['views_per_item']} views per item)"),
        f"  exposure          <= {r['exposure_max_us']:.0f} us"
        f" (blur <= {line['max_blur_px']:g} px)",
        f"  items             {r['items_per_s']:.2f} /s; inferences {r['inferences_per_s']:.1f} /s",
        f"  latency budget    {r['latency_budget_ms']:.0f} ms from leaving the view to the reject"
        f" station; {r['decision_budget_ms']:.0f} ms after the actuator's"
        f" {line['actuator_ms']:g} ms",
        f"  image data        {r['data_rate_mb_s']:.1f} MB/s (8-bit mono)",
        "",
        "Cameras:",
    ]
    for cam in report["cameras"]:
        if cam["fits"]:
            lens = f"lens {cam['lens']}" if cam["lens"] else "fixed lens"
            turn = ", rotated 90 deg" if cam["rotated"] else ""
            out.append(f"  FITS   {cam['id']}: {cam['px_per_defect']:.1f} px per defect, {lens}"
                       f" (focal <= {cam['focal_mm_max']:.1f} mm){turn}")
        else:
            out.append(f"  no     {cam['id']}: " + "; ".join(cam["reasons"]))
    out += ["", "Edge devices:"]
    for dev in report["edge_devices"]:
        tag = {"fits": "FITS  ", "does not fit": "no    ", "unmeasured": "?     "}[dev["verdict"]]
        detail = (
            f"{dev['images_per_s']:.0f} images/s ({dev['source']})"
            if dev["images_per_s"] else "; ".join(dev["reasons"])
        )
        if dev["verdict"] == "does not fit":
            detail = "; ".join(dev["reasons"])
        out.append(f"  {tag} {dev['id']} [{', '.join(dev['eps'])}]: {detail}")
    return "\n".join(out)


def _in_flags(message: str) -> str:
    """``message`` with every LineSpec field name (``belt_speed_m_s``) replaced by its option;
    plain words (trigger, lanes) stay words."""
    names = "|".join(name for name in FLAGS if "_" in name)
    return re.sub(r"\b(" + names + r")\b", lambda m: FLAGS[m.group(1)], message)


def _size(args: argparse.Namespace) -> int:
    try:
        spec = _spec(args)
    except ConfigError as exc:
        raise ConfigError(_in_flags(str(exc))) from exc
    for name, unit, most, why in PLAUSIBLE:
        value = getattr(spec, name)
        if value > most:
            warn(args, f"{FLAGS[name]} {value:g} {unit} is more than {most:g} {unit}: {why}")
    report = size_report(spec, Path(args.targets) if args.targets else None)
    print(json.dumps(report, indent=2) if args.json else render_report(report))
    return 0


def _spec(args: argparse.Namespace) -> Any:
    from edge.sizing import LineSpec

    return LineSpec(
        belt_speed_m_s=args.belt_speed,
        item_length_mm=args.item,
        item_width_mm=args.item_width,
        pitch_mm=args.pitch,
        smallest_defect_mm=args.defect,
        px_per_defect=args.px_per_defect,
        reject_distance_m=args.reject_distance,
        belt_width_mm=args.belt_width,
        lanes=args.lanes,
        margin_mm=args.margin,
        views_per_item=args.views or (1 if args.trigger == "photo-eye" else 2),
        max_blur_px=args.blur_px,
        max_skew_px=args.max_skew,
        actuator_ms=args.actuator_ms,
        working_distance_mm=args.working_distance,
        headroom=args.headroom,
        trigger=args.trigger,
    )


def register_size(subparsers: Any) -> None:
    """Add ``size`` to the ``peakline edge`` sub-command group."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "size", help="size camera, lens and edge box for a line",
        description="\n\n".join(__doc__.split("\n\n")[1:]).strip() if __doc__ else None,
    )
    req = p.add_argument_group("the line")
    req.add_argument("--belt-speed", type=POSITIVE, required=True, help="belt speed, m/s")
    req.add_argument("--item", type=POSITIVE, required=True, help="item length along the belt, mm")
    req.add_argument("--pitch", type=POSITIVE, required=True,
                     help="item spacing centre to centre, mm")
    req.add_argument("--defect", type=POSITIVE, required=True, help="smallest defect to see, mm")
    req.add_argument("--reject-distance", type=Number(lo=0), required=True,
                     help="distance from the downstream edge of the view to the reject station, m")
    opt = p.add_argument_group("options")
    opt.add_argument("--px-per-defect", type=POSITIVE, default=3.0, help="pixels across the defect")
    opt.add_argument("--item-width", type=POSITIVE, help="item width across the belt, mm")
    opt.add_argument("--belt-width", type=POSITIVE, help="view the whole belt width, mm")
    opt.add_argument("--lanes", type=integer(1, 64), default=1,
                     help="items side by side across the belt")
    opt.add_argument("--margin", type=Number(lo=0), default=10.0,
                     help="margin each side across, mm")
    opt.add_argument("--trigger", choices=["free-run", "photo-eye"], default="free-run",
                     help="free-running camera, or one triggered frame per item")
    opt.add_argument("--views", type=integer(1, 100), help="frames each item must be seen whole in"
                     " (default 2 free-running, 1 with a photo-eye)")
    opt.add_argument("--blur-px", type=POSITIVE, default=1.0, help="allowed motion blur, px")
    opt.add_argument("--max-skew", type=POSITIVE, default=2.0,
                     help="rolling-shutter skew limit, px")
    opt.add_argument("--actuator-ms", type=Number(lo=0), default=20.0,
                     help="reject actuator response")
    opt.add_argument("--working-distance", type=POSITIVE, default=400.0, help="lens to belt, mm")
    opt.add_argument("--headroom", type=Number(lo=1), default=2.0, help="compute headroom factor")
    opt.add_argument("--targets", type=ExistingFile("TOML catalogue"),
                     help="hardware catalogue (default: hardware/targets.toml)")
    opt.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=_size)
