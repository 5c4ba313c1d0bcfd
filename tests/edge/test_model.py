"""The anomaly model: fit, card, scorer, eval/edge parity, calibration and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto

from edge.fastpath import preprocess
from edge.model.calibration import item_region, robust_thresholds
from edge.model.card import CARD_KEY, read_card, write_card
from edge.model.data import load_items
from edge.model.evaluate import calibrate_model, eval_model, score_items
from edge.model.fit import BRIGHTNESS, _brighter, choose_size, extract_features, fit_model
from edge.model.graph import FeatureOptions
from edge.model.metrics import auroc, auroc_gain, summarize, threshold_for_frr
from edge.model.scorer import Scorer, available_providers
from edge.model.stats import fit_stats, score_stats
from edge.recording import read_recording
from peakline.cli import main
from peakline.errors import DataError, ModelError


@pytest.fixture(scope="session")
def model_path(recording_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted on the committed recording's good items."""
    path = tmp_path_factory.mktemp("model") / "line_short.onnx"
    fit_model(recording_dir, path, size=64)
    return path


def test_card_describes_the_model(model_path: Path, recording_dir: Path) -> None:
    card = read_card(model_path)
    assert card.kind == "anomaly" and card.output.kind == "anomaly_score"
    assert (card.input.width, card.input.height, card.input.layout) == (64, 64, "NCHW")
    assert card.thresholds.uncertain <= card.thresholds.reject
    assert card.calibration.target_frr == 0.01 and card.calibration.n_good >= 25
    assert len(card.data_digest) == 64
    assert card.metrics["defects_in_data"]["auroc"] > 0.9
    spec = card.preprocess_spec()
    assert (spec.width, spec.height, spec.color) == (64, 64, "rgb")
    # the crop policy: a square around the bbox centre, kept inside the frame
    assert card.roi_for((100, 100, 150, 160), 1280, 720) == (83, 88, 184, 184)
    assert card.roi_for((0, 600, 150, 120), 1280, 720) == (0, 548, 172, 172)


def test_scorer_matches_fitted_statistics(model_path: Path, recording_dir: Path) -> None:
    scorer = Scorer(model_path)
    items = load_items(recording_dir, scorer.spec, with_digest=False)
    good = items.subset(items.is_good)
    opt = FeatureOptions(64, scorer.card.options["grid"], scorer.card.options["flatten"])
    feats = extract_features(good.x, opt)
    shifted = [extract_features(_brighter(good.x, g), opt) for g in BRIGHTNESS]
    stats = fit_stats(np.concatenate([feats, *shifted]), scorer.card.options["components"])
    assert scorer.card.options["score_region"] == "item"  # a recording: the belt is not scored
    region = item_region(opt.grid, scorer.card.crop.margin)
    assert 0 < region.sum() < region.size
    got, want = scorer.score(good.x), score_stats(stats, feats, region)[0]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
    # the file's whitening is float16: the scores stay within 1e-3 of the threshold of the
    # float32 reference
    assert np.abs(got - want).max() <= 1e-3 * scorer.card.thresholds.reject


def test_whitening_is_stored_as_float16(model_path: Path, tmp_path: Path) -> None:
    """The per-cell whitening matrices, the largest constant, are float16 in the file behind a
    Cast that ONNX Runtime folds when it loads the model, so inference runs in float32."""
    graph = onnx.load(str(model_path)).graph
    biggest = max(graph.initializer, key=lambda t: int(np.prod(t.dims)))
    assert biggest.name.startswith("cell_whiten") and biggest.data_type == TensorProto.FLOAT16
    assert read_card(model_path).options["whiten_storage"] == "float16"
    so = ort.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "loaded.onnx")
    ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    loaded = onnx.load(str(tmp_path / "loaded.onnx")).graph
    assert not [n.name for n in loaded.node if n.op_type == "Cast"]
    assert all(t.data_type != TensorProto.FLOAT16 for t in loaded.initializer)


