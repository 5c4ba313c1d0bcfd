"""PatchCore-style scoring: the coreset, the ONNX graph against NumPy, and a fit end to end."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from edge.model.evaluate import eval_model
from edge.model.fit import extract_features, fit_model
from edge.model.graph import FeatureOptions, build_bank_model
from edge.model.patchcore import _coreset, aggregate, fit_bank, score_bank
from peakline.errors import DataError


def test_coreset_reaches_every_cluster() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 50, (6, 8)).astype(np.float32)
    x = np.concatenate([c + rng.normal(0, 0.1, (200, 8)).astype(np.float32) for c in centres])
    chosen = _coreset(x, 6, rng)
    assert sorted({int(i) // 200 for i in chosen}) == list(range(6))


def test_aggregate_matches_onnx_average_pool() -> None:
    feats = np.random.default_rng(1).random((2, 3, 5, 5)).astype(np.float32)
    mine = aggregate(feats)
    assert mine[0, 0, 0, 0] == pytest.approx(feats[0, 0, :2, :2].mean(), rel=1e-5)
    assert mine[1, 2, 2, 2] == pytest.approx(feats[1, 2, 1:4, 1:4].mean(), rel=1e-5)


def _texture(rng: np.random.Generator, n: int, size: int = 48) -> np.ndarray:
    """(n, 3, size, size) model inputs: a woven texture at a random phase."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = []
    for _ in range(n):
        ph = rng.uniform(0, 2 * np.pi, 2)
        img = 0.5 + 0.2 * np.sin(xx * 0.8 + ph[0]) * np.sin(yy * 0.8 + ph[1])
        img += rng.normal(0, 0.02, img.shape)
        out.append(np.repeat(img[None], 3, axis=0))
    return np.clip(np.stack(out), 0, 1).astype(np.float32)


def test_graph_scores_as_numpy() -> None:
    rng = np.random.default_rng(2)
    opt = FeatureOptions(32, 8, False)
    good = _texture(rng, 30, 32)
    feats = aggregate(extract_features(good, opt))
    bank = fit_bank(feats[:20])
    model = build_bank_model(opt, bank.projection, bank.bias, bank.bank)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    score, dmap = sess.run(["score", "map"], {"image": good[20:]})
    ref, ref_map = score_bank(bank, feats[20:])
    assert np.allclose(score, ref, rtol=1e-3, atol=1e-3)
    assert np.allclose(dmap.reshape(10, -1), ref_map, rtol=1e-3, atol=1e-3)
    # a patch of the bank itself is at distance ~0, a dark blot far from every good patch
    blot = good[20:21].copy()
    blot[:, :, 10:18, 10:18] = 0.0
    assert sess.run(["score"], {"image": blot})[0][0] > 2 * score.max()


def _write(folder: Path, images: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        bgr = (img.transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), bgr)


def test_fit_with_patchcore_on_a_texture(tmp_path: Path) -> None:
    """A texture at random phases: the good patches occur anywhere, which a bank of patches
    learns; the fitted model finds dark flecks."""
    rng = np.random.default_rng(3)
    _write(tmp_path / "d" / "train" / "good", _texture(rng, 40))
    _write(tmp_path / "d" / "test" / "good", _texture(rng, 12))
    bad = _texture(rng, 12)
    for k, img in enumerate(bad):
        y, x = 6 + 3 * k, 40 - 3 * k
        img[:, y : y + 4, x - 4 : x] = 0.05
    _write(tmp_path / "d" / "test" / "fleck", bad)
    out = tmp_path / "m.onnx"
    card = fit_model(tmp_path / "d", out, size=48, features="filters", scoring="patchcore")
    assert card.options["scoring"] == "patchcore" and card.options["bank"] > 0
    assert card.calibration.method.startswith("out-of-fold")
    report = eval_model(out, tmp_path / "d")
    assert report["overall"]["auroc"] > 0.9


def test_bad_scoring_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="scoring must be"):
        fit_model(tmp_path, tmp_path / "m.onnx", scoring="knn")
    with pytest.raises(DataError, match="--scoring padim"):
        fit_model(tmp_path, tmp_path / "m.onnx", scoring="patchcore", classifier=True)
    assert not (tmp_path / "m.onnx").exists()
