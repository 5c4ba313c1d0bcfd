"""``peakline model fit|calibrate|eval|card|export-crops``: build, calibrate, evaluate and inspect
inspection models (ONNX with a Peakline model card)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from edge.commands.options import Providers
from peakline.cliargs import (
    ExistingDir,
    ExistingFile,
    LazyChoices,
    Number,
    OutputDir,
    OutputFile,
    Text,
    integer,
)

__all__ = ["register"]

DATA = ExistingDir("recording or dataset folder")
MODEL = ExistingFile("ONNX model")
FRR = Number(0, 0.5, lo_open=True, hi_open=True, hint="a fraction: 0.01 means 1%")
MARGIN = Number(0, 1, hint="a fraction of the item's size")
THREADS = integer(1, 256)


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN becomes null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _feature_kinds() -> list[str]:
    from edge.model.backbone import BACKBONES

    return ["auto", "filters", *BACKBONES]


def _fit(args: argparse.Namespace) -> int:
    from edge.model.fit import fit_model

    flatten = {"auto": None, "on": True, "off": False}[args.flatten]
    card = fit_model(
        args.data,
        args.out,
        size=args.size,
        grid=args.grid,
        flatten=flatten,
        components=args.components,
        target_frr=args.target_frr,
        margin=args.margin,
        name=args.name,
        version=args.version,
        threads=args.threads,
        classifier=args.classifier,
        features=args.features,
        scoring=args.scoring,
        fit=args.fit,
        say=lambda line: print(line, file=sys.stderr),
    )
    print(
        f"wrote {args.out}: {card.name} {card.version}, {card.options['features']} "
        f"{card.options['scoring']} {card.input.width} px, grid {card.options['grid']}, "
        f"flatten {card.options['flatten']}, {card.calibration.n_good} good items, "
        f"reject >= {card.thresholds.reject:.4g}"
    )
    if card.calibration.trust:
        print(f"threshold: {card.calibration.trust}", file=sys.stderr)
    print(
        json.dumps(
            _clean(
                {
                    "model": args.out,
                    "version": card.version,
                    "thresholds": card.thresholds.model_dump(),
                    "calibration": card.calibration.model_dump(),
                    "metrics": card.metrics,
                }
            )
        )
    )
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from edge.model.evaluate import calibrate_model

    result = calibrate_model(
        args.model,
        args.data,
        args.target_frr,
        threads=args.threads,
        line=args.line,
        first=args.first,
        contamination=args.contamination,
    )
    if result["note"]:
        print(result["note"])
    print(json.dumps(_clean(result)))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from edge.model.evaluate import eval_model, format_report

    providers = args.providers or None
    report = eval_model(args.model, args.data, providers=providers, threads=args.threads)
    print(format_report(report))
    flat = {
        "model": report["model"]["version"],
        "data": report["data"]["path"],
        **{
            k: report["overall"][k]
            for k in ("auroc", "recall", "false_reject_rate", "escape_rate", "n_good", "n_defect")
        },
        "confusion": report["overall"]["confusion"],
        "per_defect": {
            k: {m: v[m] for m in ("auroc", "recall", "escape_rate", "n_defect")}
            for k, v in report["per_defect"].items()
        },
        "model_ms_per_item": round(report["model_ms_per_item"], 4),
    }
    if "naming" in report:
        flat["naming_accuracy"] = report["naming"]["accuracy"]
    print(json.dumps(_clean(flat)))
    return 0


def _card(args: argparse.Namespace) -> int:
    from edge.model.card import read_card

    print(read_card(args.model).model_dump_json(by_alias=True, indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    from edge.recording.dataset import export_dataset

    counts = export_dataset(args.data, args.out, size=args.size, margin=args.margin)
    print(json.dumps({"dataset": args.out, "images": counts}))
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``model`` and its sub-commands."""
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    fit = sub.add_parser("fit", help="fit a one-class anomaly model on good items")
    fit.add_argument("--data", required=True, type=DATA,
                     help="recording directory or dataset folder")
    fit.add_argument("--out", required=True, type=OutputFile("ONNX file"),
                     help="ONNX file to write")
    fit.add_argument("--size", type=integer(32, 1024, multiple_of=16),
                     help="model input size in px (default: chosen from the data and printed)")
    fit.add_argument("--features", default="auto", choices=LazyChoices(_feature_kinds),
                     metavar="FEATURES",
                     help="filters (hand-made filter bank), the stages of a pretrained "
                     "EfficientNet-Lite (lite0, lite1, lite2), or auto "
                     "(filters on a recording; on a dataset folder chosen on held-out goods)")
    fit.add_argument("--scoring", choices=["auto", "padim", "patchcore"], default="auto",
                     help="a Gaussian per cell (padim), the distance to the nearest good patch "
                     "(patchcore), or auto (padim on a recording; on a dataset folder chosen on "
                     "held-out goods)")
    fit.add_argument("--fit", choices=["stretch", "letterbox"], default="stretch",
                     help="how a non-square image fills the square input (kept in the card)")
    fit.add_argument("--grid", type=integer(1, 256),
                     help="pooling grid (default: size/4 for filters, size/8 for a backbone)")
    fit.add_argument(
        "--flatten",
        choices=["auto", "on", "off"],
        default="auto",
        help="illumination flattening (auto: chosen on held-out good items)",
    )
    fit.add_argument("--components", type=integer(1, 1024),
                     help="PCA components per cell (default: 16 for filters, at most a third "
                          "of the goods fitted on per fold; a backbone: all its channels)")
    fit.add_argument("--target-frr", type=FRR, default=0.01, help="target false-reject rate")
    fit.add_argument("--margin", type=MARGIN, default=0.15, help="crop margin (fraction of item)")
    fit.add_argument("--name", type=Text(), default="peakline-padim",
                     help="model name for the card")
    fit.add_argument("--version", type=Text(), help="model version (default: size and data digest)")
    fit.add_argument("--threads", type=THREADS, default=2, help="ONNX Runtime threads")
    fit.add_argument(
        "--classifier",
        action="store_true",
        help="also learn to name the defect type from the labelled defects in --data",
    )
    fit.set_defaults(handler=_fit)

    cal = sub.add_parser(
        "calibrate", help="set thresholds on held-out good items, or on the line's first items"
    )
    cal.add_argument("--model", required=True, type=MODEL, help="ONNX model to update")
    cal.add_argument("--data", required=True, type=DATA,
                     help="recording or dataset folder (good items; with --line every item)")
    cal.add_argument("--target-frr", type=FRR, default=0.01, help="target false-reject rate")
    cal.add_argument("--line", action="store_true",
                     help="learn from every item as it came down the line, labels unknown: "
                     "robust to a few percent of defects among them")
    cal.add_argument("--first", type=integer(3, 10**7),
                     help="only the first N items (in line order)")
    cal.add_argument("--contamination", type=Number(0, 0.2, lo_open=True, hint="a fraction"),
                     default=0.05, help="with --line: share of defects allowed among the items")
    cal.add_argument("--threads", type=THREADS, default=2, help="ONNX Runtime threads")
    cal.set_defaults(handler=_calibrate)

    ev = sub.add_parser("eval", help="AUROC, recall, false rejects and escapes per defect type")
    ev.add_argument("--model", required=True, type=MODEL, help="ONNX model with a Peakline card")
    ev.add_argument("--data", required=True, type=DATA,
                    help="recording or dataset folder (test/ split)")
    ev.add_argument("--providers", type=Providers(),
                    help="ONNX Runtime execution providers, comma-separated, preferred first "
                    "(default: the CPU)")
    ev.add_argument("--threads", type=THREADS, default=2, help="ONNX Runtime threads")
    ev.set_defaults(handler=_eval)

    card = sub.add_parser("card", help="print the model card")
    card.add_argument("--model", required=True, type=MODEL, help="ONNX model")
    card.set_defaults(handler=_card)

    exp = sub.add_parser("export-crops", help="write a recording's items as a dataset folder")
    exp.add_argument("--data", required=True, type=ExistingDir("recording folder"),
                     help="recording directory")
    exp.add_argument("--out", required=True, type=OutputDir(), help="dataset folder to create")
    exp.add_argument("--size", type=integer(16, 1024), default=160, help="image size in px")
    exp.add_argument("--margin", type=MARGIN, default=0.15, help="crop margin (fraction of item)")
    exp.set_defaults(handler=_export)
