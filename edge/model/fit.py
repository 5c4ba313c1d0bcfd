"""Fit the one-class anomaly model on good items and write it as ONNX with its card.

``fit_model(data, out)``: load the good items of a recording or a dataset folder's ``train/good``,
extract the fixed features with the feature graph (ONNX Runtime, so fitting sees exactly what the
edge computes), choose the options (pooling grid, illumination flattening) on out-of-fold scores of
good items against the same items with synthetic defects, fit PCA and per-cell Gaussians on all
good items, set the thresholds on the out-of-fold scores for the target false-reject rate, and
write the graph with the card in its metadata. Labelled defects in the data, if any, are scored
for the card's fit-time metrics only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.model.backbone import BACKBONES, source
from edge.model.calibration import SHIFT_MARGIN, ThresholdFit, item_region, robust_thresholds
from edge.model.card import (
    Calibration,
    CropPolicy,
    InputSpec,
    ModelCard,
    OutputSpec,
    Thresholds,
    write_card,
)
from edge.model.classifier import cross_validate, fit_head, head_inputs
from edge.model.data import ItemSet, load_items
from edge.model.graph import (
    FeatureOptions,
    build_bank_model,
    build_feature_model,
    build_score_model,
)
from edge.model.metrics import auroc, summarize, threshold_for_frr
from edge.model.onnxbuild import fits_half
from edge.model.patchcore import PatchBank, aggregate, fit_bank, score_bank
from edge.model.stats import PadimStats, fit_stats, score_stats
from edge.model.synth import corrupt
from edge.recording.dataset import is_dataset, read_dataset
from edge.recording.format import is_recording
from peakline.errors import DataError, ModelError

__all__ = [
    "MIN_GOOD",
    "choose_size",
    "extract_features",
    "fit_model",
    "thresholds_from_scores",
]

log = logging.getLogger(__name__)

#: fewer good items than this cannot give a meaningful model or threshold
MIN_GOOD = 10
#: labelled items a defect type needs to be learnt by the naming head
MIN_PER_CLASS = 3
#: every good item is also fitted on at these gains: the light drifts by +-15% over a shift
#: (more than one recording shows), and a brighter or darker good cake is still good
BRIGHTNESS = (0.92, 1.08)


def _brighter(x: np.ndarray, gain: float) -> np.ndarray:
    """Model inputs (pixel / 255) of the same items under light ``gain`` times as bright."""
    return np.clip(x * np.float32(gain), 0.0, 1.0)


def _session(model: Any, threads: int) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def extract_features(
    x: np.ndarray, opt: FeatureOptions, threads: int = 2, batch: int = 128
) -> np.ndarray:
    """Pooled features (N, F, grid, grid) of model inputs ``x`` through the feature graph."""
    sess = _session(build_feature_model(opt), threads)
    parts = [
        sess.run(["features"], {"image": x[i : i + batch]})[0] for i in range(0, len(x), batch)
    ]
    return np.concatenate(parts)


def thresholds_from_scores(
    good: np.ndarray, target_frr: float, line: bool = True
) -> tuple[Thresholds, ThresholdFit]:
    """Reject threshold for ``target_frr`` on held-out good scores, and an uncertain band below
    it (see :mod:`edge.model.calibration`); with ``line`` (a recording) plus the margin for the
    next session's light, noise and belt."""
    fit = robust_thresholds(good, target_frr, margin=SHIFT_MARGIN if line else 0.0)
    return Thresholds(reject=fit.reject, uncertain=fit.uncertain), fit


