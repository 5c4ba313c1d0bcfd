"""Inspection quality on real product photos: fit on good images only, evaluate on the rest.

For every dataset folder given (the MVTec layout; ``python bench/real_data.py`` rebuilds the
public sets into ``runs/real/``), fits the model with the project's defaults and, as the
baseline, with the first model's settings (64 px filter bank), then prints per set: image AUROC,
escape rate and false-reject rate at the calibrated threshold, fit time, and the model's ms per
item at the edge's batch (8, 2 threads). The last line is one JSON object.

    python bench/real_quality.py runs/real/*                     # every rebuilt set
    python bench/real_quality.py runs/real/elpv --max-train 300  # fit on a sample of the goods
    python bench/real_quality.py DIR --no-baseline --features lite0 --size 128
    python bench/real_quality.py DIR --no-baseline --scoring patchcore

``--max-train`` fits on a seeded sample of ``train/good`` (through a folder of links), to keep a
run within minutes on two shared cores; the test split is always used whole.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit_json, print_table

from edge.model.evaluate import eval_model
from edge.model.fit import fit_model
from edge.model.scorer import Scorer
from edge.recording.dataset import IMAGE_SUFFIXES

TARGETS = {"auroc": 0.95, "escape_rate": 0.10, "false_reject_rate": 0.02}
BASELINE = {"size": 64, "features": "filters"}
EDGE_BATCH = 8


def _sampled(data: Path, max_train: int | None, tmp: Path) -> Path:
    """``data`` itself, or a folder of links with at most ``max_train`` of its train goods."""
    goods = sorted(
        p for p in (data / "train" / "good").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
    )
    if max_train is None or len(goods) <= max_train:
        return data
    root = tmp / data.name
    (root / "train" / "good").mkdir(parents=True)
    for p in random.Random(0).sample(goods, max_train):
        os.symlink(p.resolve(), root / "train" / "good" / p.name)
    os.symlink((data / "test").resolve(), root / "test")
    return root


def _ms_per_item(model: Path, threads: int = 2, repeat: int = 20) -> float:
    scorer = Scorer(model, threads=threads)
    c = scorer.card.input
    x = np.random.default_rng(0).random((EDGE_BATCH, 3, c.height, c.width), np.float32)
    for _ in range(3):
        scorer.score(x)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        scorer.score(x)
        times.append((time.perf_counter() - t0) * 1000.0 / EDGE_BATCH)
    return statistics.median(times)


def _run(data: Path, out: Path, options: dict[str, Any]) -> dict[str, Any]:
    t0 = time.monotonic()
    card = fit_model(data, out, **options)
    fit_s = time.monotonic() - t0
    report = eval_model(out, data)
    o = report["overall"]
    return {
        "size": card.input.width,
        "features": card.options.get("features", "filters"),
        "scoring": card.options.get("scoring", "padim"),
        "options": {
            k: card.options[k] for k in ("grid", "flatten", "components") if k in card.options
        }
        | ({"norm": card.options["norm"]} if "norm" in card.options else {}),
        "n_fit": card.calibration.n_good,
        "n_good": o["n_good"],
        "n_defect": o["n_defect"],
        "auroc": round(o["auroc"], 4),
        "escape_rate": round(o["escape_rate"], 4),
        "false_reject_rate": round(o["false_reject_rate"], 4),
        "fit_s": round(fit_s, 1),
        "ms_per_item": round(_ms_per_item(out), 3),
        "model_mb": round(out.stat().st_size / 1e6, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+", type=Path, help="dataset folders (MVTec layout)")
    ap.add_argument("--max-train", type=int, help="fit on at most this many train goods")
    ap.add_argument("--size", type=int, help="input size (default: the model's own choice)")
    ap.add_argument("--features", help="filters, lite0 or auto (default: the model's)")
    ap.add_argument("--scoring", help="padim, patchcore or auto (default: the model's)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the 64 px baseline")
    args = ap.parse_args(argv)
    options: dict[str, Any] = {}
    if args.size:
        options["size"] = args.size
    if args.features:
        options["features"] = args.features
    if args.scoring:
        options["scoring"] = args.scoring
    results: dict[str, Any] = {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for data in args.data:
            fit_on = _sampled(data, args.max_train, tmp)
            res = {"model": _run(fit_on, tmp / f"{data.name}.onnx", options)}
            if not args.no_baseline:
                res["baseline"] = _run(fit_on, tmp / f"{data.name}-base.onnx", BASELINE)
            results[data.name] = res
            for kind, r in res.items():
                rows.append(
                    {
                        "set": data.name,
                        "model": kind,
                        "features": f"{r['features']} {r['scoring']} {r['size']}px",
                        "fit on": r["n_fit"],
                        "good/defect": f"{r['n_good']}/{r['n_defect']}",
                        "AUROC": r["auroc"],
                        "escape": f"{r['escape_rate']:.1%}",
                        "FRR": f"{r['false_reject_rate']:.1%}",
                        "fit s": r["fit_s"],
                        "ms/item": r["ms_per_item"],
                    }
                )
    print_table(rows, list(rows[0]) if rows else [])
    met = {
        name: r["model"]["auroc"] >= TARGETS["auroc"]
        and r["model"]["escape_rate"] <= TARGETS["escape_rate"]
        and r["model"]["false_reject_rate"] <= TARGETS["false_reject_rate"]
        for name, r in results.items()
    }
    summary = ", ".join(
        f"{n} AUROC {r['model']['auroc']:.3f} (baseline {r['baseline']['auroc']:.3f})"
        if "baseline" in r
        else f"{n} AUROC {r['model']['auroc']:.3f}"
        for n, r in results.items()
    )
    print(f"real sets: {summary}; targets met: {sum(met.values())}/{len(met)}")
    emit_json({"targets": TARGETS, "edge_batch": EDGE_BATCH, "sets": results, "met": met})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
