"""The anomaly model as an ONNX graph: fixed features, PCA and per-cell Mahalanobis distance.

Features (no learned weights, the same for every product):

- colour: luminance and two opponent channels (red-green, yellow-blue) by a 1x1 convolution;
- optional illumination flattening: ``log(Y) - lowpass(log(Y))``;
- a three-level pyramid of the luminance; at each level Gaussian derivatives (sigma 1 px at that
  level, so 1, 2 and 4 px at input scale) give the smoothed image, the gradient magnitude and the
  two Hessian eigenvalues;
- every map is area-pooled to a ``grid x grid`` lattice of cells together with its local energy
  (the pooled square), and the chroma channels likewise;
- per cell, the extremes (max-pooling) of the darkness and of both chroma channels, which catch
  small strong marks (a hair, a plastic fleck) that averaging would dilute.

The fitted part (see ``edge.model.fit``) standardises the features, projects them on their
principal components (a 1x1 convolution) and computes, per cell, the Mahalanobis distance to the
good items' Gaussian (a batched matrix product with each cell's whitening matrix). The outputs are
``score`` (N,): the largest cell distance, and ``map`` (N, grid, grid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import onnx
from onnx import TensorProto, helper

from edge.model.backbone import BACKBONES, NORMALISATIONS, STAGE_AT, add_backbone, channels
from edge.model.onnxbuild import Builder

__all__ = [
    "OPSET",
    "FeatureOptions",
    "build_bank_model",
    "build_feature_model",
    "build_score_model",
    "n_features",
]

OPSET = 17
_LEVELS = 3
_PER_LEVEL = 4  # smoothed, gradient magnitude, Hessian eigenvalues (2)


@dataclass(frozen=True)
class FeatureOptions:
    """The feature extractor: input size, pooling grid, and either the hand-made filter bank
    (``features="filters"``, with optional illumination flattening) or the stages of a pretrained
    EfficientNet-Lite (``features`` a key of ``BACKBONES``: ``"lite0"``, ``"lite1"``,
    ``"lite2"``; with its input normalisation ``norm`` and the ``strides`` of the stages taken,
    all brought onto the stride-8 grid)."""

    size: int = 64
    grid: int = 8
    flatten: bool = False
    features: str = "filters"
    norm: str = "imagenet"
    strides: tuple[int, ...] = (8, 16)

    def check(self) -> None:
        if self.features in BACKBONES:
            if self.size % 16 or (self.size // 8) % self.grid:
                raise ValueError(
                    f"the pretrained backbone needs an input size that is a multiple of 16 and "
                    f"a grid that divides size / 8; got size {self.size}, grid {self.grid}"
                )
            if self.norm not in NORMALISATIONS:
                raise ValueError(f"unknown input normalisation {self.norm!r}")
            if not self.strides or any(s not in STAGE_AT for s in self.strides):
                raise ValueError(f"backbone strides must be among {sorted(STAGE_AT)}")
            if 32 in self.strides and self.size % 32:
                raise ValueError(f"the stride-32 stage needs a multiple of 32, got {self.size}")
            return
        if self.features != "filters":
            raise ValueError(
                f"features must be filters or one of {', '.join(BACKBONES)}, got {self.features!r}"
            )
        cell = self.size // self.grid
        if self.size % self.grid or cell % (2 ** (_LEVELS - 1)):
            raise ValueError(
                f"input size {self.size} must be a multiple of grid {self.grid} times "
                f"{2 ** (_LEVELS - 1)}"
            )


def n_features(opt: FeatureOptions | None = None) -> int:
    """Features per cell before PCA."""
    if opt is not None and opt.features in BACKBONES:
        width = channels(opt.features)
        return sum(width[s] for s in opt.strides)
    return _LEVELS * _PER_LEVEL * 2 + 4 + 5


def _gauss_kernels(sigma: float = 1.0, radius: int = 2) -> np.ndarray:
    """(6, 1, k, k): G, Gx, Gy, Gxx, Gyy, Gxy."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(x**2) / (2 * sigma**2))
    g /= g.sum()
    gx = -x / sigma**2 * g
    gxx = (x**2 / sigma**4 - 1 / sigma**2) * g
    gxx -= gxx.sum() * g  # no response to a constant
    ks = [
        np.outer(g, g),
        np.outer(g, gx),
        np.outer(gx, g),
        np.outer(g, gxx),
        np.outer(gxx, g),
        np.outer(gx, gx),
    ]
    return np.stack(ks)[:, None].astype(np.float32)


