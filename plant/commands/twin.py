"""``peakline plant simulate``: a stored plan lived N times over its season in the twin.

    peakline plant simulate --db sqlite:///plant.db --plan latest --runs 200 --seed 1
    peakline plant simulate --plan plan-... --scenario scenarios/l2_down.toml
    peakline plant check-twin --line L1                    the twin's line against the record

Prints fill rate, boxes late and short per channel, waste, overtime and cost with P10/P50/P90
across runs and, as its last line, one JSON object. Every input (the plan, its forecast, the
config, the scenario and its names) is checked before the first run; the simulation is
stored only when complete. ``plant/commands/plant.py`` calls :func:`add_twin_commands`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from peakline.cliargs import NAME, ExistingFile, Number, Text, integer
from peakline.wire import PlanKind
from plant.commands.db import add_db_option, open_store

__all__ = ["add_twin_commands", "optimise_plan", "twin_configs"]


def twin_configs(args: argparse.Namespace) -> tuple[Any, Any]:
    """(PlanConfig, TwinConfig) from ``--config`` (its [planning] and [twin]) or defaults."""
    from plant.config import load_config
    from plant.planning.config import PlanConfig
    from plant.twin.config import TwinConfig

    if getattr(args, "config", None):
        cfg = load_config(args.config)
        return cfg.planning, cfg.twin
    return PlanConfig(), TwinConfig()


def _table(summary: dict[str, Any]) -> str:
    rows = [f"{'channel':<10} {'demand':>9} {'fill P10':>9} {'P50':>7} {'P90':>7} "
            f"{'mean':>7} {'late':>8} {'short':>8}"]
    for c, v in summary["channels"].items():
        f = v["fill_rate"]
        rows.append(f"{c:<10} {v['demand']:>9,} {f['p10']:>9.1%} {f['p50']:>7.1%} "
                    f"{f['p90']:>7.1%} {f['mean']:>7.1%} {v['late_boxes']:>8,} "
                    f"{v['short_boxes']:>8,}")
    rows.append(f"{'all':<10} {'':>9} {summary['fill_rate_p10']:>9.1%} {'':>7} "
                f"{summary['fill_rate_p90']:>7.1%} {summary['fill_rate']:>7.1%} "
                f"{summary['boxes_late']['mean']:>8,.0f} {summary['boxes_short']['mean']:>8,.0f}")
    w = summary["waste_boxes"]
    rows.append("waste (boxes, mean): " + ", ".join(f"{k} {v['mean']:,.0f}" for k, v in
                                                     w.items()))
    rows.append(f"orders late {summary['orders_late']['mean']:,.0f}, short "
                f"{summary['orders_short']['mean']:,.0f} of {summary['orders']:,}; "
                f"changeovers {summary['changeovers']:,.0f}; overtime "
                f"{summary['overtime_h']['mean']:,.0f} h; breakdowns "
                f"{summary['downtime_h']['mean']:,.0f} h")
    rows.append(f"cost: mean {summary['cost']:,}  P10 {summary['cost_p10']:,}  P50 "
                f"{summary['cost_p50']:,}  P90 {summary['cost_p90']:,}")
    rows.append("  " + ", ".join(f"{k} {v:,}" for k, v in summary["cost_parts"].items()))
    return "\n".join(rows)


def _simulate(args: argparse.Namespace) -> int:
    from plant.commands.planning import _calendar
    from plant.twin.run import simulate_plan
    from plant.twin.scenario import load_scenario

    plan_cfg, twin_cfg = twin_configs(args)
    scenario = load_scenario(args.scenario) if args.scenario else None
    cal = _calendar(args, plan_cfg)
    with open_store(args) as store:
        run = simulate_plan(store, args.plan, args.runs, args.seed, cal, plan_cfg, twin_cfg,
                            scenario, str(args.scenario or "scenario"), jobs=args.jobs)
    summary = run.summary()
    print(f"plan {run.plan_id} ({run.scenario}), {summary['runs']} runs, seed {args.seed}:")
    print(_table(summary))
    print(json.dumps(summary))
    return 0


def optimise_plan(store: Any, plan_cfg: Any, twin_cfg: Any, cal: Any,
                  args: argparse.Namespace) -> Any:
    """``plant plan --optimise``: candidates solved and lived in the twin; prints them side
    by side with the heuristic and returns the stored run (:mod:`plant.twin.choose`)."""
    from plant.twin.choose import optimise_from_store
    from plant.twin.config import TwinConfig

    run, candidates, heuristic = optimise_from_store(
        store, plan_cfg, twin_cfg or TwinConfig(), cal, reject_days=args.reject_days,
        runs=args.runs, seed=args.seed)
    chosen = run.plans[PlanKind.PRODUCTION][1]["optimise"]["chosen"]
    print(f"candidates in the twin ({args.runs} runs, seed {args.seed}):")
    print(f"  {'plan':<20} {'fill':>6} {'oem':>6} {'retail':>6} {'e-com':>6} "
          f"{'cost':>12} {'cost P90':>12} {'changeovers':>11} {'solve s':>7}")
    for c in [heuristic, *candidates]:
        r = c.row()
        by = r["fill_rate_by_channel"]
        mark = "*" if c.name == chosen else " "
        print(f"{mark} {c.name:<20} {r['fill_rate']:>6.1%} {by.get('oem', 0):>6.1%} "
              f"{by.get('retail', 0):>6.1%} {by.get('ecommerce', 0):>6.1%} {r['cost']:>12,} "
              f"{r['cost_p90']:>12,} {r['changeovers']:>11,.0f} {r['solve_s']:>7.1f}")
    print(f"chosen: {chosen} (* above)")
    return run


def _check_twin(args: argparse.Namespace) -> int:
    import time

    from plant.twin.validate import check_line

    _, twin_cfg = twin_configs(args)
    with open_store(args) as store:
        hist = store.metrics_history(since=time.time() - args.days * 86400.0)
    part = hist[hist["line"] == args.line] if len(hist) else hist
    result = check_line(part, twin_cfg, fit_share=args.fit_share, runs=args.runs,
                        seed=args.seed)
    print(f"line {args.line}: fitted on {result['fit_windows']} metrics windows "
          f"({result['fitted']}), checked on the next {result['check_windows']} "
          f"({result['check_hours']:.2f} h)")
    print(f"good items: recorded {result['recorded_good']:,.0f}, twin "
          f"{result['simulated_good']:,.0f} (P10 {result['simulated_good_p10']:,.0f}, "
          f"P90 {result['simulated_good_p90']:,.0f}); per day "
          f"{result['recorded_good_per_day']:,.0f} vs {result['simulated_good_per_day']:,.0f}: "
          f"{result['error']:+.1%} "
          f"({'within' if result['within_tolerance'] else 'OUTSIDE'} "
          f"{result['tolerance']:.0%})")
    print(json.dumps({"line": args.line, **result}))
    return 0 if result["within_tolerance"] else 1


def add_twin_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``simulate`` and ``check-twin`` to ``peakline plant``."""
    from plant.commands.planning import _calendar_args

    s = sub.add_parser("simulate", help="simulate a plan over its season many times "
                       "(the digital twin)")
    add_db_option(s, creates=False)
    s.add_argument("--plan", default="latest",
                   type=Text(pattern=r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}",
                             rule="must be a plan id (letters, digits, '_', '.', ':', '-') "
                             "or 'latest'", bad=("plan id",)),
                   help="production plan id, or 'latest' (the newest plan)")
    s.add_argument("--runs", type=integer(1, 100_000), default=200,
                   help="replications (seasons) to simulate")
    s.add_argument("--seed", type=integer(0), default=1,
                   help="random seed; the same seed gives two plans or scenarios the same luck")
    s.add_argument("--jobs", type=integer(1, 64), default=1,
                   help="worker processes the runs are shared over (same figures as one)")
    s.add_argument("--scenario", type=ExistingFile("scenario TOML"),
                   help="a scenario file that changes the world (docs/twin.md)")
    s.add_argument("--config", type=ExistingFile("TOML config"),
                   help="plant service TOML whose [planning] and [twin] sections to use")
    _calendar_args(s)
    s.set_defaults(handler=_simulate)

    c = sub.add_parser("check-twin", help="does the twin's line make what the nodes recorded? "
                       "(fit on the first part of the record, predict the rest)")
    add_db_option(c, creates=False)
    c.add_argument("--line", required=True, type=NAME, help="the line to check")
    c.add_argument("--days", type=Number(0, 366, lo_open=True), default=1.0,
                   help="days of the nodes' metrics to use")
    c.add_argument("--fit-share", type=Number(0, 1, lo_open=True), default=1.0,
                   help="share of the record's time the line is fitted on (1: fed the whole "
                   "record, the twin must reproduce it; below 1: it predicts the rest)")
    c.add_argument("--runs", type=integer(1, 100_000), default=200, help="replications")
    c.add_argument("--seed", type=integer(0), default=1, help="random seed")
    c.add_argument("--config", type=ExistingFile("TOML config"),
                   help="plant service TOML whose [twin] section to use")
    c.set_defaults(handler=_check_twin)


