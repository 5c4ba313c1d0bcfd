"""Shared helpers for Peakline benchmarks: timing, this machine's copy bandwidth, output.

Every benchmark prints a human table and, as its LAST line, one JSON object. Run this module
alone to measure the memory copy bandwidth (numpy) that bandwidth fractions are relative to::

    python bench/common.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CacheEvictor",
    "convert_main",
    "copy_bandwidth",
    "emit_json",
    "print_table",
    "time_interleaved",
    "time_ms",
    "write_history",
]


def time_ms(fn: Callable[[], object], repeat: int = 30, warmup: int = 3) -> tuple[float, float]:
    """(best, median) wall time of ``fn()`` in milliseconds over ``repeat`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return min(times), statistics.median(times)


def time_interleaved(
    fns: dict[str, Callable[[], object]],
    repeat: int = 30,
    warmup: int = 3,
    before: Callable[[], object] | None = None,
    chunk: int = 1,
) -> dict[str, tuple[float, float]]:
    """(best, median) ms of each function over ``repeat`` calls, taking turns in rounds of
    ``chunk`` calls each so that all of them see the same machine load (on a shared machine
    the load changes between consecutive blocks) while each still finds its own data in
    cache after the first call of a round.

    ``before`` runs untimed before every call (e.g. :class:`CacheEvictor` for cold caches).
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(max(1, repeat // chunk)):
        for name, fn in fns.items():
            for _ in range(chunk):
                if before is not None:
                    before()
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) * 1000.0)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


class CacheEvictor:
    """Call it to push earlier data out of the CPU caches (copies a buffer larger than L3)."""

    def __init__(self, megabytes: int = 96) -> None:
        self._src = np.ones(megabytes * 1024 * 1024, np.uint8)
        self._dst = np.empty_like(self._src)

    def __call__(self) -> None:
        np.copyto(self._dst, self._src)


def copy_bandwidth(megabytes: int = 64, repeat: int = 40) -> float:
    """Memory copy bandwidth in bytes/s, counted as bytes read + bytes written per second.

    Copies a ``megabytes`` buffer (far larger than the caches) with ``np.copyto`` and keeps
    the best of ``repeat`` runs.
    """
    n = megabytes * 1024 * 1024
    src = np.ones(n, np.uint8)
    dst = np.empty_like(src)
    best, _ = time_ms(lambda: np.copyto(dst, src), repeat=repeat, warmup=2)
    return 2.0 * n / (best / 1000.0)


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print ``rows`` as an aligned text table of ``columns``."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
        return str(value)

    cells = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)))


def emit_json(obj: dict[str, Any]) -> None:
    """Print the benchmark's machine-readable result as the last line of its output."""
    print(json.dumps(obj, separators=(",", ":"), sort_keys=False), flush=True)



def write_history(long: Any, out: Path, regressors: Sequence[str] = ("open",)) -> None:
    """Write a long-format sales history (``unique_id, ds, y`` and ``regressors``) as
    ``out/history.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    long[["unique_id", "ds", "y", *regressors]].sort_values(["unique_id", "ds"]).to_csv(
        out / "history.csv", index=False)


def convert_main(doc: str, repo: str, convert: Callable[[Path, Path], dict[str, Any]],
                 out: Path) -> int:
    """Command line of a fetch-and-convert script: ``--mirror`` (bare git dir), ``--out``."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--mirror", type=Path, required=True, help="bare git directory of " + repo)
    ap.add_argument("--out", type=Path, default=out)
    args = ap.parse_args()
    print(json.dumps(convert(args.mirror, args.out)))
    return 0

def main() -> None:
    """Measure and report this machine's copy bandwidth."""
    rows = []
    for mb in (64, 256):
        bw = copy_bandwidth(mb)
        rows.append({"buffer_mb": mb, "copy_gb_s": bw / 1e9})
    print_table(rows, ["buffer_mb", "copy_gb_s"])
    emit_json({"bench": "copy_bandwidth", "copy_gb_s": max(r["copy_gb_s"] for r in rows),
               "runs": rows})


if __name__ == "__main__":
    main()
