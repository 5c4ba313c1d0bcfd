"""The ``peakline`` command: one entry point with a sub-command for every part of the system.

Each sub-command lives in its own module with a ``register(parser)`` function that adds its
options (and sub-sub-commands) and sets ``handler``; modules import their heavy dependencies
(ONNX Runtime, statsforecast) inside the handlers so ``peakline --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from peakline.errors import PeaklineError
from peakline.logs import setup_logging

__all__ = ["COMMANDS", "build_parser", "main"]

#: sub-command -> (module that registers it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("peakline.demo.command", "run a whole demo plant on this machine"),
    "docs": ("peakline.wire.reference", "generate reference docs from the code"),
    "edge": ("edge.commands.node", "run a camera node (capture, inspect, reject, publish)"),
    "plant": ("plant.commands.plant", "plant service: ingest, ERP import/bridge, plans"),
    "record": ("edge.commands.record", "write a seeded synthetic recording of a mooncake line"),
    "model": ("edge.commands.model", "fit, calibrate and evaluate inspection models"),
}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="peakline",
        description="Edge quality inspection and holiday-peak supply planning.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).register(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``peakline``; user errors print one clear line and exit with status 2."""
    args = build_parser().parse_args(argv)
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    handler = getattr(args, "handler", None)
    if handler is None:
        build_parser().parse_args([*(argv or sys.argv[1:]), "--help"])
        return 2
    try:
        return int(handler(args) or 0)
    except PeaklineError as exc:
        print(f"peakline {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
