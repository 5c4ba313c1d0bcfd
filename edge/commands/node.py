"""``peakline edge run --config line1.toml [--check-config]``: run one camera node.

``peakline edge size`` (``edge.commands.size``) and ``peakline edge bench-ep``
(``edge.commands.bench``) join the same group."""

from __future__ import annotations

import argparse

from peakline.cliargs import ExistingFile
from peakline.logs import setup_logging

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``edge run``."""
    sub = parser.add_subparsers(dest="edge_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run a camera node", description="run a camera node")
    run.add_argument("--config", required=True, type=ExistingFile("TOML config"),
                     help="node configuration")
    run.add_argument(
        "--check-config", action="store_true",
        help="validate the configuration (and the model card) and exit",
    )
    run.set_defaults(handler=_run)
    from edge.commands.bench import register_bench
    from edge.commands.size import register_size

    register_size(sub)
    register_bench(sub)


def _run(args: argparse.Namespace) -> int:
    from edge.config import load_config

    config = load_config(args.config)
    if args.check_config:
        from edge.model.card import read_card

        card = read_card(config.inference.model)
        print(f"{args.config}: OK (node {config.site}/{config.line}/{config.node}, "
              f"model {card.name}:{card.version}, source {config.source.type})")
        return 0
    setup_logging(config.log_level, config.log_format, node=config.node)
    import gc

    from edge.node import Node

    node = Node(config)
    gc.freeze()  # the node process's long-lived set-up objects leave the collector's scans
    return node.run()
