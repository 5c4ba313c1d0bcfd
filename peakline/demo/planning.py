"""The demo line's planning job: forecast, plans and backtest, then fresh plans as the lines run.

Runs as one background child of ``peakline demo`` (``python -m peakline.demo.planning --db URL``)
through the same ``peakline plant`` commands an operator would type, so the dashboard shows
exactly what those commands store. The plans are made again every few minutes: the
production plan's yield comes from the reject rate the camera nodes have measured so far.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Sequence

from peakline.cli import main as peakline

__all__ = ["main"]

log = logging.getLogger("peakline.demo.planning")


def _step(*args: str) -> bool:
    code = peakline(list(args))
    if code != 0:
        log.error("peakline %s exited with status %d", " ".join(args[:2]), code)
    return code == 0


def main(argv: Sequence[str] | None = None) -> int:
    """Forecast, plan, backtest; then re-plan every ``--replan-minutes`` until stopped."""
    parser = argparse.ArgumentParser(prog="python -m peakline.demo.planning")
    parser.add_argument("--db", required=True, help="plant database URL")
    parser.add_argument(
        "--replan-minutes", type=float, default=3.0, help="minutes between new plans (0: plan once)"
    )
    args = parser.parse_args(argv)
    if not _step("plant", "forecast", "--db", args.db):
        return 1
    if not _step("plant", "plan", "--db", args.db):
        return 1
    backtest_ok = _step("plant", "backtest", "--db", args.db)
    if args.replan_minutes <= 0:
        return 0 if backtest_ok else 1
    idle = threading.Event()
    while not idle.wait(60 * args.replan_minutes):
        _step("plant", "plan", "--db", args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
