"""``peakline edge run --config line1.toml [--check-config]``: run one camera node."""

from __future__ import annotations

import argparse
import json
import logging
import time

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    """Add ``edge run``."""
    sub = parser.add_subparsers(dest="edge_command", metavar="ACTION", required=True)
    run = sub.add_parser("run", help="run a camera node", description="run a camera node")
    run.add_argument("--config", required=True, help="node configuration (TOML)")
    run.add_argument(
        "--check-config", action="store_true",
        help="validate the configuration (and the model card) and exit",
    )
    run.set_defaults(handler=_run)
    from edge.commands.size import register_size  # `peakline edge size` (hardware sizing)
    register_size(sub)


def _run(args: argparse.Namespace) -> int:
    from edge.config import load_config

    config = load_config(args.config)
    if args.check_config:
        from edge.model.card import read_card

        card = read_card(config.inference.model)
        print(f"{args.config}: OK (node {config.site}/{config.line}/{config.node}, "
              f"model {card.name}:{card.version}, source {config.source.type})")
        return 0
    root = logging.getLogger()
    root.setLevel(config.log_level)
    if config.log_format == "json":
        for handler in root.handlers:
            handler.setFormatter(_JsonFormatter(config.node))
    import gc

    from edge.node import Node

    node = Node(config)
    gc.freeze()  # the node process's long-lived set-up objects leave the collector's scans
    return node.run()


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, node, message (and the traceback)."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": round(record.created, 3),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname, "logger": record.name, "node": self.node,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)
