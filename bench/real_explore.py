"""Compare backbone-PaDiM variants on real sets in seconds: backbone maps cached once per image.

The first run for a set extracts the raw stage maps of the ``--backbone`` (default Lite0;
strides 4, 8, 16 and 32, both input normalisations) of a seeded sample of its train goods (as
``bench/real_quality.py --max-train`` draws it), their brightness-shifted and flipped copies,
their synthetic-defect copies and the whole test split, into ``--cache`` (git-ignored ``runs/``;
a few hundred MB per set). Every run then fits PaDiM on the chosen stages, components and copies
exactly as ``model fit`` does (5-fold out-of-fold goods for the threshold at 1% and the
synthetic separation that ``auto`` chooses on) and prints per set the synthetic AUROC/recall and
the test AUROC, escapes and false rejects for each image-level aggregation (``max`` cell, or
``topK``: the mean of the K largest).

    python bench/real_explore.py runs/real/* --strides 8,16 4,8,16 --components 48 96
    python bench/real_explore.py runs/real/magtile --norm symmetric --aug h,v --agg max top3

``--member`` instead scores members (``padim``; ``full``: all channels, no PCA; ``pooled``: all
channels, each cell shrunk towards the covariance pooled over the cells; ``patchcore``;
``filters``/``filters-flat``: the 64 px filter bank, loaded from the images) and every pair as
the sum or max of z- or rank-normalised scores (normalised on each member's out-of-fold goods).
A cache named ``insp_<set>_128.npz`` (the earlier layout) in ``--cache`` is read as well:

    python bench/real_explore.py runs/real/elpv --cache /work/data --member padim full patchcore

``--norm-gain`` with two ``--norm`` values prints per member what the fit's normalisation rule
sees: the second normalisation's synthetic AUROC minus the first's, and the standard error of
that paired difference (DeLong):

    python bench/real_explore.py runs/real/magtile --member padim full \\
        --norm symmetric imagenet --norm-gain

``--backbone lite1`` (or ``lite2``) does the same with that EfficientNet-Lite (its own cache,
``<set>_lite1.npz``); ``--time`` first prints the ms per item of the model's feature graph
(strides 8 and 16, both normalisations' cost is the same) at batch 8 on 2 threads:

    python bench/real_explore.py runs/real/magtile --backbone lite2 --norm symmetric --time

The test defects only report; they choose nothing.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit_json

from edge.model.backbone import BACKBONES, NORMALISATIONS, add_backbone
from edge.model.calibration import robust_thresholds
from edge.model.card import InputSpec
from edge.model.data import ItemSet, load_items
from edge.model.fit import BRIGHTNESS, _brighter, _folds, _session, choose_size, extract_features
from edge.model.graph import OPSET, FeatureOptions, build_feature_model
from edge.model.metrics import auroc, auroc_gain, threshold_for_frr
from edge.model.onnxbuild import Builder
from edge.model.patchcore import PatchBank, aggregate, fit_bank, score_bank
from edge.model.stats import PadimStats, fit_stats, whitened
from edge.model.synth import corrupt

STRIDES = (4, 8, 16, 32)
AUGS = {"h": lambda x: x[..., ::-1], "v": lambda x: x[..., ::-1, :]}


def _graph(size: int, norm: str, backbone: str) -> onnx.ModelProto:
    b = Builder()
    maps = add_backbone(b, "image", size, norm, STRIDES, backbone)
    for s in STRIDES:
        b.nodes.append(helper.make_node("Identity", [maps[s]], [f"s{s}"]))
    inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])
    outs = [helper.make_tensor_value_info(f"s{s}", TensorProto.FLOAT, None) for s in STRIDES]
    g = helper.make_graph(b.nodes, "stages", [inp], outs, b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    return m


def _legacy_key(k: str) -> str:
    """Keys of the earlier cache files (``insp_<set>_128.npz``: ``norm/part/s8``, ``a_h``,
    ``test_labels``) as this harness names them."""
    if k == "test_labels":
        return "labels"
    parts = k.split("/")
    if len(parts) == 3:
        parts[1] = parts[1].replace("a_", "a")
        parts[2] = parts[2].lstrip("s")
    return "/".join(parts)


def _split(items: ItemSet, max_train: int) -> tuple[np.ndarray, ItemSet]:
    """(good training images, at most ``max_train`` drawn by name with seed 0; test items)."""
    train = np.flatnonzero(np.array([s == "train" for s in items.splits]) & items.is_good)
    by_name = sorted(train, key=lambda i: items.names[i])
    if len(by_name) > max_train:
        keep = set(random.Random(0).sample([items.names[i] for i in by_name], max_train))
        by_name = [i for i in by_name if items.names[i] in keep]
    return items.x[np.array(by_name)], items.subset(np.array([s == "test" for s in items.splits]))


def _cache(data: Path, cache: Path, max_train: int, backbone: str) -> dict[str, np.ndarray]:
    lite0 = backbone == "lite0"
    path = cache / (f"{data.name}.npz" if lite0 else f"{data.name}_{backbone}.npz")
    legacy = cache / f"insp_{data.name}_128.npz"
    if lite0 and not path.exists() and legacy.exists():
        path = legacy
    if path.exists():
        with np.load(path) as z:
            return {_legacy_key(k): z[k] for k in z.files}
    size = choose_size(data)[0]
    items = load_items(data, InputSpec(width=size, height=size).preprocess_spec())
    good, test = _split(items, max_train)
    parts = {"good": good, "syn": corrupt(good, seed=0)[0], "test": test.x}
    parts |= {f"b{g}": _brighter(good, g) for g in BRIGHTNESS}
    parts |= {f"a{k}": np.ascontiguousarray(f(good)) for k, f in AUGS.items()}
    out = {"labels": np.array(test.labels)}
    for norm in NORMALISATIONS:
        sess = _session(_graph(size, norm, backbone), 2)
        for part, x in parts.items():
            runs = [sess.run(None, {"image": x[i : i + 64]}) for i in range(0, len(x), 64)]
            for j, s in enumerate(STRIDES):
                out[f"{norm}/{part}/{s}"] = np.concatenate([r[j] for r in runs]).astype(np.float16)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def _to_grid(a: np.ndarray, g: int) -> np.ndarray:
    """Area-pool a finer map, or upsample a coarser one as ONNX Resize (linear, half-pixel)."""
    a = a.astype(np.float32)
    n, c, h, _ = a.shape
    if h > g:
        return a.reshape(n, c, g, h // g, g, h // g).mean(axis=(3, 5))
    if h < g:
        x = np.clip((np.arange(g) + 0.5) * h / g - 0.5, 0, h - 1)
        lo = np.floor(x).astype(int)
        t = x - lo
        m = np.zeros((g, h), np.float32)
        m[np.arange(g), lo] += 1 - t
        m[np.arange(g), np.minimum(lo + 1, h - 1)] += t
        return np.einsum("ih,nchw,jw->ncij", m, a, m)
    return a


def _score(dist: np.ndarray, agg: str) -> np.ndarray:
    if agg == "max":
        return dist.max(axis=1)
    return np.sort(dist, axis=1)[:, -int(agg[3:]) :].mean(axis=1)


def evaluate(
    c: dict[str, np.ndarray],
    norm: str,
    strides: tuple[int, ...],
    d: int,
    aug: tuple[str, ...],
    aggs: list[str],
) -> dict[str, dict[str, float]]:
    g = c[f"{norm}/good/8"].shape[-1]

    def f(part: str) -> np.ndarray:
        return np.concatenate([_to_grid(c[f"{norm}/{part}/{s}"], g) for s in strides], axis=1)

    good, syn, test = f("good"), f("syn"), f("test")
    extra = [f(f"b{b}") for b in BRIGHTNESS] + [f(f"a{a}") for a in aug]
    n = len(good)
    d = min(d, max(4, (n - n // 5) // 3))
    og = {a: np.empty(n) for a in aggs}
    osyn = {a: np.empty(n) for a in aggs}

    def dist(st: PadimStats, x: np.ndarray) -> np.ndarray:
        return np.sqrt((whitened(st, x) ** 2).sum(axis=2)).T

    for hold in _folds(n, 5, 0):
        tr = np.setdiff1d(np.arange(n), hold)
        st = fit_stats(np.concatenate([good[tr], *(e[tr] for e in extra)]), d)
        dg, ds = dist(st, good[hold]), dist(st, syn[hold])
        for a in aggs:
            og[a][hold], osyn[a][hold] = _score(dg, a), _score(ds, a)
    dt = dist(fit_stats(np.concatenate([good, *extra]), d), test)
    isg = c["labels"] == "good"
    res = {}
    for a in aggs:
        s = _score(dt, a)
        thr = robust_thresholds(og[a], 0.01, margin=0.0).reject
        t_syn, _ = threshold_for_frr(og[a], 0.01)
        res[a] = {
            "components": d,
            "syn_auroc": round(auroc(og[a], osyn[a]), 4),
            "syn_recall": round(float(np.mean(osyn[a] >= t_syn)), 3),
            "auroc": round(auroc(s[isg], s[~isg]), 4),
            "escape_rate": round(float(np.mean(s[~isg] < thr)), 3),
            "false_reject_rate": round(float(np.mean(s[isg] >= thr)), 3),
        }
    return res


# -- members and ensembles: every member gives out-of-fold good and synthetic scores and test
# -- scores (image score = max cell), fitted on the same goods and copies as ``evaluate``


def _stage_feats(
    c: dict[str, np.ndarray], norm: str, strides: tuple[int, ...], part: str
) -> np.ndarray:
    g = c[f"{norm}/good/8"].shape[-1]
    return np.concatenate([_to_grid(c[f"{norm}/{part}/{s}"], g) for s in strides], axis=1)


def _fit_pooled(feats: np.ndarray, min_shrink: float = 0.02) -> PadimStats:
    """Full-dimensional per-cell Gaussians (standardised features, no PCA), each cell's
    covariance shrunk towards the covariance pooled over all cells (Ledoit-Wolf intensity with
    that target) instead of towards a scaled identity."""
    base = fit_stats(feats, feats.shape[1])  # full rotation: projection carries the scaling
    x = feats.reshape(len(feats), feats.shape[1], -1).transpose(2, 0, 1).astype(np.float64)
    z = x @ base.projection.T.astype(np.float64) + base.bias
    n, d = z.shape[1], z.shape[2]
    zc = z - z.mean(axis=1, keepdims=True)
    s = np.einsum("cnd,cne->cde", zc, zc) / n
    target = s.mean(axis=0)
    d2 = ((s - target) ** 2).sum(axis=(1, 2))
    norms4 = (np.einsum("cnd,cnd->cn", zc, zc) ** 2).sum(axis=1)
    b2 = np.minimum((norms4 / n - (s**2).sum(axis=(1, 2))) / n, d2)
    shrink = np.clip(b2 / np.maximum(d2, 1e-12), min_shrink, 1.0)
    eye = np.eye(d)
    sigma = (1 - shrink)[:, None, None] * s + shrink[:, None, None] * target + 1e-6 * eye
    inv = np.linalg.inv(np.linalg.cholesky(sigma))
    return PadimStats(
        base.projection,
        base.bias,
        z.mean(axis=1).astype(np.float32),
        inv.transpose(0, 2, 1).astype(np.float32),
        shrink,
    )


Scores = tuple[np.ndarray, np.ndarray, np.ndarray]  # out-of-fold good, out-of-fold syn, test


def _member_scores(
    good: np.ndarray, syn: np.ndarray, test: np.ndarray, extra: list[np.ndarray], kind: str, d: int
) -> Scores:
    """``kind``: ``padim`` (``d`` components), ``full`` (all channels, identity target),
    ``pooled`` (all channels, target shared across cells) or ``patchcore``."""
    n = len(good)

    def fit(x: np.ndarray, k: int) -> object:
        if kind == "patchcore":
            return fit_bank(aggregate(x), seed=k)
        if kind == "pooled":
            return _fit_pooled(x)
        return fit_stats(x, x.shape[1] if kind == "full" else d)

    def score(m: object, x: np.ndarray) -> np.ndarray:
        if isinstance(m, PatchBank):
            return score_bank(m, aggregate(x))[0]
        assert isinstance(m, PadimStats)
        return np.sqrt((whitened(m, x) ** 2).sum(axis=2)).max(axis=0)

    og, osyn = np.empty(n), np.empty(n)
    for k, hold in enumerate(_folds(n, 5, 0)):
        tr = np.setdiff1d(np.arange(n), hold)
        m = fit(np.concatenate([good[tr], *(e[tr] for e in extra)]), k)
        og[hold], osyn[hold] = score(m, good[hold]), score(m, syn[hold])
    return og, osyn, score(fit(np.concatenate([good, *extra]), len(_folds(n, 5, 0))), test)


def _filter_member(data: Path, max_train: int, flatten: bool) -> Scores:
    """The filter bank (64 px, 16x16 cells, 16 components) on the same goods as the cache:
    loaded from the images, synthetic defects drawn at 64 px with the same seed."""
    opt = FeatureOptions(64, 16, flatten)
    spec = InputSpec(width=64, height=64).preprocess_spec()
    items = load_items(data, spec)
    x, test_items = _split(items, max_train)
    test = test_items.x
    good, syn, tst = (extract_features(a, opt) for a in (x, corrupt(x, seed=0)[0], test))
    extra = [extract_features(_brighter(x, b), opt) for b in BRIGHTNESS]
    return _member_scores(good, syn, tst, extra, "padim", 16)


def _z(member: Scores) -> Scores:
    """Scores as z-values of the member's out-of-fold good scores."""
    mu, sd = float(np.mean(member[0])), float(np.std(member[0])) + 1e-12
    return (member[0] - mu) / sd, (member[1] - mu) / sd, (member[2] - mu) / sd


