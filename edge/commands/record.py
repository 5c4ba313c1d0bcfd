"""``peakline record``: write a seeded synthetic recording of a mooncake line, or export one as an
image-dataset folder (``--dataset``)."""

from __future__ import annotations

import argparse
import json

from peakline.cliargs import ExistingDir, Number, OutputDir, integer

__all__ = ["register"]

POSITIVE = Number(lo=0, lo_open=True)


def _record(args: argparse.Namespace) -> int:
    from edge.recording.dataset import export_dataset
    from edge.recording.recorder import record
    from peakline.errors import DataError

    if args.dataset and args.out is None and args.source:
        counts = export_dataset(args.source, args.dataset, size=args.crop_size, margin=args.margin)
        print(json.dumps({"dataset": args.dataset, "images": counts}))
        return 0
    if args.out is None:
        raise DataError("give --out DIR (or --from REC --dataset OUT to export a recording)")
    meta = record(
        args.out,
        seed=args.seed,
        product=args.product,
        seconds=args.minutes * 60.0 if args.seconds is None else args.seconds,
        fps=args.fps,
        width=args.width,
        height=args.height,
        defect_rate=args.defect_rate,
        severity_min=args.severity_min,
        belt_speed=args.belt_speed,
        lanes=args.lanes,
        fmt=args.format,
        progress=not args.quiet,
        overwrite=args.overwrite,
    )
    result: dict[str, object] = {
        "recording": args.out,
        "frames": meta.n_frames,
        "items": meta.n_items,
        "labels": meta.label_counts,
    }
    if args.dataset:
        result["dataset"] = args.dataset
        result["images"] = export_dataset(
            args.out, args.dataset, size=args.crop_size, margin=args.margin
        )
    print(json.dumps(result))
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``record`` options."""
    parser.add_argument("--out", type=OutputDir(), help="recording directory to write")
    parser.add_argument("--seed", type=integer(0), default=0,
                        help="random seed (same seed, same frames)")
    parser.add_argument(
        "--product",
        type=integer(0),
        default=0,
        help="product number: the mould design of the cakes (same on every seed)",
    )
    parser.add_argument("--minutes", type=POSITIVE, default=1.0, help="length in minutes")
    parser.add_argument("--seconds", type=POSITIVE, help="length in seconds (overrides --minutes)")
    parser.add_argument(
        "--format",
        choices=["mp4", "jpg"],
        default="mp4",
        help="frames as one MPEG-4 video or as JPEG files",
    )
    parser.add_argument("--fps", type=Number(0, 240, lo_open=True), default=30.0,
                        help="frames per second")
    parser.add_argument("--width", type=integer(320, 7680), default=1280, help="frame width")
    parser.add_argument("--height", type=integer(240, 4320), default=720, help="frame height")
    parser.add_argument(
        "--defect-rate",
        type=Number(0, 1),
        default=0.1,
        help="fraction of slots with a defect (defect types in turn)",
    )
    parser.add_argument(
        "--severity-min",
        type=Number(0, 1),
        default=1.0,
        help="draw defects at a severity uniform in [this, 1]: below 1, smaller and fainter ones",
    )
    parser.add_argument(
        "--belt-speed",
        type=POSITIVE,
        default=540.0,
        help="belt speed in px/s at 720p (scaled with --height)",
    )
    parser.add_argument("--lanes", type=integer(1, 12), default=2,
                        help="rows of cakes across the belt")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--dataset",
        metavar="OUT",
        type=OutputDir(),
        help="also write the items as a dataset folder (train/good, test/<defect>)",
    )
    parser.add_argument(
        "--from",
        dest="source",
        metavar="REC",
        type=ExistingDir("recording folder"),
        help="with --dataset and no --out: export this existing recording",
    )
    parser.add_argument("--crop-size", type=integer(16, 1024), default=160,
                        help="dataset image size in px")
    parser.add_argument(
        "--margin",
        type=Number(0, 1),
        default=0.15,
        help="crop margin around an item, as a fraction of its size",
    )
    parser.set_defaults(handler=_record)
