"""Inspection model quality and speed on recordings the model never saw.

Records a training line (seed A, 10% defects) and a test line (seed B, 30% defects), fits the
one-class model on the training recording's good items, and evaluates it on the test recording:
image AUROC, recall, false-reject and escape rates per defect type. Then the same through the
dataset-folder layout (train/good from recording A, test/* from recording B, crops written as
PNG files); on a third recording whose defects are drawn smaller and fainter (severity 0.3..1,
no target: it shows where the model's limit is); and the model's inference time per item on 2
threads (batched). Prints tables and, as its last line, one JSON object.

    python bench/model_quality.py                 # 60 s + 60 s of line (a few minutes)
    python bench/model_quality.py --quick         # 20 s + 20 s, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.model.data import load_items
from edge.model.evaluate import eval_model, format_report
from edge.model.fit import fit_model
from edge.model.scorer import Scorer
from edge.recording.dataset import export_dataset
from edge.recording.recorder import record

TARGETS = {"auroc": 0.98, "escape_rate": 0.02, "false_reject_rate": 0.01, "ms_per_item": 1.0}


def _time_model(model: Path, data: Path, batch: int, threads: int, repeat: int) -> dict[str, float]:
    scorer = Scorer(model, threads=threads)
    items = load_items(data, scorer.spec, margin=scorer.card.crop.margin, with_digest=False)
    x = np.ascontiguousarray(items.x[:batch])
    if len(x) < batch:
        x = np.concatenate([x] * math.ceil(batch / len(x)))[:batch]
    for _ in range(3):
        scorer.score(x)
    times = []
    cpu0 = time.process_time()
    for _ in range(repeat):
        t0 = time.perf_counter()
        scorer.score(x)
        times.append((time.perf_counter() - t0) * 1000.0 / batch)
    cpu = (time.process_time() - cpu0) * 1000.0 / (batch * repeat)
    return {"best": min(times), "median": statistics.median(times), "cpu": cpu}


def _headline(report: dict[str, Any]) -> dict[str, Any]:
    o = report["overall"]
    return {
        "auroc": round(o["auroc"], 4),
        "recall": round(o["recall"], 4),
        "false_reject_rate": round(o["false_reject_rate"], 4),
        "escape_rate": round(o["escape_rate"], 4),
        "n_good": o["n_good"],
        "n_defect": o["n_defect"],
        "per_defect_auroc": {k: round(v["auroc"], 4) for k, v in report["per_defect"].items()},
        "per_defect_escape": {
            k: round(v["escape_rate"], 4) for k, v in report["per_defect"].items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-seconds", type=float, default=60.0)
    parser.add_argument("--test-seconds", type=float, default=60.0)
    parser.add_argument("--train-seed", type=int, default=101)
    parser.add_argument("--test-seed", type=int, default=202)
    parser.add_argument(
        "--subtle-seconds",
        type=float,
        default=60.0,
        help="length of a third recording (seed 303) with defects at severity 0.3..1; 0: skip",
    )
    parser.add_argument("--size", type=int, default=64, help="model input size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="20 s + 20 s of line")
    parser.add_argument("--workdir", help="keep recordings and models here (default: temp dir)")
    args = parser.parse_args()
    if args.quick:
        args.train_seconds = args.test_seconds = 20.0
        args.subtle_seconds = min(args.subtle_seconds, 20.0)

    with tempfile.TemporaryDirectory(prefix="peakline-bench-") as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        train, test = work / "train_rec", work / "test_rec"
        t0, c0 = time.perf_counter(), time.process_time()
        record(
            train,
            seed=args.train_seed,
            seconds=args.train_seconds,
            defect_rate=0.1,
            progress=False,
            overwrite=True,
        )
        rec_s, rec_cpu = time.perf_counter() - t0, time.process_time() - c0
        record(
            test,
            seed=args.test_seed,
            seconds=args.test_seconds,
            defect_rate=0.3,
            progress=False,
            overwrite=True,
        )

        model = work / "model.onnx"
        t0 = time.perf_counter()
        card = fit_model(train, model, size=args.size, threads=args.threads)
        fit_s = time.perf_counter() - t0
        rec_report = eval_model(model, test, threads=args.threads)
        print(
            f"== recording: fit on seed {args.train_seed} ({args.train_seconds:.0f} s), "
            f"evaluated on seed {args.test_seed} ({args.test_seconds:.0f} s)"
        )
        print(format_report(rec_report))

        ds = work / "dataset"
        if ds.exists():
            import shutil

            shutil.rmtree(ds)
        export_dataset(train, ds, test_fraction=0.0, prefix="a")
        export_dataset(test, ds, test_fraction=1.0, prefix="b", exist_ok=True)
        ds_model = work / "model_ds.onnx"
        fit_model(ds, ds_model, size=args.size, threads=args.threads)
        ds_report = eval_model(ds_model, ds, threads=args.threads)
        subtle_report = None
        if args.subtle_seconds > 0:
            subtle = work / "subtle_rec"
            record(
                subtle,
                seed=303,
                seconds=args.subtle_seconds,
                defect_rate=0.3,
                severity_min=0.3,
                progress=False,
                overwrite=True,
            )
            subtle_report = eval_model(model, subtle, threads=args.threads)
        print(
            "\n== dataset folder: train/good = good items of seed A; test/ = every item of "
            "seed B and the defects of seed A (never fitted on); 160 px PNG crops"
        )
        print(format_report(ds_report))
        if subtle_report is not None:
            print(
                "\n== subtle defects (no target): seed 303, defects drawn at severity 0.3..1 "
                "(smaller, fainter), same model"
            )
            print(format_report(subtle_report))

        timing = _time_model(model, test, args.batch, args.threads, repeat=30)
        load = os.getloadavg()[0]
        print(
            f"\n== model inference, batch {args.batch}, {args.threads} threads: "
            f"best {timing['best']:.3f} ms/item, median {timing['median']:.3f} ms/item, "
            f"CPU {timing['cpu']:.3f} ms/item summed over threads "
            f"(1-min load average {load:.1f} on {os.cpu_count()} cores)"
        )
        print(
            f"recorder: {args.train_seconds:.0f} s of 1280x720 line in {rec_s:.1f} s wall, "
            f"{rec_cpu:.1f} s CPU; "
            f"fit: {fit_s:.1f} s on {card.calibration.n_good} good items "
            f"(grid {card.options['grid']}, flatten {card.options['flatten']})"
        )

    rec_h = _headline(rec_report)
    result = {
        "bench": "model_quality",
        "recording": rec_h,
        "dataset_folder": _headline(ds_report),
        "subtle_defects": _headline(subtle_report) if subtle_report else None,
        "model_ms_per_item_best": round(timing["best"], 4),
        "model_ms_per_item_median": round(timing["median"], 4),
        "batch": args.batch,
        "threads": args.threads,
        "load_average_1min": round(load, 2),
        "model_cpu_ms_per_item": round(timing["cpu"], 4),
        "recorder_seconds_per_minute": round(rec_s * 60.0 / args.train_seconds, 2),
        "recorder_cpu_seconds_per_minute": round(rec_cpu * 60.0 / args.train_seconds, 2),
        "fit_seconds": round(fit_s, 2),
        "n_fit_good": card.calibration.n_good,
        "options": {k: card.options[k] for k in ("grid", "flatten", "components")},
        "targets": TARGETS,
        "meets_targets": bool(
            rec_h["auroc"] >= TARGETS["auroc"]
            and rec_h["escape_rate"] <= TARGETS["escape_rate"]
            and rec_h["false_reject_rate"] <= TARGETS["false_reject_rate"]
            and timing["best"] < TARGETS["ms_per_item"]
        ),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
