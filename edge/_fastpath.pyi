"""Type stub of the private C++ extension ``edge._fastpath`` (use ``edge.fastpath``)."""

from collections.abc import Sequence

import numpy as np

class Spec:
    def __init__(
        self,
        width: int,
        height: int,
        color: str = "rgb",
        scale: float = ...,
        mean: Sequence[float] = ...,
        std: Sequence[float] = ...,
        resize: str = "linear",
        fit: str = "stretch",
        fill: int = 114,
        output: str = "float32",
    ) -> None: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def channels(self) -> int: ...

def preprocess(
    frames: Sequence[np.ndarray],
    rois: np.ndarray,
    frame_index: np.ndarray | None,
    spec: Spec,
    out: np.ndarray | None,
    threads: int = 0,
) -> np.ndarray: ...
def letterbox_geometry(src_w: int, src_h: int, spec: Spec) -> tuple[float, int, int]: ...
def default_threads() -> int: ...
