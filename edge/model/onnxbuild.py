"""A small helper to write ONNX graphs node by node, with unique names and constants."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["HALF_MAX", "Builder", "fits_half"]

#: the largest magnitude float16 holds
HALF_MAX = float(np.finfo(np.float16).max)


def fits_half(a: np.ndarray) -> bool:
    """Whether every value of ``a`` is finite and within float16's range."""
    return bool(np.isfinite(a).all() and np.abs(a).max(initial=0.0) <= HALF_MAX)


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

    def half_const(self, value: np.ndarray, hint: str = "c") -> str:
        """A float32 constant stored as float16 (half the file) behind a Cast back to float32;
        ONNX Runtime folds the Cast when the session is created, so inference stays float32
        (on values rounded to float16: about 5e-4 relative per entry)."""
        a = np.asarray(value, np.float32)
        if not fits_half(a):
            raise ValueError(f"constant {hint!r} does not fit float16 (|x| <= {HALF_MAX})")
        stored = self.const(a.astype(np.float16), f"{hint}_f16")
        return self.one("Cast", [stored], hint, to=TensorProto.FLOAT)

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
