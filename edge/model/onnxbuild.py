"""A small helper to write ONNX graphs node by node, with unique names and constants."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

__all__ = ["Builder"]


class Builder:
    """Tiny helper to add nodes and constants with unique names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value: Any, hint: str = "c") -> str:
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(value), n))
        return n

    def op(
        self,
        op_type: str,
        inputs: list[str],
        hint: str | None = None,
        n_out: int = 1,
        **attrs: Any,
    ) -> str | list[str]:
        outs = [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    def one(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: object) -> str:
        out = self.op(op_type, inputs, hint, 1, **attrs)
        assert isinstance(out, str)
        return out
