"""Run a carded ONNX model: the one scoring path of ``peakline model eval`` and the camera node.

``Scorer(path)`` reads the card, opens an ONNX Runtime session on the chosen execution providers
and warms it up once. ``score(batch)`` takes input prepared with ``card.preprocess_spec()`` (for
example by ``edge.fastpath.preprocess`` over ``card.roi_for`` crops) and returns one anomaly score
per item; for a classifier the score is ``1 - P(good)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.model.card import ModelCard, read_card
from peakline.errors import ModelError

__all__ = ["Scorer", "available_providers"]

_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "dml": "DmlExecutionProvider",
}


def available_providers() -> list[str]:
    """ONNX Runtime execution providers usable on this machine."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


class Scorer:
    """An ONNX Runtime session for one carded model."""

    def __init__(
        self, model_path: str | Path, providers: list[str] | None = None, threads: int = 2
    ) -> None:
        import onnxruntime as ort

        self.path = Path(model_path)
        self.card: ModelCard = read_card(self.path)
        wanted = [_ALIASES.get(p.lower(), p) for p in (providers or ["CPUExecutionProvider"])]
        have = available_providers()
        missing = [p for p in wanted if p not in have]
        if missing:
            raise ModelError(
                f"execution provider(s) {', '.join(missing)} not available here; "
                f"available: {', '.join(have)}"
            )
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = 1
        # Between batches the intra-op workers would spin for the next one: on a paced line
        # (30 fps) that doubled or tripled the node's CPU per frame on 2 cores.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(self.path), so, providers=wanted)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ModelError(f"{self.path}: ONNX Runtime cannot load the model: {exc}") from exc
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        inp = self.card.input
        if inp.name not in inputs:
            raise ModelError(
                f"{self.path}: the card names input {inp.name!r}, the graph has {sorted(inputs)}"
            )
        for out_name in (self.card.output.name, self.card.output.class_name):
            if out_name and out_name not in outputs:
                raise ModelError(
                    f"{self.path}: the card names output {out_name!r}, "
                    f"the graph has {sorted(outputs)}"
                )
        self.providers = self.session.get_providers()
        self.spec: Any = self.card.preprocess_spec()
        self._dtype = np.uint8 if inp.dtype == "uint8" else np.float32
        self._shape = (inp.channels, inp.height, inp.width)
        self._good = self._good_index()
        self.score(np.zeros((1, *self._shape), self._dtype))  # warm-up

    def _good_index(self) -> int | None:
        if self.card.kind != "classes":
            return None
        if "good" not in self.card.classes:
            raise ModelError(f"{self.path}: a classifier card must list a 'good' class")
        return self.card.classes.index("good")

    def _check(self, batch: np.ndarray) -> np.ndarray:
        arr = np.asarray(batch)
        if arr.ndim != 4 or arr.shape[1:] != self._shape:
            raise ModelError(
                f"batch must be (N, {', '.join(map(str, self._shape))}), got {arr.shape}"
            )
        return np.ascontiguousarray(arr, dtype=self._dtype)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run([self.card.output.name], {self.card.input.name: self._check(batch)})
        return np.asarray(out[0])

    def score(self, batch: np.ndarray) -> np.ndarray:
        """Anomaly score per item, (N,) float32 (classifiers: ``1 - P(good)``)."""
        raw = self._run(batch)
        if self._good is None:
            return raw.reshape(len(raw)).astype(np.float32)
        return (1.0 - raw[:, self._good]).astype(np.float32)

    def classify(self, batch: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
        """Scores and the most likely defect name per item: from a classifier, or from an
        anomaly model's defect-naming head; None when the model cannot name defects."""
        head = self.card.output.class_name
        if self._good is None and head:
            score, probs = self.session.run(
                [self.card.output.name, head], {self.card.input.name: self._check(batch)}
            )
            names = [self.card.classes[i] for i in np.asarray(probs).argmax(axis=1)]
            return np.asarray(score).reshape(len(names)).astype(np.float32), names
        raw = self._run(batch)
        if self._good is None:
            return raw.reshape(len(raw)).astype(np.float32), None
        probs = raw.copy()
        probs[:, self._good] = -np.inf
        names = [self.card.classes[i] for i in probs.argmax(axis=1)]
        return (1.0 - raw[:, self._good]).astype(np.float32), names

    def anomaly_map(self, batch: np.ndarray) -> np.ndarray | None:
        """The per-cell distance map (N, g, g) when the model has one."""
        name = self.card.output.map_name
        if not name:
            return None
        return np.asarray(self.session.run([name], {self.card.input.name: self._check(batch)})[0])
