"""The ``peakline`` command: one entry point with a sub-command for every part of the system.

Each sub-command lives in its own module with a ``register(parser)`` function that adds its
options (and sub-sub-commands) and sets ``handler``; modules import their heavy dependencies
(ONNX Runtime, statsforecast) inside the handlers so ``peakline --help`` stays fast.

The conventions of :mod:`peakline.cliargs` are applied here, once, to the whole parser tree:
every parser shows valid ranges and defaults in ``--help``, every leaf command has a
description, and every refusal (a bad option value from argparse, a ``PeaklineError`` from a
handler, a file the system cannot open) is one line ``peakline <command>: error: ...`` with
exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from peakline import __version__
from peakline.cliargs import HelpFormatter, Parser, prog
from peakline.errors import PeaklineError
from peakline.logs import setup_logging

__all__ = ["COMMANDS", "build_parser", "leaf_parsers", "main"]

#: sub-command -> (module that registers it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("peakline.demo.command", "run a whole demo plant on this machine"),
    "docs": ("peakline.wire.reference", "generate reference docs from the code"),
    "edge": ("edge.commands.node", "run a camera node (capture, inspect, reject, publish)"),
    "plant": ("plant.commands.plant", "plant service: ingest, ERP import/bridge, plans"),
    "record": ("edge.commands.record", "write a seeded synthetic recording of a mooncake line"),
    "model": ("edge.commands.model", "fit, calibrate and evaluate inspection models"),
}


def build_parser() -> Parser:
    """The full argument parser, with every sub-command registered."""
    parser = Parser(
        prog="peakline",
        description="Edge quality inspection and holiday-peak supply planning.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"peakline {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).register(command)
    parser.leaves = dict(leaf_parsers(parser))
    for leaf_prog, leaf in parser.leaves.items():
        leaf.set_defaults(_prog=leaf_prog)
    _apply_conventions(parser)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def leaf_parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """(prog, parser) of every command that runs something (``peakline plant plan``)."""
    sub = _subparsers(parser)
    if sub is None:
        return [(parser.prog, parser)]
    return [leaf for child in dict.fromkeys(sub.choices.values()) for leaf in leaf_parsers(child)]


def _apply_conventions(parser: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """Help format and descriptions for ``parser`` and everything under it."""
    parser.formatter_class = HelpFormatter
    if not parser.description and help_text:
        parser.description = help_text[:1].upper() + help_text[1:] + "."
    sub = _subparsers(parser)
    if sub is not None:
        helps = {a.dest: a.help for a in sub._choices_actions}
        for name, child in sub.choices.items():
            _apply_conventions(child, helps.get(name))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``peakline``; user errors print one clear line and exit with status 2."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a refusal argparse has printed
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    setup_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.handler(args) or 0)
    except PeaklineError as exc:
        print(f"{prog(args)}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `peakline ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a file the system refuses: name it, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{prog(args)}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
