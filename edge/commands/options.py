"""Option checks only the camera node's commands need (ONNX Runtime execution providers)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from peakline.cliargs import Check

__all__ = ["Providers"]


@dataclass(frozen=True)
class Providers(Check):
    """Comma-separated ONNX Runtime execution providers this onnxruntime can run (``many``);
    or exactly one. The value is the list of names (one name when not ``many``)."""

    many: bool = True

    def __call__(self, text: str) -> list[str] | str:
        import onnxruntime as ort

        names = [n.strip() for n in text.split(",")] if self.many else [text.strip()]
        available = [p for p in ort.get_available_providers() if p != "AzureExecutionProvider"]
        for name in names:
            if name not in available:
                known = "unknown provider" if name not in ort.get_all_providers() else (
                    "not available in this onnxruntime build")
                raise argparse.ArgumentTypeError(
                    f"{name!r}: {known}; this machine has {', '.join(available)}")
        return names if self.many else names[0]

    def describe(self) -> str:
        return "e.g. CUDAExecutionProvider,CPUExecutionProvider" if self.many else ""

    def bad_examples(self, scratch: Path) -> list[str]:
        return ["NoSuchExecutionProvider", "", "CPUExecutionProvider,Nope"]