def test_edge_and_eval_give_the_same_score(model_path: Path, recording_dir: Path) -> None:
    """The camera node's path (frame -> card.roi_for -> fastpath -> Scorer) and model eval's.

    Both share that code by design (one source of truth); whether that code is right is
    checked against an independent path in the next test.
    """
    scorer = Scorer(model_path)
    rec = read_recording(recording_dir)
    best = rec.best_views()
    frame_no = max(
        {r.frame for r in best.values()}, key=lambda f: sum(r.frame == f for r in best.values())
    )
    rows = sorted((r for r in best.values() if r.frame == frame_no), key=lambda r: r.item)
    frame = next(f for i, f in rec.frames(frame_no, frame_no + 1))
    card = scorer.card
    rois = np.array([card.roi_for(r.bbox, rec.meta.width, rec.meta.height) for r in rows])
    edge_scores = scorer.score(preprocess(frame, rois, card.preprocess_spec()))

    items = load_items(recording_dir, scorer.spec, margin=card.crop.margin, with_digest=False)
    eval_scores, _ = score_items(scorer, items)
    by_name = dict(zip(items.names, eval_scores, strict=True))
    expected = [by_name[f"item {r.item} (frame {r.frame})"] for r in rows]
    np.testing.assert_array_equal(edge_scores, np.array(expected, np.float32))


def _independent_scores(
    model_path: Path, recording_dir: Path,
) -> tuple[list[dict], np.ndarray, dict]:
    """Scores from a path that shares no code with the node's: labels.jsonl read as JSON, the
    square crop computed here, cv2 resize + colour + normalise with the card's parameters read
    from the ONNX metadata, and an onnxruntime session of its own."""
    import onnxruntime as ort

    proto = onnx.load(str(model_path), load_external_data=False)
    card = json.loads({m.key: m.value for m in proto.metadata_props}[CARD_KEY])
    inp, margin = card["input"], card["crop"]["margin"]
    assert (inp["color"], inp["fit"], inp["layout"], inp["dtype"]) == (
        "rgb", "stretch", "NCHW", "float32"), "this reference handles the fitted card's input"
    lines = (recording_dir / "labels.jsonl").read_text().splitlines()
    labels = [json.loads(line) for line in lines]
    video = cv2.VideoCapture(str(recording_dir / "video.mp4"))
    ok, frame = video.read()  # frame 0
    video.release()
    assert ok
    fh, fw = frame.shape[:2]
    rows = [r for r in labels if r["frame"] == 0 and r["full"]]
    crops = []
    for r in rows:
        x, y, w, h = r["bbox"]
        side = min(round(max(w, h) * (1 + margin)), fw, fh)
        x0 = min(max(round(x + w / 2 - side / 2), 0), fw - side)
        y0 = min(max(round(y + h / 2 - side / 2), 0), fh - side)
        interp = cv2.INTER_AREA if inp["resize"] == "area" else cv2.INTER_LINEAR
        img = cv2.resize(frame[y0:y0 + side, x0:x0 + side], (inp["width"], inp["height"]),
                         interpolation=interp)
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32)
        norm = (rgb * inp["scale"] - np.float32(inp["mean"])) / np.float32(inp["std"])
        crops.append(norm.transpose(2, 0, 1))
        r["roi"] = (x0, y0, side, side)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    out = session.run([card["output"]["name"]], {inp["name"]: np.stack(crops)})[0]
    return rows, np.asarray(out, np.float32).reshape(len(rows)), card


def test_edge_scores_agree_with_an_independent_path(model_path: Path, recording_dir: Path) -> None:
    """The node's path (card.roi_for -> fastpath -> Scorer) against :func:`_independent_scores`."""
    rows, expected, card = _independent_scores(model_path, recording_dir)
    assert len(rows) >= 4 and {r["label"] for r in rows} - {"good"}, "frame 0 lacks a defect"
    scorer = Scorer(model_path)
    frame = next(f for _i, f in read_recording(recording_dir).frames(0, 1))
    rois = np.array([scorer.card.roi_for(r["bbox"], frame.shape[1], frame.shape[0])
                     for r in rows])
    assert [tuple(r) for r in rois.tolist()] == [r["roi"] for r in rows]
    edge = scorer.score(preprocess(frame, rois, scorer.card.preprocess_spec()))
    # fastpath matches cv2 to one intensity level; the scores may move by as little
    np.testing.assert_allclose(edge, expected, rtol=0.02, atol=0.02 * float(np.median(expected)))
    t = card["thresholds"]
    for r, a, b in zip(rows, edge, expected, strict=True):
        if not (t["reject"] / 1.1 < b < t["reject"] * 1.1):
            assert (a >= t["reject"]) == (b >= t["reject"]), (r, a, b)
    # the check is not vacuous: the defects score above the good items here
    bad = [s for r, s in zip(rows, expected, strict=True) if r["label"] != "good"]
    good = [s for r, s in zip(rows, expected, strict=True) if r["label"] == "good"]
    assert min(bad) > max(good), (bad, good)


