"""Soak the delivery path: steady load for N minutes; memory, file handles, outbox flat.

Four generator nodes (the node's own outbox and publisher) publish to the real plant service
through a real Mosquitto. Samples resident memory and open file descriptors of the plant,
the edge process and the broker, the outbox backlog and the outbox files on disk; at the end
everything sent must be stored. Prints the samples as a table, then as its LAST line one JSON
object with the growth after warm-up (``*_rss_growth_mb``, ``*_fd_growth``,
``outbox_mb_growth``), ``lost`` and ``duplicated``.

    python bench/soak.py --minutes 10 [--rate 100] [--every 10]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "bench"))
sys.path.insert(2, str(REPO / "tests"))  # the suites' own helpers (support)

from common import emit_json, print_table  # noqa: E402

from tests.faults.soak import run_soak  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to soak")
    parser.add_argument("--rate", type=float, default=100.0, help="results/s per node (4 nodes)")
    parser.add_argument("--every", type=float, default=None, help="seconds between samples")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    every = args.every or max(2.0, seconds / 60)
    workdir = Path(tempfile.mkdtemp(prefix="peakline-soak-"))
    try:
        tally, samples = run_soak(workdir, seconds, every, args.rate)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [{"t_s": s.t, **{f"{k}_rss_mb": round(v / 1024, 1) for k, v in s.rss_kb.items()},
             **{f"{k}_fds": v for k, v in s.fds.items()}, "backlog": s.backlog,
             "outbox_kb": s.outbox_bytes // 1024, "wal_kb": s.wal_bytes // 1024,
             "stored": s.stored} for s in samples]
    if rows:
        print_table(rows, list(rows[0]))
    emit_json({"bench": "soak", **tally.row(), "rate_per_node": args.rate, "nodes": 4})
    return 0 if tally.lost == 0 and tally.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