def _backbone_features(b: Builder, image: str, opt: FeatureOptions) -> str:
    """The chosen stages brought onto the stride-8 grid (the stride-4 one area-pooled, the coarser
    ones upsampled), concatenated, and area-pooled to the grid (PaDiM's recipe on a small
    pretrained network)."""
    maps = add_backbone(b, image, opt.size, opt.norm, opt.strides, opt.features)
    parts = []
    for s in opt.strides:
        m = maps[s]
        if s < 8:
            m = b.one(
                "AveragePool", [m], f"down{s}", kernel_shape=[8 // s] * 2, strides=[8 // s] * 2
            )
        elif s > 8:
            scale = np.array([1, 1, s // 8, s // 8], np.float32)
            m = b.one("Resize", [m, "", b.const(scale)], f"up{s}", mode="linear")
        parts.append(m)
    both = parts[0] if len(parts) == 1 else b.one("Concat", parts, "bb_feats", axis=1)
    k = opt.size // 8 // opt.grid
    if k > 1:
        both = b.one("AveragePool", [both], "bb_pool", kernel_shape=[k, k], strides=[k, k])
    return both


def _features(b: Builder, image: str, opt: FeatureOptions) -> str:
    """Nodes from the (N, 3, S, S) RGB input to (N, F, grid, grid) pooled features."""
    opt.check()
    if opt.features in BACKBONES:
        return _backbone_features(b, image, opt)
    s, g = opt.size, opt.grid
    color = np.array(
        [[0.299, 0.587, 0.114], [1.0, -1.0, 0.0], [0.5, 0.5, -1.0]], np.float32
    ).reshape(3, 3, 1, 1)
    ych = b.one("Conv", [image, b.const(color, "color_w")], "yc")
    y = b.one(
        "Slice",
        [
            ych,
            b.const(np.array([0], np.int64)),
            b.const(np.array([1], np.int64)),
            b.const(np.array([1], np.int64)),
        ],
        "lum",
    )
    chroma = b.one(
        "Slice",
        [
            ych,
            b.const(np.array([1], np.int64)),
            b.const(np.array([3], np.int64)),
            b.const(np.array([1], np.int64)),
        ],
        "chroma",
    )
    lum = y
    if opt.flatten:
        logy = b.one("Log", [b.one("Add", [y, b.const(np.float32(0.02))])], "logy")
        k = s // 4
        low = b.one("AveragePool", [logy], "low", kernel_shape=[k, k], strides=[k, k])
        up = b.one(
            "Resize", [low, "", b.const(np.array([1, 1, k, k], np.float32))], "up", mode="linear"
        )
        y = b.one("Sub", [logy, up], "flat")
    kernels = b.const(_gauss_kernels(), "dog")
    pads = b.const(np.array([0, 0, 2, 2, 0, 0, 2, 2], np.int64))
    pooled: list[str] = []
    level = y
    for lv in range(_LEVELS):
        res = s >> lv
        padded = b.one("Pad", [level, pads], "pad", mode="reflect")
        bank = b.one("Conv", [padded, kernels], "bank")
        parts = b.op("Split", [bank, b.const(np.array([1] * 6, np.int64))], "d", n_out=6, axis=1)
        assert isinstance(parts, list)
        gs, gx, gy, gxx, gyy, gxy = parts
        sq = lambda t: b.one("Mul", [t, t], "sq")  # noqa: E731
        eps = b.const(np.float32(1e-6))
        gm = b.one("Sqrt", [b.one("Add", [b.one("Add", [sq(gx), sq(gy)]), eps])], "gmag")
        half = b.const(np.float32(0.5))
        tr = b.one("Mul", [b.one("Add", [gxx, gyy]), half], "htr")
        df = b.one("Mul", [b.one("Sub", [gxx, gyy]), half], "hdf")
        rad = b.one("Sqrt", [b.one("Add", [b.one("Add", [sq(df), sq(gxy)]), eps])], "rad")
        l1 = b.one("Add", [tr, rad], "l1")
        l2 = b.one("Sub", [tr, rad], "l2")
        maps = b.one("Concat", [gs, gm, l1, l2], "maps", axis=1)
        k = res // g
        pooled.append(b.one("AveragePool", [maps], "mean", kernel_shape=[k, k], strides=[k, k]))
        pooled.append(
            b.one("AveragePool", [sq(maps)], "energy", kernel_shape=[k, k], strides=[k, k])
        )
        if lv + 1 < _LEVELS:
            level = b.one("AveragePool", [gs], "down", kernel_shape=[2, 2], strides=[2, 2])
    k = s // g
    pooled.append(b.one("AveragePool", [chroma], "cmean", kernel_shape=[k, k], strides=[k, k]))
    csq = b.one("Mul", [chroma, chroma], "csq")
    pooled.append(b.one("AveragePool", [csq], "cenergy", kernel_shape=[k, k], strides=[k, k]))
    # extremes per cell catch what is small but strong (a hair, a plastic fleck): the darkest
    # luminance and both extremes of each chroma channel
    extremes = b.one("Concat", [b.one("Neg", [lum]), chroma, b.one("Neg", [chroma])], "ext", axis=1)
    pooled.append(b.one("MaxPool", [extremes], "extreme", kernel_shape=[k, k], strides=[k, k]))
    return b.one("Concat", pooled, "features", axis=1)


def _input(opt: FeatureOptions, name: str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 3, opt.size, opt.size])


def _model(
    b: Builder, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto], name: str
) -> onnx.ModelProto:
    graph = helper.make_graph(b.nodes, name, inputs, outputs, b.inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="peakline"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_feature_model(opt: FeatureOptions, input_name: str = "image") -> onnx.ModelProto:
    """A graph with output ``features`` (N, F, grid, grid), used while fitting."""
    b = Builder()
    feats = _features(b, input_name, opt)
    b.nodes.append(helper.make_node("Identity", [feats], ["features"]))
    out = helper.make_tensor_value_info(
        "features", TensorProto.FLOAT, ["N", n_features(opt), opt.grid, opt.grid]
    )
    return _model(b, [_input(opt, input_name)], [out], "peakline_features")


def _score_and_map(
    b: Builder, dist: str, grid: int, region: np.ndarray | None
) -> list[onnx.ValueInfoProto]:
    """Outputs ``map`` (N, grid, grid) from the cell distances (N, cells) and ``score`` (N,),
    their maximum (over the ``region`` cells only, when given)."""
    b.nodes.append(
        helper.make_node("Reshape", [dist, b.const(np.array([-1, grid, grid], np.int64))], ["map"])
    )
    scored = dist
    if region is not None:
        weight = b.const(np.asarray(region, np.float32).reshape(1, grid * grid), "region")
        scored = b.one("Mul", [dist, weight], "in_region")  # distances are >= 0
    b.nodes.append(helper.make_node("ReduceMax", [scored], ["score"], axes=[1], keepdims=0))
    return [
        helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N"]),
        helper.make_tensor_value_info("map", TensorProto.FLOAT, ["N", grid, grid]),
    ]


def build_bank_model(
    opt: FeatureOptions,
    projection: np.ndarray,
    bias: np.ndarray,
    bank: np.ndarray,
    input_name: str = "image",
    region: np.ndarray | None = None,
) -> onnx.ModelProto:
    """The PatchCore-style model (see ``edge.model.patchcore``): features averaged over each
    cell's 3x3 neighbours, projected by ``projection`` (d, F) and ``bias`` (d,); each cell's
    distance to its nearest row of ``bank`` (M, d) as one MatMul, the squared norms and a
    ReduceMin. Same outputs as :func:`build_score_model` (without a naming head)."""
    b = Builder()
    feats = _features(b, input_name, opt)
    agg = b.one(
        "AveragePool",
        [feats],
        "patch3",
        kernel_shape=[3, 3],
        strides=[1, 1],
        pads=[1, 1, 1, 1],
        count_include_pad=0,
    )
    d = projection.shape[0]
    cells = opt.grid * opt.grid
    w = projection.astype(np.float32).reshape(d, -1, 1, 1)
    z = b.one("Conv", [agg, b.const(w, "pca_w"), b.const(bias.astype(np.float32), "pca_b")], "pca")
    flat = b.one("Reshape", [z, b.const(np.array([0, d, cells], np.int64))], "cells")
    per_item = b.one("Transpose", [flat], "by_item", perm=[0, 2, 1])  # (N, cells, d)
    bank32 = bank.astype(np.float32)
    cross = b.one("MatMul", [per_item, b.const((-2.0 * bank32.T).astype(np.float32), "bank")])
    bsq = b.const(np.einsum("md,md->m", bank32, bank32).astype(np.float32), "bank_sq")
    nearest = b.one("ReduceMin", [b.one("Add", [cross, bsq])], "nearest", axes=[2], keepdims=0)
    zsq = b.one("ReduceSumSquare", [per_item], "zsq", axes=[2], keepdims=0)  # (N, cells)
    d2 = b.one("Relu", [b.one("Add", [nearest, zsq])], "d2")
    dist = b.one("Sqrt", [d2], "dist")
    outs = _score_and_map(b, dist, opt.grid, region)
    return _model(b, [_input(opt, input_name)], outs, "peakline_patchcore")


def build_score_model(
    opt: FeatureOptions,
    projection: np.ndarray,
    bias: np.ndarray,
    means: np.ndarray,
    whiten: np.ndarray,
    input_name: str = "image",
    head: tuple[np.ndarray, np.ndarray] | None = None,
    region: np.ndarray | None = None,
    whiten_storage: Literal["float16", "float32"] = "float16",
) -> onnx.ModelProto:
    """The full anomaly model.

    ``projection`` (d, F) and ``bias`` (d,) map raw cell features to standardised principal
    components; ``means`` (cells, d) and ``whiten`` (cells, d, d) give each cell's distance as
    ``|| (z - mean) @ whiten ||``. With ``head`` = (weights (cells + 3d, K), bias (K,)), a
    softmax over K defect types is added as output ``defect_probs``, computed from the distance
    map and the mean, max and min over cells of each whitened component (see
    ``edge.model.classifier``). ``region`` (cells,) of 0/1 restricts the score to the cells
    of the item itself (the map still shows every cell). ``whiten_storage``: the whitening
    matrices, most of the file, are stored as float16 behind a Cast that ONNX Runtime folds at
    load (inference stays float32; a full 152-channel covariance at 16x16 cells: 26.7 -> 14.9
    MB), or as float32.
    """
    b = Builder()
    feats = _features(b, input_name, opt)
    d = projection.shape[0]
    cells = opt.grid * opt.grid
    w = projection.astype(np.float32).reshape(d, -1, 1, 1)
    z = b.one(
        "Conv", [feats, b.const(w, "pca_w"), b.const(bias.astype(np.float32), "pca_b")], "pca"
    )
    flat = b.one("Reshape", [z, b.const(np.array([0, d, cells], np.int64))], "cells")
    per_cell = b.one("Transpose", [flat], "by_cell", perm=[2, 0, 1])  # (cells, N, d)
    centred = b.one(
        "Sub",
        [per_cell, b.const(means.astype(np.float32).reshape(cells, 1, d), "cell_mean")],
        "centred",
    )
    store = b.half_const if whiten_storage == "float16" else b.const
    white = b.one("MatMul", [centred, store(whiten.astype(np.float32), "cell_whiten")], "white")
    d2 = b.one("ReduceSumSquare", [white], "d2", axes=[2], keepdims=0)  # (cells, N)
    dist = b.one("Sqrt", [b.one("Transpose", [d2], "d2t", perm=[1, 0])], "dist")  # (N, cells)
    outs = _score_and_map(b, dist, opt.grid, region)
    if head is not None:
        summary = [dist] + [
            b.one(op, [white], op.lower(), axes=[0], keepdims=0)
            for op in ("ReduceMean", "ReduceMax", "ReduceMin")
        ]
        vec = b.one("Concat", summary, "head_in", axis=1)
        weights, bias_k = head
        logits = b.one(
            "Gemm",
            [
                vec,
                b.const(weights.astype(np.float32), "head_w"),
                b.const(bias_k.astype(np.float32), "head_b"),
            ],
            "logits",
        )
        b.nodes.append(helper.make_node("Softmax", [logits], ["defect_probs"], axis=1))
        outs.append(
            helper.make_tensor_value_info("defect_probs", TensorProto.FLOAT, ["N", len(bias_k)])
        )
    return _model(b, [_input(opt, input_name)], outs, "peakline_padim")