def test_eval_cli_reports_per_defect_and_json(
    model_path: Path, recording_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "eval", "--model", str(model_path), "--data", str(recording_dir)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    last = json.loads(out[-1])
    assert last["auroc"] > 0.95  # in-sample good items; the bench measures fresh recordings
    assert set(last["per_defect"]) >= {"crack", "burnt", "chipped", "empty_slot"}
    assert sum(last["confusion"]["good"].values()) == last["n_good"]
    assert any(line.startswith("overall") for line in out)


def test_calibrate_rewrites_the_card(
    model_path: Path, recording_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "m.onnx"
    copy.write_bytes(model_path.read_bytes())
    assert (
        main(
            [
                "model",
                "calibrate",
                "--model",
                str(copy),
                "--data",
                str(recording_dir),
                "--target-frr",
                "0.05",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    card = read_card(copy)
    assert card.calibration.method.startswith("held-out") and card.calibration.target_frr == 0.05
    assert "held-out good items" in card.calibration.trust
    assert card.thresholds.reject == pytest.approx(result["reject"])
    assert card.calibration.frr <= 0.05


def test_fit_on_dataset_folder_and_eval(recording_dir: Path, tmp_path: Path) -> None:
    assert (
        main(
            [
                "model",
                "export-crops",
                "--data",
                str(recording_dir),
                "--out",
                str(tmp_path / "ds"),
                "--size",
                "96",
            ]
        )
        == 0
    )
    card = fit_model(tmp_path / "ds", tmp_path / "ds.onnx", size=64, grid=8, flatten=False)
    assert card.options == {**card.options, "grid": 8, "flatten": False}
    report = eval_model(tmp_path / "ds.onnx", tmp_path / "ds")
    assert report["data"]["kind"] == "dataset"
    assert report["overall"]["auroc"] > 0.8


def test_bad_model_files(tmp_path: Path, model_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        read_card(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 definitely not a protobuf" * 10)
    with pytest.raises(ModelError, match="not an ONNX model"):
        read_card(junk)
    bare = tmp_path / "bare.onnx"
    proto = onnx.load(str(model_path))
    del proto.metadata_props[:]
    onnx.save(proto, str(bare))
    with pytest.raises(ModelError, match="no Peakline model card"):
        Scorer(bare)
    bad = tmp_path / "bad.onnx"
    entry = proto.metadata_props.add()
    entry.key, entry.value = CARD_KEY, json.dumps({"name": "x", "unknown_field": 1})
    onnx.save(proto, str(bad))
    with pytest.raises(ModelError, match="card is invalid"):
        read_card(bad)
    write_card(bad, read_card(model_path))
    assert read_card(bad).version == read_card(model_path).version


@pytest.mark.parametrize("kind", ["junk", "bare"])
def test_eval_cli_bad_model(
    kind: str,
    tmp_path: Path,
    model_path: Path,
    recording_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / f"{kind}.onnx"
    if kind == "junk":
        path.write_text("not a model")
    else:
        proto = onnx.load(str(model_path))
        del proto.metadata_props[:]
        onnx.save(proto, str(path))
    code = main(["model", "eval", "--model", str(path), "--data", str(recording_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert ("not an ONNX model" if kind == "junk" else "no Peakline model card") in err


def test_unknown_execution_provider(model_path: Path) -> None:
    with pytest.raises(ModelError, match=r"available: .*CPUExecutionProvider"):
        Scorer(model_path, providers=["NoSuchExecutionProvider"])
    scorer = Scorer(model_path, providers=["cpu"], threads=1)
    assert "CPUExecutionProvider" in available_providers()
    scores, names = scorer.classify(np.zeros((2, 3, 64, 64), np.float32))
    assert scores.shape == (2,) and scores.dtype == np.float32 and names is None
    with pytest.raises(ModelError, match="batch must be"):
        scorer.score(np.zeros((2, 3, 32, 32), np.float32))


def _images(folder: Path, n: int, size: tuple[int, int] = (48, 48)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(
            str(folder / f"{i:03d}.png"),
            rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8),
        )


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "is empty"),
        ("single", "1 good item"),
        ("no_good", "0 good item"),
        ("unreadable", "broken.jpg is not a readable image"),
    ],
)
def test_fit_bad_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, message: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    if setup == "single":
        _images(data / "train" / "good", 1)
    elif setup == "no_good":
        _images(data / "test" / "crack", 12)
    elif setup == "unreadable":
        _images(data / "train" / "good", 3)
        (data / "train" / "good" / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    code = main(["model", "fit", "--data", str(data), "--out", str(tmp_path / "m.onnx")])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with pytest.raises(DataError):
        fit_model(data, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_any_real_dataset_goes_in(tmp_path: Path) -> None:
    """Photos of different sizes, grey or colour, png/jpg/bmp, non-square, one large: all are
    brought to the model input (the crop policy is in the card), none is refused."""
    rng = np.random.default_rng(1)
    good = tmp_path / "data" / "train" / "good"
    good.mkdir(parents=True)
    for i in range(14):
        h, w = (int(v) for v in rng.integers(40, 120, 2))
        img = cv2.GaussianBlur(rng.integers(90, 160, (h, w, 3), dtype=np.uint8), (5, 5), 0)
        if i % 3 == 0:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        cv2.imwrite(str(good / f"g{i:02d}.{('png', 'jpg', 'bmp')[i % 3]}"), img)
    big = cv2.resize(cv2.imread(str(good / "g01.jpg")), (3650, 2740))  # 10 megapixels
    cv2.imwrite(str(good / "g99.jpg"), big)
    defect = tmp_path / "data" / "test" / "crack"
    defect.mkdir(parents=True)
    img = cv2.imread(str(good / "g02.bmp"))
    cv2.line(img, (5, 5), (img.shape[1] - 5, img.shape[0] - 5), (0, 0, 0), 3)
    cv2.imwrite(str(defect / "d0.png"), img)
    card = fit_model(tmp_path / "data", tmp_path / "m.onnx", size=32)
    assert card.input.fit == "stretch" and card.options["score_region"] == "full"
    assert card.calibration.n_good == 15
    assert "only 15 held-out good items" in card.calibration.trust
    # PaDiM chooses among the feature candidates, PatchCore is tried on the chosen ones
    scorings = [t["scoring"] for t in card.options["candidates"]]
    assert scorings.count("patchcore") == 1 and scorings[-1] == "patchcore" and len(scorings) > 2


def test_paired_auroc_gain_and_its_standard_error() -> None:
    """The gain is the difference of the AUROCs; its DeLong standard error agrees with a
    bootstrap over the same items scored both ways."""
    rng = np.random.default_rng(0)
    good, bad = rng.normal(0, 1, 120), rng.normal(1.5, 1, 120)
    other = (good + rng.normal(0, 0.5, 120), bad + rng.normal(0.3, 0.5, 120))
    gain, se = auroc_gain((good, bad), other)
    assert gain == pytest.approx(auroc(*other) - auroc(good, bad))
    boot = []
    for _ in range(300):
        i, j = rng.integers(0, 120, 120), rng.integers(0, 120, 120)
        boot.append(auroc(other[0][i], other[1][j]) - auroc(good[i], bad[j]))
    assert se == pytest.approx(np.std(boot), rel=0.2) and se > 0
    assert auroc_gain((good, bad), (good, bad)) == (0.0, 0.0)
    with pytest.raises(ValueError, match="same items"):
        auroc_gain((good, bad), (good[:-1], bad))


def test_metrics() -> None:
    rng = np.random.default_rng(0)
    good, bad = rng.normal(0, 1, 200), rng.normal(1, 1, 50)
    brute = np.mean([(b > g) + 0.5 * (b == g) for b in bad for g in good])
    assert auroc(good, bad) == pytest.approx(brute)
    assert auroc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5
    for target in (0.01, 0.05, 0.2):
        thr, frr = threshold_for_frr(good, target)
        assert frr <= target and np.mean(good >= thr) == frr
    s = summarize(np.array([0.1, 0.2, 5.0, 0.15]), ["good", "good", "crack", "burnt"], 1.0, 0.18)
    assert s["overall"]["confusion"]["good"] == {"pass": 1, "uncertain": 1, "reject": 0}
    assert s["per_defect"]["crack"]["recall"] == 1.0 and s["per_defect"]["burnt"]["recall"] == 0


def test_defect_naming_head(recording_dir: Path, tmp_path: Path) -> None:
    """--classifier adds a head that names the defect; the reject decision is unchanged."""
    path = tmp_path / "named.onnx"
    card = fit_model(recording_dir, path, grid=8, flatten=False, classifier=True)
    assert card.output.class_name == "defect_probs" and len(card.classes) >= 2
    assert 0.0 <= card.metrics["defect_naming_cv_accuracy"] <= 1.0
    scorer = Scorer(path)
    items = load_items(recording_dir, scorer.spec, with_digest=False)
    scores, names = scorer.classify(items.x)
    assert names is not None and set(names) <= set(card.classes)
    np.testing.assert_array_equal(scores, scorer.score(items.x))
    report = eval_model(path, recording_dir)
    assert report["naming"]["n"] > 0 and report["naming"]["accuracy"] > 0.5


def test_defect_naming_needs_labelled_defects(recording_dir: Path, tmp_path: Path) -> None:
    from edge.recording.dataset import export_dataset

    export_dataset(recording_dir, tmp_path / "ds", size=64, test_fraction=0.0, include_empty=False)
    for folder in (tmp_path / "ds" / "test").iterdir():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    with pytest.raises(DataError, match="at least 3 labelled items"):
        fit_model(tmp_path / "ds", tmp_path / "m.onnx", grid=8, flatten=False, classifier=True)


def test_calibrate_on_the_line_tolerates_defects(
    model_path: Path, recording_dir: Path, tmp_path: Path
) -> None:
    """Learning the threshold from the line's items, a few defects among them unlabelled, gives
    about the threshold that the good items alone give, and the card says what it was set on."""
    scorer = Scorer(model_path)
    items = load_items(recording_dir, scorer.spec, with_digest=False)
    scores, _ = score_items(scorer, items)
    good = scores[items.is_good]
    few_defects = np.concatenate([good, scores[~items.is_good][:2]])  # about 5% defects
    clean = robust_thresholds(good, 0.05)
    line = robust_thresholds(few_defects, 0.05, contamination=0.05)
    assert line.reject == pytest.approx(clean.reject, rel=0.35)
    copy = tmp_path / "m.onnx"
    copy.write_bytes(model_path.read_bytes())
    result = calibrate_model(copy, recording_dir, 0.05, line=True, first=20)
    assert result["n_val"] == 20 and "first 20 items" in read_card(copy).calibration.method
    with pytest.raises(DataError, match="at least 3"):
        calibrate_model(copy, recording_dir, 0.05, line=True, first=2)


def test_input_size_is_chosen_from_the_data(
    recording_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert choose_size(recording_dir)[0] == 64  # the line's budget
    good = tmp_path / "big" / "train" / "good"
    _images(good, 3, (300, 200))
    size, why = choose_size(tmp_path / "big")
    assert size == 128 and "200 px" in why  # capped
    small = tmp_path / "small" / "train" / "good"
    _images(small, 12, (72, 40))
    assert choose_size(tmp_path / "small")[0] == 32
    out = tmp_path / "m.onnx"
    argv = [
        "model",
        "fit",
        "--data",
        str(tmp_path / "small"),
        "--out",
        str(out),
        "--features",
        "filters",
        "--fit",
        "letterbox",
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "input size 32 px (images' median shorter side 40 px" in err
    assert read_card(out).input.fit == "letterbox"
