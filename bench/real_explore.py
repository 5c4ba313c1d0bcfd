"""Compare Lite0-PaDiM variants on real sets in seconds: backbone maps cached once per image.

The first run for a set extracts the raw Lite0 stage maps (strides 4, 8, 16 and 32, both input
normalisations) of a seeded sample of its train goods (as ``bench/real_quality.py --max-train``
draws it), their brightness-shifted and flipped copies, their synthetic-defect copies and the
whole test split, into ``--cache`` (git-ignored ``runs/``; a few hundred MB per set). Every
run then fits PaDiM on the chosen stages, components and copies exactly as ``model fit`` does
(5-fold out-of-fold goods for the threshold at 1% and the synthetic separation that ``auto``
chooses on) and prints per set the synthetic AUROC/recall and the test AUROC, escapes and false
rejects for each image-level aggregation (``max`` cell, or ``topK``: the mean of the K largest).

    python bench/real_explore.py runs/real/* --strides 8,16 4,8,16 --components 48 96
    python bench/real_explore.py runs/real/magtile --norm symmetric --aug h,v --agg max top3

The test defects only report; they choose nothing.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit_json

from edge.model.backbone import NORMALISATIONS, add_lite0
from edge.model.calibration import robust_thresholds
from edge.model.card import InputSpec
from edge.model.data import load_items
from edge.model.fit import BRIGHTNESS, _brighter, _folds, _session, choose_size
from edge.model.graph import OPSET
from edge.model.metrics import auroc, threshold_for_frr
from edge.model.onnxbuild import Builder
from edge.model.stats import PadimStats, fit_stats, whitened
from edge.model.synth import corrupt

STRIDES = (4, 8, 16, 32)
AUGS = {"h": lambda x: x[..., ::-1], "v": lambda x: x[..., ::-1, :]}


def _graph(size: int, norm: str) -> onnx.ModelProto:
    b = Builder()
    maps = add_lite0(b, "image", size, norm, STRIDES)
    for s in STRIDES:
        b.nodes.append(helper.make_node("Identity", [maps[s]], [f"s{s}"]))
    inp = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])
    outs = [helper.make_tensor_value_info(f"s{s}", TensorProto.FLOAT, None) for s in STRIDES]
    g = helper.make_graph(b.nodes, "stages", [inp], outs, b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 8
    return m


def _cache(data: Path, cache: Path, max_train: int) -> dict[str, np.ndarray]:
    path = cache / f"{data.name}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    size = choose_size(data)[0]
    items = load_items(data, InputSpec(width=size, height=size).preprocess_spec())
    train = np.flatnonzero(np.array([s == "train" for s in items.splits]) & items.is_good)
    by_name = sorted(train, key=lambda i: items.names[i])
    if len(by_name) > max_train:
        keep = set(random.Random(0).sample([items.names[i] for i in by_name], max_train))
        by_name = [i for i in by_name if items.names[i] in keep]
    good = items.x[np.array(by_name)]
    test = items.subset(np.array([s == "test" for s in items.splits]))
    parts = {"good": good, "syn": corrupt(good, seed=0)[0], "test": test.x}
    parts |= {f"b{g}": _brighter(good, g) for g in BRIGHTNESS}
    parts |= {f"a{k}": np.ascontiguousarray(f(good)) for k, f in AUGS.items()}
    out = {"labels": np.array(test.labels)}
    for norm in NORMALISATIONS:
        sess = _session(_graph(size, norm), 2)
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


def evaluate(c: dict[str, np.ndarray], norm: str, strides: tuple[int, ...], d: int,
             aug: tuple[str, ...], aggs: list[str]) -> dict[str, dict[str, float]]:
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="+", type=Path, help="dataset folders (MVTec layout)")
    ap.add_argument("--cache", type=Path, default=Path("runs/explore"))
    ap.add_argument("--max-train", type=int, default=300)
    ap.add_argument("--norm", nargs="+", default=["imagenet"], choices=sorted(NORMALISATIONS))
    ap.add_argument("--strides", nargs="+", default=["8,16"], help="e.g. 8,16 4,8,16")
    ap.add_argument("--components", nargs="+", type=int, default=[48])
    ap.add_argument("--aug", nargs="+", default=[""], help="copies fitted on: '' h v h,v")
    ap.add_argument("--agg", nargs="+", default=["max"], help="max topK")
    args = ap.parse_args(argv)
    results = []
    for data in args.data:
        c = _cache(data, args.cache, args.max_train)
        for norm, st, d, aug in itertools.product(args.norm, args.strides, args.components,
                                                  args.aug):
            strides = tuple(int(s) for s in st.split(","))
            augs = tuple(a for a in aug.split(",") if a)
            for agg, r in evaluate(c, norm, strides, d, augs, args.agg).items():
                row = {"set": data.name, "norm": norm, "strides": st, "aug": aug, "agg": agg, **r}
                results.append(row)
                print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    emit_json({"results": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
