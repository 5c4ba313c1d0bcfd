"""``peakline demo``: run a whole demo plant (broker, camera nodes, plant, dashboard) here."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from peakline.cliargs import Number, OutputDir, Text, integer

__all__ = ["default_workdir", "register"]


def default_workdir() -> Path:
    """Where the demo keeps its recordings, model and database: the user's data folder
    (``$XDG_DATA_HOME/peakline/demo``, by default ``~/.local/share/peakline/demo``), so a run
    from a source checkout leaves nothing in it and a second checkout reuses the assets."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "peakline" / "demo"


_positive = Number(lo=0, lo_open=True)


def _demo(args: argparse.Namespace) -> int:
    from peakline.demo.line import DemoOptions, run_demo

    return run_demo(
        DemoOptions(
            workdir=Path(args.workdir) if args.workdir else default_workdir(),
            host=args.host,
            port=args.port,
            nodes=args.nodes,
            minutes=args.minutes,
            seconds_per_line=args.seconds_per_line,
            fps=args.fps,
            seed=args.seed,
            progress=not args.quiet,
        )
    )


def register(parser: argparse.ArgumentParser) -> None:
    """Add the demo's options."""
    parser.add_argument(
        "--workdir",
        type=OutputDir(),
        default=None,
        help="folder for recordings, model, database, logs "
        "(default: $XDG_DATA_HOME/peakline/demo, i.e. ~/.local/share/peakline/demo)",
    )
    parser.add_argument(
        "--host",
        type=Text(),
        default="127.0.0.1",
        help="dashboard address; other than loopback needs "
        "$PEAKLINE_DASHBOARD_TOKEN (default: %(default)s)",
    )
    parser.add_argument(
        "--port", type=integer(1, 65535), default=8080, help="dashboard port (default: %(default)s)"
    )
    parser.add_argument(
        "--nodes",
        type=int,
        choices=(1, 2, 3),
        default=3,
        help="camera nodes, one line each (default: %(default)s)",
    )
    parser.add_argument(
        "--minutes",
        type=_positive,
        default=None,
        help="stop by itself after this many minutes (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--seconds-per-line",
        type=_positive,
        default=60.0,
        help="length of each line's recording, replayed in a loop (default: %(default)s)",
    )
    parser.add_argument(
        "--fps",
        type=_positive,
        default=15.0,
        help="camera frame rate of the recordings (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=integer(0),
        default=2026,
        help="seed of recordings, model and ERP history (default: %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_demo)
