"""``model eval`` and ``model calibrate``: score labelled items with a carded model.

Both load the items with the model's own card (crop policy and preprocessing spec) and score them
with :class:`edge.model.scorer.Scorer`, exactly as the camera node does.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.model.calibration import robust_thresholds
from edge.model.card import Calibration, Thresholds, write_card
from edge.model.data import ItemSet, load_items
from edge.model.metrics import summarize
from edge.model.scorer import Scorer
from peakline.errors import DataError

__all__ = ["calibrate_model", "eval_model", "format_report", "score_items"]


def score_items(scorer: Scorer, items: ItemSet, batch: int = 64) -> tuple[np.ndarray, float]:
    """Scores of every item and the model time per item in milliseconds."""
    parts = []
    spent = 0.0
    for i in range(0, len(items.x), batch):
        t0 = time.perf_counter()
        parts.append(scorer.score(items.x[i : i + batch]))
        spent += time.perf_counter() - t0
    return np.concatenate(parts), 1000.0 * spent / max(1, len(items.x))


def _load(scorer: Scorer, data: str | Path, split: str | None) -> ItemSet:
    return load_items(
        data, scorer.spec, margin=scorer.card.crop.margin, split=split, with_digest=False
    )


def eval_model(
    model: str | Path, data: str | Path, *, providers: list[str] | None = None, threads: int = 2
) -> dict[str, Any]:
    """Evaluate ``model`` on a recording (all items) or a dataset folder's ``test/`` split."""
    scorer = Scorer(model, providers=providers, threads=threads)
    probe = Path(data)
    is_folder = (probe / "test").is_dir() and not (probe / "recording.json").exists()
    split = "test" if is_folder else None
    items = _load(scorer, data, split)
    if all(lab == "good" for lab in items.labels):
        raise DataError(f"{data} has no defective items; eval needs good and defective items")
    if not any(lab == "good" for lab in items.labels):
        raise DataError(f"{data} has no good items; eval needs good and defective items")
    scores, ms = score_items(scorer, items)
    thr = scorer.card.thresholds
    report = summarize(scores, items.labels, thr.reject, thr.uncertain)
    report["model"] = {
        "name": scorer.card.name,
        "version": scorer.card.version,
        "path": str(model),
        "reject": thr.reject,
        "uncertain": thr.uncertain,
    }
    report["data"] = {"path": str(data), "kind": items.kind, "items": len(items.labels)}
    report["model_ms_per_item"] = ms
    if scorer.card.output.class_name:
        report["naming"] = _naming(scorer, items)
    return report


def _naming(scorer: Scorer, items: ItemSet) -> dict[str, Any]:
    """How often the defect-naming head names a defect's type right (types it was trained on)."""
    known = set(scorer.card.classes)
    defects = items.subset(np.array([lab in known for lab in items.labels]))
    names: list[str] = []
    for i in range(0, len(defects.x), 64):
        names += scorer.classify(defects.x[i : i + 64])[1] or []
    confusion: dict[str, dict[str, int]] = {}
    for true, pred in zip(defects.labels, names, strict=True):
        row = confusion.setdefault(true, {})
        row[pred] = row.get(pred, 0) + 1
    hits = sum(t == p for t, p in zip(defects.labels, names, strict=True))
    return {
        "accuracy": hits / len(names) if names else float("nan"),
        "n": len(names),
        "per_defect": {t: row.get(t, 0) / sum(row.values()) for t, row in confusion.items()},
        "confusion": confusion,
    }


def calibrate_model(
    model: str | Path,
    data: str | Path,
    target_frr: float = 0.01,
    *,
    threads: int = 2,
    line: bool = False,
    first: int | None = None,
    contamination: float = 0.05,
) -> dict[str, Any]:
    """Set the thresholds of ``model`` for ``target_frr`` and rewrite its card; returns the new
    thresholds. By default on the good items of ``data`` (items the model was not fitted on).
    With ``line``, on every item of ``data`` in line order (``first`` of them if given), labels
    unknown, as a line engineer does with the first items of a shift: the threshold comes from
    the body of the scores, robust to ``contamination`` defects among them."""
    if not 0.0 < target_frr < 0.5:
        raise DataError(f"target false-reject rate must be within (0, 0.5), got {target_frr}")
    scorer = Scorer(model, threads=threads)
    items = _load(scorer, data, None)
    pool = items if line else items.subset(items.is_good)
    if first is not None:
        pool = pool.subset(np.arange(len(pool.labels)) < first)
    what = "item(s)" if line else "good item(s)"
    if len(pool.labels) < 3:
        raise DataError(
            f"{data}: {len(pool.labels)} {what}; calibration needs at least 3 "
            "(a few hundred for 1% false rejects)"
        )
    scores, _ = score_items(scorer, pool)
    fit = robust_thresholds(scores, target_frr, contamination=contamination if line else 0.0)
    card = scorer.card.model_copy(deep=True)
    card.thresholds = Thresholds(reject=fit.reject, uncertain=fit.uncertain)
    source = f"first {len(scores)} items of the line" if line else "held-out goods"
    card.calibration = Calibration(
        target_frr=target_frr,
        frr=fit.frr,
        n_good=card.calibration.n_good,
        n_val=len(scores),
        method=f"held-out ({source}); {fit.method}",
        data=str(data),
        trust=fit.trust,
    )
    del scorer
    write_card(model, card)
    return {
        "reject": fit.reject,
        "uncertain": fit.uncertain,
        "frr": fit.frr,
        "n_val": len(scores),
        "rejected_share": float(np.mean(scores >= fit.reject)),
        "note": fit.trust if len(scores) * target_frr < 1 else "",
    }


def _fmt(v: float) -> str:
    return "  n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:5.3f}"


def format_report(report: dict[str, Any]) -> str:
    """A readable table of an :func:`eval_model` report (without the JSON line)."""
    m = report["model"]
    lines = [
        f"model {m['name']} {m['version']}  reject >= {m['reject']:.4g}, "
        f"uncertain >= {m['uncertain']:.4g}",
        f"data  {report['data']['path']} ({report['data']['kind']}, {report['data']['items']} "
        f"items); model time {report['model_ms_per_item']:.3f} ms/item",
        "",
        f"{'defect':<18}{'n':>5}{'AUROC':>8}{'recall':>8}{'FRR':>8}{'escape':>8}",
    ]
    rows = [*report["per_defect"].items(), ("overall", report["overall"])]
    for name, r in rows:
        overall = name == "overall"
        n = r["n_defect"] + r["n_good"] if overall else r["n_defect"]
        frr = _fmt(r["false_reject_rate"]) if overall else "-"  # good items only: one figure
        lines.append(
            f"{name:<18}{n:>5}{_fmt(r['auroc']):>8}{_fmt(r['recall']):>8}"
            f"{frr:>8}{_fmt(r['escape_rate']):>8}"
        )
    lines.append("FRR counts false rejects among the good items: one figure, on the overall row")
    conf = report["overall"]["confusion"]
    lines += ["", f"{'confusion':<10}{'pass':>8}{'uncertain':>11}{'reject':>8}"]
    for row in ("good", "defect"):
        c = conf[row]
        lines.append(f"{row:<10}{c['pass']:>8}{c['uncertain']:>11}{c['reject']:>8}")
    naming = report.get("naming")
    if naming:
        lines += ["", f"defect naming: {_fmt(naming['accuracy'])} right of {naming['n']}"]
        for true, acc in sorted(naming["per_defect"].items()):
            lines.append(f"  {true:<18}{_fmt(acc)}")
    return "\n".join(lines)