def _folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def _oof(
    good: np.ndarray,
    syn: np.ndarray,
    scoring: str,
    components: int,
    folds: list[np.ndarray],
    extra: list[np.ndarray],
    region: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores of the good items and of their synthetic-defect copies; ``extra``
    holds brightness-shifted copies of the good items, fitted on with their originals.
    ``scoring``: ``padim`` (per-cell Gaussians) or ``patchcore`` (nearest good patch; the
    features are then already aggregated)."""
    og = np.empty(len(good))
    osyn = np.empty(len(good))
    for k, hold in enumerate(folds):
        train = np.setdiff1d(np.arange(len(good)), hold)
        fit_on = [good[train], *(e[train] for e in extra)]
        if scoring == "patchcore":
            pb = fit_bank(np.concatenate(fit_on), seed=k)
            og[hold] = score_bank(pb, good[hold], region)[0]
            osyn[hold] = score_bank(pb, syn[hold], region)[0]
        else:
            st = fit_stats(fit_on, components)
            og[hold] = score_stats(st, good[hold], region)[0]
            osyn[hold] = score_stats(st, syn[hold], region)[0]
    return og, osyn


def _separation(good: np.ndarray, bad: np.ndarray, target_frr: float) -> dict[str, float]:
    thr, _ = threshold_for_frr(good, max(target_frr, 1.0 / len(good)))
    return {"auroc": auroc(good, bad), "recall": float(np.mean(bad >= thr))}


def _candidates(
    size: int, grid: int | None, flatten: bool | None, features: str
) -> list[FeatureOptions]:
    """Feature options to try. For the filter bank the grid defaults to the finest the pyramid
    allows (cells of 4 input pixels, about 10 px of a 720p frame): measured on the recordings,
    8x8 cells at 64 px let mild deformations and small flecks through that 16x16 cells catch,
    at the same CPU cost; illumination flattening is chosen on held-out good items unless given.
    The pretrained backbone works on its stride-8 grid, with the input normalisation its weights
    were trained with (``Backbone.norm``)."""
    if size % 16 or size < 32:
        raise DataError(f"input size {size} must be a multiple of 16, at least 32")
    kinds = ["filters", "lite0"] if features == "auto" else [features]
    opts: list[FeatureOptions] = []
    for kind in kinds:
        if kind == "filters":
            flats = [flatten] if flatten is not None else [False, True]
            opts += [FeatureOptions(size, grid or size // 4, f) for f in flats]
        else:
            opts.append(FeatureOptions(size, grid or size // 8, False, kind, BACKBONES[kind].norm))
    for o in opts:
        try:
            o.check()
        except ValueError as exc:
            raise DataError(str(exc)) from exc
    return opts


#: principal components per cell unless given (None: all features, each cell's full covariance,
#: not capped by the number of goods: Ledoit-Wolf shrinkage keeps it well posed). The filter
#: bank's 33 features are well kept by 16. The backbones keep all their channels: with the
#: normalisation fixed per backbone the full covariance beat 48 components on all three real
#: sets, end to end: spindles 0.908 -> 0.920, solar cells 0.892 -> 0.898, tiles 0.930 -> 0.942
#: (docs/models.md "Input normalisation")
DEFAULT_COMPONENTS: dict[str, int | None] = {"filters": 16, **dict.fromkeys(BACKBONES, None)}
#: the largest input size chosen by itself: above it, fitting on two cores takes many minutes
MAX_AUTO_SIZE = 128
#: the camera node's items: about 160 px across at 720p, scored at 64 px within its budget
LINE_SIZE = 64


def choose_size(data: str | Path) -> tuple[int, str]:
    """The input size for ``data`` and why: on a recording the line's size (the edge's speed
    budget), on a dataset folder the images' median shorter side, rounded down to a multiple of
    16 and capped at ``MAX_AUTO_SIZE`` (small defects on a large item need pixels)."""
    root = Path(data)
    if is_recording(root) or not is_dataset(root):
        return LINE_SIZE, "the camera node's item size"
    sides = sorted(min(e.width, e.height) for e in read_dataset(root).entries)
    median = sides[len(sides) // 2]
    size = max(32, min(MAX_AUTO_SIZE, median // 16 * 16))
    return size, f"images' median shorter side {median} px, capped at {MAX_AUTO_SIZE}"


def fit_model(
    data: str | Path,
    out: str | Path,
    *,
    size: int | None = None,
    grid: int | None = None,
    flatten: bool | None = None,
    components: int | None = None,
    target_frr: float = 0.01,
    margin: float = 0.15,
    folds: int = 5,
    name: str = "peakline-padim",
    version: str | None = None,
    seed: int = 0,
    threads: int = 2,
    classifier: bool = False,
    region: str = "auto",
    features: str = "auto",
    scoring: str = "auto",
    fit: Literal["stretch", "letterbox"] = "stretch",
    say: Callable[[str], None] | None = None,
) -> ModelCard:
    """Fit on the good items of ``data`` (recording or dataset folder); write ``out``; return
    the card. ``region``: ``item`` scores only the cells on the item (the disc inscribed in its
    bbox), ``full`` every cell; ``auto`` takes ``item`` for recordings (the crop shows belt around
    a round item) and ``full`` for dataset folders (the photo is the item). ``size`` None: chosen
    from the data (:func:`choose_size`). ``features``: ``filters`` (hand-made filter bank),
    ``lite0``, ``lite1`` or ``lite2`` (a pretrained backbone) or ``auto`` (filters on a
    recording, where the line's speed budget rules; on a dataset folder filters and lite0,
    chosen on held-out good items). ``scoring``:
    ``padim`` (a Gaussian per cell), ``patchcore`` (distance to the nearest good patch, see
    :mod:`edge.model.patchcore`) or ``auto`` (PaDiM on a recording; on a dataset folder both,
    chosen on held-out good items; PaDiM when ``classifier``). ``fit``: how a
    non-square image fills the input (``stretch`` or ``letterbox``). ``say`` gets one line per
    choice made."""
    started = time.monotonic()
    if region not in ("auto", "item", "full"):
        raise DataError(f"region must be auto, item or full, got {region!r}")
    if not 0.0 < target_frr < 0.5:
        raise DataError(f"target false-reject rate must be within (0, 0.5), got {target_frr}")
    if fit not in ("stretch", "letterbox"):
        raise DataError(f"fit must be stretch or letterbox, got {fit!r}")
    if features not in ("auto", "filters", *BACKBONES):
        raise DataError(
            f"features must be auto, filters or one of {', '.join(BACKBONES)}, got {features!r}"
        )
    if scoring not in ("auto", "padim", "patchcore"):
        raise DataError(f"scoring must be auto, padim or patchcore, got {scoring!r}")
    if classifier and scoring == "patchcore":
        raise DataError("the defect-naming head (--classifier) needs --scoring padim or auto")
    size, why = choose_size(data) if size is None else (size, "given")
    if say:
        say(f"input size {size} px ({why})")
    input_spec = InputSpec(width=size, height=size, fit=fit)
    spec = input_spec.preprocess_spec()
    items = load_items(data, spec, margin=margin)
    is_dataset = items.kind == "dataset"
    not_test = np.array([s != "test" for s in items.splits]) if is_dataset else True
    fit_mask = items.is_good & not_test
    good = items.subset(fit_mask)
    if len(good.labels) < MIN_GOOD:
        raise DataError(
            f"{data}: {len(good.labels)} good item(s) to fit on; at least {MIN_GOOD} are needed "
            "(and a few hundred for a threshold at 1% false rejects)"
        )
    n = len(good.labels)
    k = max(2, min(folds, n))
    split = _folds(n, k, seed)
    d_max = max(4, (n - n // k) // 3)  # a covariance needs a few items per dimension
    use_item = region == "item" or (region == "auto" and not is_dataset)
    if features == "auto" and not is_dataset:
        features = "filters"
    if scoring == "auto":
        scoring = "padim" if classifier or not is_dataset else "auto"
    scorings = ["padim", "patchcore"] if scoring == "auto" else [scoring]
    syn_x, _ = corrupt(good.x, seed=seed)
    tried: list[dict[str, Any]] = []
    # the best so far: criterion, options, scoring, features of the goods and of their
    # brightness-shifted copies (kept apart, not concatenated), out-of-fold good scores, components
    best: tuple[float, FeatureOptions, str, list[np.ndarray], np.ndarray, int] | None = None
    kept: tuple[FeatureOptions, np.ndarray, list[np.ndarray], np.ndarray, int] | None = None

    def attempt(
        opt: FeatureOptions, how: str, f: np.ndarray, sh: list[np.ndarray], sy: np.ndarray, d: int
    ) -> bool:
        nonlocal best
        cells = item_region(opt.grid, margin) if use_item else None
        if how == "patchcore":
            f, sh, sy = aggregate(f), [aggregate(e) for e in sh], aggregate(sy)
        og, osyn = _oof(f, sy, how, d, split, sh, cells)
        sep = _separation(og, osyn, target_frr)
        tried.append({**asdict(opt), "scoring": how, "components": d, **sep})
        log.info("option %s %s: synthetic AUROC %.4f recall %.3f", opt, how, *sep.values())
        crit = sep["auroc"] + sep["recall"]
        if best is None or crit > best[0] + 1e-9:
            best = (crit, opt, how, [f, *sh], og, d)
            return True
        return False

    # the features are compared with the first scoring; the other one is then tried on the
    # chosen features only (trying it on every candidate quadrupled the fit time)
    for opt in _candidates(size, grid, flatten, features):
        feats = extract_features(good.x, opt, threads)
        shifted = [extract_features(_brighter(good.x, g), opt, threads) for g in BRIGHTNESS]
        syn = extract_features(syn_x, opt, threads)
        want = components or DEFAULT_COMPONENTS[opt.features]
        d = int(min(want, d_max)) if want else feats.shape[1]
        if attempt(opt, scorings[0], feats, shifted, syn, d):
            kept = (opt, feats, shifted, syn, d)
        del feats, shifted, syn
    assert kept is not None
    for how in scorings[1:]:
        attempt(kept[0], how, *kept[1:])
    assert best is not None
    _, opt, how, parts, oof_good, d = best
    kept = best = None  # the chosen features stay in ``parts`` only
    if say and len(tried) > 1:
        say(
            "features "
            + ", ".join(
                f"{t['features']}{'/' + t['norm'] if t['features'] != 'filters' else ''}"
                f"{' flattened' if t['flatten'] else ''} {t['scoring']}: {t['auroc']:.4f}"
                for t in tried
            )
            + f" (AUROC, held-out goods vs synthetic defects); chose {opt.features}"
            + (f"/{opt.norm}" if opt.features in BACKBONES else "")
            + f" {how}"
        )
    cells = item_region(opt.grid, margin) if use_item else None
    head, head_acc = None, None
    classes: list[str] = []
    stats: PadimStats | PatchBank
    if how == "patchcore":
        # the good items and their brightness-shifted copies
        stats = fit_bank(np.concatenate(parts), seed=seed)
        d = stats.projection.shape[0]
        proto = build_bank_model(
            opt, stats.projection, stats.bias, stats.bank, input_spec.name, region=cells
        )
    else:
        stats = fit_stats(parts, d)
        storage: Literal["float16", "float32"] = "float16" if fits_half(stats.whiten) else "float32"
        if classifier:
            head, classes, head_acc = _fit_head(items, fit_mask, opt, stats, threads, str(data))
        proto = build_score_model(
            opt,
            stats.projection,
            stats.bias,
            stats.means,
            stats.whiten,
            input_name=input_spec.name,
            head=head,
            region=cells,
            whiten_storage=storage,
        )
    thresholds, tfit = thresholds_from_scores(oof_good, target_frr, line=not is_dataset)

    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    card = ModelCard(
        name=name,
        version=version or f"{size}px-{items.digest[:10]}",
        kind="anomaly",
        input=input_spec,
        crop=CropPolicy(margin=margin),
        output=OutputSpec(
            name="score",
            kind="anomaly_score",
            map_name="map",
            class_name="defect_probs" if head is not None else None,
        ),
        classes=classes,
        thresholds=thresholds,
        calibration=Calibration(
            target_frr=target_frr,
            frr=tfit.frr,
            n_good=n,
            n_val=n,
            method=f"out-of-fold ({k} folds); {tfit.method}",
            data=str(data),
            trust=tfit.trust,
        ),
        data_digest=items.digest,
        options={
            "features": opt.features,
            **(
                {
                    "norm": opt.norm,
                    "strides": list(opt.strides),
                    "backbone": source(opt.features),
                }
                if opt.features in BACKBONES
                else {}
            ),
            "grid": opt.grid,
            "flatten": opt.flatten,
            "score_region": "item" if use_item else "full",
            "scoring": how,
            **(
                {"bank": int(stats.bank.shape[0])}
                if isinstance(stats, PatchBank)
                else {"whiten_storage": storage}
            ),
            "components": d,
            "features_per_cell": int(parts[0].shape[1]),
            "brightness_copies": list(BRIGHTNESS),
            "candidates": tried,
        },
    )
    sess = _session(proto, threads)
    check = sess.run(["score"], {input_spec.name: good.x[: min(8, n)]})[0]
    if isinstance(stats, PatchBank):
        # fitted items lie in the bank: a distance near 0 is a difference of large squares, so
        # compare the squares (float32 cancellation would dominate their square roots)
        ref = score_bank(stats, parts[0][: min(8, n)], cells)[0]
        check, ref = check**2, ref**2
    else:
        ref = score_stats(stats, parts[0][: min(8, n)], cells)[0]
    if not np.allclose(check, ref, rtol=1e-3, atol=1e-3 * (1.0 + float(np.max(ref)))):
        raise ModelError(f"the ONNX graph disagrees with the fitted statistics: {check} vs {ref}")
    card.metrics = _fit_metrics(items, fit_mask, sess, input_spec.name, thresholds, oof_good)
    if head_acc is not None:
        card.metrics["defect_naming_cv_accuracy"] = round(head_acc, 4)
    card.metrics["fit_seconds"] = round(time.monotonic() - started, 2)
    write_card(out_path, card, proto)
    return card


def _fit_head(
    items: ItemSet,
    fit_mask: np.ndarray,
    opt: FeatureOptions,
    stats: PadimStats,
    threads: int,
    data: str,
) -> tuple[tuple[np.ndarray, np.ndarray], list[str], float]:
    """Train the defect-naming head on the labelled defects of the data."""
    defects = items.subset(~items.is_good & ~fit_mask)
    names = sorted(set(defects.labels))
    counts = {lab: defects.labels.count(lab) for lab in names}
    usable = [lab for lab in names if counts[lab] >= MIN_PER_CLASS]
    if len(usable) < 2:
        raise DataError(
            f"{data}: a defect classifier needs at least {MIN_PER_CLASS} labelled items of at "
            f"least two defect types; found {counts or 'none'}"
        )
    keep = np.array([lab in usable for lab in defects.labels])
    defects = defects.subset(keep)
    y = np.array([usable.index(lab) for lab in defects.labels])
    v = head_inputs(stats, extract_features(defects.x, opt, threads))
    acc = cross_validate(v, y, len(usable))
    return fit_head(v, y, len(usable)), usable, acc


def _fit_metrics(
    items: ItemSet,
    fit_mask: np.ndarray,
    sess: Any,
    input_name: str,
    thr: Thresholds,
    oof_good: np.ndarray,
) -> dict[str, Any]:
    """Figures at fit time: out-of-fold good scores, and labelled defects in the data if any."""
    out: dict[str, Any] = {
        "oof_good_score_p50": float(np.median(oof_good)),
        "oof_good_score_max": float(oof_good.max()),
    }
    rest = items.subset(~fit_mask)
    if rest.labels and not all(lab == "good" for lab in rest.labels):
        scores = np.concatenate(
            [
                sess.run(["score"], {input_name: rest.x[i : i + 128]})[0]
                for i in range(0, len(rest.x), 128)
            ]
        )
        labels = list(rest.labels)
        allgood = np.concatenate([oof_good, scores[rest.is_good]])
        s = summarize(
            np.concatenate([allgood, scores[~rest.is_good]]),
            ["good"] * len(allgood) + [lab for lab in labels if lab != "good"],
            thr.reject,
            thr.uncertain,
        )
        out["defects_in_data"] = {
            "note": "goods scored out-of-fold; defects were not used to fit",
            **{
                k: s["overall"][k]
                for k in (
                    "auroc",
                    "recall",
                    "false_reject_rate",
                    "escape_rate",
                    "n_good",
                    "n_defect",
                )
            },
            "per_defect_auroc": {k: v["auroc"] for k, v in s["per_defect"].items()},
        }
    return out
