"""``peakline edge bench-ep``: measure the reference model per execution provider here.

Run it on a candidate edge device and paste the TOML block it prints under that device in
hardware/targets.toml; `peakline edge size` then says whether the device fits a line.
"""

from __future__ import annotations

import argparse
import platform
from typing import Any

from edge.commands.options import Providers
from peakline.cliargs import Number, Text, integer

__all__ = ["register_bench"]


def _bench(args: argparse.Namespace) -> int:
    from edge.bench_ep import available_providers, measure, report

    eps = args.ep or available_providers()
    rows = [measure(ep, args.batch, args.seconds, args.threads) for ep in eps]
    print(report(rows, args.machine))
    return 0


def register_bench(subparsers: Any) -> None:
    """Add ``bench-ep`` to the ``peakline edge`` sub-command group."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "bench-ep", help="measure the reference model's images/s per execution provider",
        description=(__doc__ or "").split("\n\n", 1)[-1].strip(),
    )
    p.add_argument("--ep", action="append", type=Providers(many=False),
                   help="execution provider to measure; repeat for several "
                   "(default: every one this onnxruntime has)")
    p.add_argument("--batch", type=integer(1, 1024), default=8, help="images per batch")
    p.add_argument("--seconds", type=Number(lo=0, lo_open=True, hi=3600), default=5.0,
                   help="how long to measure each provider")
    p.add_argument("--threads", type=integer(0, 256), default=0,
                   help="ONNX Runtime intra-op threads (0: its default, all cores)")
    p.add_argument("--machine", type=Text(), default=platform.node() or "this machine",
                   help="label for measured_on in the TOML block")
    p.set_defaults(handler=_bench)