def _rank(member: Scores) -> Scores:
    """Scores as the share of out-of-fold good scores below them (ties halved), so a member's
    scale does not count; beyond the goods' range the z-value past the top decides."""
    ref = np.sort(member[0])
    sd = float(np.std(ref)) + 1e-12

    def r(x: np.ndarray) -> np.ndarray:
        q = (np.searchsorted(ref, x, "left") + np.searchsorted(ref, x, "right")) / (2 * len(ref))
        return q + np.maximum(x - ref[-1], 0.0) / sd

    return r(member[0]), r(member[1]), r(member[2])


def _row(s: Scores, labels: np.ndarray) -> dict[str, float]:
    og, osyn, st = s
    isg = labels == "good"
    thr = robust_thresholds(og, 0.01, margin=0.0).reject
    t_syn, _ = threshold_for_frr(og, 0.01)
    return {
        "syn_auroc": round(auroc(og, osyn), 4),
        "syn_recall": round(float(np.mean(osyn >= t_syn)), 3),
        "auroc": round(auroc(st[isg], st[~isg]), 4),
        "escape_rate": round(float(np.mean(st[~isg] < thr)), 3),
        "false_reject_rate": round(float(np.mean(st[isg] >= thr)), 3),
    }


def members(
    data: Path,
    c: dict[str, np.ndarray],
    norm: str,
    strides: tuple[int, ...],
    d: int,
    kinds: list[str],
    max_train: int,
) -> dict[str, dict[str, float]]:
    """Each member alone, then each pair as the sum and the max of z- and rank-normalised
    scores (``--member padim patchcore filters``...)."""
    parts = {p: _stage_feats(c, norm, strides, p) for p in ("good", "syn", "test")}
    extra = [_stage_feats(c, norm, strides, f"b{b}") for b in BRIGHTNESS]
    scores: dict[str, Scores] = {}
    for kind in kinds:
        if kind.startswith("filters"):
            scores[kind] = _filter_member(data, max_train, kind == "filters-flat")
        else:
            scores[kind] = _member_scores(
                parts["good"], parts["syn"], parts["test"], extra, kind, d
            )
    res = {k: _row(s, c["labels"]) for k, s in scores.items()}
    for a, b in itertools.combinations(scores, 2):
        for nm, f in (("z", _z), ("rank", _rank)):
            ma, mb = f(scores[a]), f(scores[b])
            res[f"{a}+{b} {nm}-sum"] = _row(
                tuple(x + y for x, y in zip(ma, mb, strict=True)), c["labels"]
            )
            res[f"{a}+{b} {nm}-max"] = _row(
                tuple(np.maximum(x, y) for x, y in zip(ma, mb, strict=True)), c["labels"]
            )
    return res


