"""The demo line's planning job: forecast, plans, holds and backtest, then fresh plans.

Runs as one background child of ``peakline demo`` (``python -m peakline.demo.planning --db URL``)
through the same use cases the ``peakline plant forecast | plan | holds | backtest`` commands
run, so the dashboard shows exactly what those commands store (the orders page: the hold plan
with last season's replay, as ``peakline plant holds --backtest`` makes it). The hold plan and the
plans are made again every few minutes (:func:`plant.planning.replan.replan`, as the plant
service does after new ERP data): the production plan's yield comes from the reject rate the
camera nodes have measured so far.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable, Sequence

from peakline.errors import PeaklineError
from peakline.logs import setup_logging

__all__ = ["main"]

log = logging.getLogger("peakline.demo.planning")


def _step(what: str, run: Callable[[], object]) -> bool:
    try:
        run()
    except PeaklineError as exc:
        log.error("%s failed: %s", what, exc)
        return False
    log.info("%s done", what)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Forecast, plan, backtest; then re-plan every ``--replan-minutes`` until stopped."""
    parser = argparse.ArgumentParser(prog="python -m peakline.demo.planning")
    parser.add_argument("--db", required=True, help="plant database URL")
    parser.add_argument(
        "--replan-minutes", type=float, default=3.0, help="minutes between new plans (0: plan once)"
    )
    args = parser.parse_args(argv)
    setup_logging(logging.INFO)
    from plant.calendar import HolidayCalendar
    from plant.forecast.run import backtest_into_store, forecast_into_store
    from plant.orders.holds import HoldSettings
    from plant.orders.run import holds_into_store
    from plant.planning.config import PlanConfig
    from plant.planning.replan import replan
    from plant.planning.run import plan_from_store
    from plant.store import Store

    cal, cfg = HolidayCalendar.default("CN"), PlanConfig()
    with Store.open(args.db) as store:
        if not _step("forecast", lambda: forecast_into_store(store, cal, horizon=60)):
            return 1
        if not _step("plans", lambda: plan_from_store(store, cfg, cal)):
            return 1
        holds_ok = _step("holds", lambda: holds_into_store(store, HoldSettings(), cal,
                                                           backtest=True))
        backtest_ok = _step("backtest", lambda: backtest_into_store(store, cal))
        if args.replan_minutes <= 0:
            return 0 if backtest_ok and holds_ok else 1
        idle = threading.Event()
        while not idle.wait(60 * args.replan_minutes):
            _step("re-plan", lambda: replan(store, cfg, cal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
