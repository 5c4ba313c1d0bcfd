"""The reference model's throughput on this machine, per ONNX Runtime execution provider.

``peakline edge bench-ep`` runs it on a candidate edge device (``pip install peakline`` there,
with the onnxruntime package that has the device's providers):

    peakline edge bench-ep                                   # every provider onnxruntime has
    peakline edge bench-ep --ep CUDAExecutionProvider --seconds 10

The reference model is a small 4-convolution CNN at 224x224, built here with fixed weights,
so every device runs the same graph. The command prints a table, a TOML block to paste under
the device in ``hardware/targets.toml`` (``source = "measured"``), which ``peakline edge
size`` then uses, and as its last line one JSON object.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

__all__ = ["MODEL", "available_providers", "build_model", "measure", "report"]

#: the reference model's name in ``hardware/targets.toml``
MODEL = "peakline-ref-cnn4-224"


def build_model(size: int = 224, seed: int = 7) -> bytes:
    """The reference CNN as ONNX bytes: 4 stride-2 conv+ReLU, global pool, linear score."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    channels = [3, 16, 32, 64, 64]
    prev = "input"
    for i, (cin, cout) in enumerate(itertools.pairwise(channels)):
        w = (rng.standard_normal((cout, cin, 3, 3)) / np.sqrt(cin * 9)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"),
                  numpy_helper.from_array(np.zeros(cout, np.float32), f"b{i}")]
        nodes += [
            helper.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"],
                             kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
        ]
        prev = f"r{i}"
    fc = (rng.standard_normal((channels[-1], 1)) / 8).astype(np.float32)
    fb = np.zeros(1, np.float32)
    inits += [numpy_helper.from_array(fc, "fc"), numpy_helper.from_array(fb, "fb")]
    nodes += [
        helper.make_node("GlobalAveragePool", [prev], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc", "fb"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes, "ref_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def measure(ep: str, batch: int, seconds: float, threads: int) -> dict[str, float | str | int]:
    """Images/s and median batch latency of the reference model on ``ep``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    providers = [ep] if ep == "CPUExecutionProvider" else [ep, "CPUExecutionProvider"]
    session = ort.InferenceSession(build_model(), opts, providers=providers)
    used = session.get_providers()[0]
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)
    for _ in range(5):  # warm-up (TensorRT builds its engine here)
        session.run(None, {"input": x})
    latencies: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(latencies) < 5:
        t0 = time.perf_counter()
        session.run(None, {"input": x})
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return {
        "ep": used, "batch": batch, "batches": len(latencies),
        "images_per_s": round(batch * len(latencies) / total, 1),
        "batch_latency_ms": round(statistics.median(latencies) * 1000, 2),
    }


def available_providers() -> list[str]:
    """The execution providers this onnxruntime build can run (Azure's is a remote service)."""
    import onnxruntime as ort

    return [p for p in ort.get_available_providers() if p != "AzureExecutionProvider"]


def report(rows: list[dict[str, Any]], machine: str) -> str:
    """The table, the TOML block for ``hardware/targets.toml`` and the JSON line."""
    import onnxruntime as ort

    when = datetime.now(UTC).strftime("%Y-%m-%d")
    out = [f"{'provider':<28} {'batch':>5} {'images/s':>10} {'batch ms':>9}"]
    out += [f"{r['ep']:<28} {r['batch']:>5} {r['images_per_s']:>10} {r['batch_latency_ms']:>9}"
            for r in rows]
    out.append("\n# paste under the device in hardware/targets.toml:")
    out += [f'[[edge_devices.measured]]\nep = "{r["ep"]}"\nmodel = "{MODEL}"\n'
            f'batch = {r["batch"]}\nimages_per_s = {r["images_per_s"]}\n'
            f'batch_latency_ms = {r["batch_latency_ms"]}\nsource = "measured"\n'
            f'measured_on = "{machine}, onnxruntime {ort.__version__}, {when}"\n'
            for r in rows]
    out.append(json.dumps({"bench": "edge_ep", "model": MODEL, "onnxruntime": ort.__version__,
                           "machine": machine, "results": rows}))
    return "\n".join(out)
