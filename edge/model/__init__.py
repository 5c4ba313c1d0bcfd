"""Inspection models built from recorded frames: the model card, the ONNX anomaly graph, fitting,
calibration, evaluation and the scorer the edge runs.

Import the submodules (``edge.model.card``, ``edge.model.scorer``, ``edge.model.fit``, ...);
this package imports nothing heavy by itself.
"""

__all__: list[str] = []