def norm_gain(
    c: dict[str, np.ndarray], norms: list[str], strides: tuple[int, ...], d: int, kind: str
) -> dict[str, float]:
    """The fit's normalisation rule on one member: how much higher the second normalisation's
    synthetic AUROC is than the first's, and the standard error of that paired difference."""
    scores = []
    for norm in norms:
        parts = [_stage_feats(c, norm, strides, p) for p in ("good", "syn", "test")]
        extra = [_stage_feats(c, norm, strides, f"b{b}") for b in BRIGHTNESS]
        og, osyn, _ = _member_scores(*parts, extra, kind, d)
        scores.append((og, osyn))
    gain, se = auroc_gain(scores[0], scores[1])
    return {"syn_auroc_gain": round(gain, 5), "gain_se": round(se, 5), "z": round(gain / se, 2)}


def time_features(size: int, backbone: str, batch: int = 8, repeats: int = 50) -> float:
    """Median ms per item of the model's feature graph (strides 8 and 16, the stride-8 grid)
    over ``repeats`` runs of a batch."""
    opt = FeatureOptions(size, size // 8, False, backbone)
    sess = _session(build_feature_model(opt), 2)
    x = np.random.default_rng(0).random((batch, 3, size, size), np.float32)
    for _ in range(5):
        sess.run(None, {"image": x})
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(None, {"image": x})
        runs.append(time.perf_counter() - t)
    return float(np.median(runs)) * 1000 / batch


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+", type=Path, help="dataset folders (MVTec layout)")
    ap.add_argument("--cache", type=Path, default=Path("runs/explore"))
    ap.add_argument("--max-train", type=int, default=300)
    ap.add_argument("--backbone", default="lite0", choices=sorted(BACKBONES))
    ap.add_argument("--time", action="store_true", help="time the feature graph first")
    ap.add_argument("--norm", nargs="+", default=["imagenet"], choices=sorted(NORMALISATIONS))
    ap.add_argument("--strides", nargs="+", default=["8,16"], help="e.g. 8,16 4,8,16")
    ap.add_argument("--components", nargs="+", type=int, default=[48])
    ap.add_argument("--aug", nargs="+", default=[""], help="copies fitted on: '' h v h,v")
    ap.add_argument("--agg", nargs="+", default=["max"], help="max topK")
    ap.add_argument(
        "--member",
        nargs="+",
        default=[],
        help="members, then their pairwise ensembles: padim full pooled patchcore "
        "filters filters-flat (first --norm, --strides, --components)",
    )
    ap.add_argument(
        "--norm-gain",
        action="store_true",
        help="with two --norm and --member: per member the second normalisation's paired "
        "synthetic AUROC gain over the first and its standard error (the fit's rule)",
    )
    args = ap.parse_args(argv)
    results = []
    for data in args.data:
        if args.time:
            size = choose_size(data)[0]
            ms = time_features(size, args.backbone)
            row = {"set": data.name, "backbone": args.backbone, "size": size, "ms_per_item": ms}
            results.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        c = _cache(data, args.cache, args.max_train, args.backbone)
        if args.member and args.norm_gain:
            if len(args.norm) != 2:
                ap.error("--norm-gain needs two --norm values")
            strides = tuple(int(s) for s in args.strides[0].split(","))
            for kind in args.member:
                g = norm_gain(c, args.norm, strides, args.components[0], kind)
                row = {"set": data.name, "norms": "->".join(args.norm), "model": kind, **g}
                results.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            continue
        if args.member:
            strides = tuple(int(s) for s in args.strides[0].split(","))
            for name, r in members(
                data, c, args.norm[0], strides, args.components[0], args.member, args.max_train
            ).items():
                row = {
                    "set": data.name,
                    "backbone": args.backbone,
                    "norm": args.norm[0],
                    "model": name,
                    **r,
                }
                results.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
            continue
        for norm, st, d, aug in itertools.product(
            args.norm, args.strides, args.components, args.aug
        ):
            strides = tuple(int(s) for s in st.split(","))
            augs = tuple(a for a in aug.split(",") if a)
            for agg, r in evaluate(c, norm, strides, d, augs, args.agg).items():
                row = {
                    "set": data.name,
                    "backbone": args.backbone,
                    "norm": norm,
                    "strides": st,
                    "aug": aug,
                    "agg": agg,
                    **r,
                }
                results.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    emit_json({"results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
