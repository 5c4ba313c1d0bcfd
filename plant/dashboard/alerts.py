"""Alerts for the wall screen: a node offline, a failing model, a reject-rate jump, missed
rejects, and a raw material or packaging item that runs out (or must be ordered) before the
festival.

Pure functions over the views' dicts so each rule can be tested on its own; the worst
alerts come first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from peakline.wire import MODEL_ERROR
from plant.calendar import HolidayCalendar, festival_label
from plant.dashboard.config import DashboardConfig
from plant.dashboard.frames import as_date
from plant.orders.holiday import coming_festival
from plant.peaks import DEFAULT_PEAK

__all__ = ["exception_alerts", "line_alerts", "next_festival", "plan_alerts", "sort_alerts"]

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
_NAME_COLUMNS = ("item", "material", "component", "packaging", "sku", "name", "product")
_RUNOUT_HINTS = ("stockout", "stock_out", "runs_out", "run_out", "runout", "depleted")
_SHORT_HINTS = ("shortfall", "shortage", "short_qty", "uncovered")
_MAX_PER_RULE = 6


def _alert(severity: str, kind: str, key: str, title: str, detail: str) -> dict[str, Any]:
    return {
        "id": f"{kind}:{key}",
        "severity": severity,
        "kind": kind,
        "title": title,
        "detail": detail,
    }


def _pct(rate: float) -> str:
    return f"{100 * rate:.1f}%"


def line_alerts(
    overview: dict[str, Any], baseline: dict[str, dict[str, Any]], config: DashboardConfig
) -> list[dict[str, Any]]:
    """Alerts from the live overview; ``baseline`` maps "line/node" to its long-window row."""
    alerts: list[dict[str, Any]] = []
    for node in overview["nodes"]:
        where = f"{node.get('line')}/{node.get('node')}"
        if not node["online"]:
            age = node.get("age_s")
            since = f"last heard {age:.0f} s ago" if age is not None else "never heard from"
            alerts.append(_alert("critical", "offline", where, f"{where} offline", since))
            continue
        failed = int(node.get("rejects_by_defect", {}).get(MODEL_ERROR, 0))
        if node.get("fault") or failed:
            detail = str(node.get("fault") or "") or (
                f"the model raised on their batches in the last {config.window_s:.0f} s; "
                "they were rejected without being inspected")
            alerts.append(_alert("critical", MODEL_ERROR, where,
                                 f"{where}: model failing, {failed} items rejected unseen",
                                 detail))
        items = int(node.get("items") or 0)
        rate = node.get("reject_rate")
        base = baseline.get(where, {})
        base_rate = base.get("reject_rate")
        if (
            rate is not None
            and base_rate is not None
            and items >= config.min_items_for_rate
            and int(base.get("items") or 0) >= config.min_items_for_rate
            and rate
            > max(base_rate * config.reject_jump_factor, base_rate + config.reject_jump_min)
        ):
            top = sorted(node.get("rejects_by_defect", {}).items(), key=lambda kv: -kv[1])[:2]
            cause = ", ".join(f"{d} {n}" for d, n in top) or "no defect named"
            alerts.append(
                _alert(
                    "critical",
                    "reject_jump",
                    where,
                    f"{where} reject rate {_pct(rate)}",
                    f"was {_pct(base_rate)} over {config.baseline_window_s / 60:.0f} min; {cause}",
                )
            )
        missed = int(node.get("missed_rejects") or 0)
        if missed:
            alerts.append(
                _alert(
                    "warning",
                    "missed_rejects",
                    where,
                    f"{where}: {missed} missed rejects",
                    f"decided too late for the reject station in the last {config.window_s:.0f} s",
                )
            )
        if node.get("drift_alert") and node.get("estimated_frr") is not None:
            band = node.get("frr_band")
            alerts.append(
                _alert(
                    "warning",
                    "drift",
                    where,
                    f"{where}: good items' scores drifted, about "
                    f"{_pct(float(node['estimated_frr']))} false rejects",
                    (f"above its band of {_pct(float(band))}; " if band is not None else "")
                    + "recalibrate on the line (peakline model calibrate --line) or refit",
                )
            )
    return alerts


def next_festival(as_of: dt.date, inventory_plan: dict[str, Any] | None = None,
                  cal: HolidayCalendar | None = None, peak: str = DEFAULT_PEAK,
                  ) -> dict[str, str]:
    """The peak the plans are built around (from the inventory plan), else the plant's
    configured ``peak`` on or after ``as_of`` as its calendar ``cal`` dates it (None: the
    packaged one): date and name. A ConfigError when the calendar gives the peak no date."""
    expl = (inventory_plan or {}).get("meta", {}).get("explanation") or {}
    day = as_date(expl.get("festival"))
    if day is not None:
        return {"date": day.isoformat(), "name": festival_label(str(expl.get("peak") or "peak"))}
    day = coming_festival(as_of, cal or HolidayCalendar.default(), peak)
    return {"date": day.isoformat(), "name": festival_label(peak)}


def _row_name(row: dict[str, Any], columns: list[str]) -> str:
    for hint in _NAME_COLUMNS:
        for col in columns:
            if hint in col.lower() and row.get(col) not in (None, ""):
                return str(row[col])
    return str(row.get(columns[0], "?")) if columns else "?"


def plan_alerts(
    plan: dict[str, Any] | None, festival: dict[str, str] | None
) -> list[dict[str, Any]]:
    """Run-outs before the festival, uncovered shortfalls and overdue order-by dates."""
    if plan is None:
        return []
    kind = plan["kind"]
    fest_day = as_date(festival["date"]) if festival else None
    fest_name = festival["name"] if festival else "the festival"
    found: dict[str, list[dict[str, Any]]] = {"runout": [], "overdue_order": []}
    seen: set[str] = set()
    table = plan["table"]
    columns = table["columns"]
    runout_cols = [c for c in columns if any(h in c.lower() for h in _RUNOUT_HINTS)]
    short_cols = [c for c in columns if any(h in c.lower() for h in _SHORT_HINTS)]
    for row, marks in zip(table["rows"], table["marks"], strict=True):
        name = _row_name(row, columns)
        for col in runout_cols:
            day = as_date(row.get(col))
            if day is not None and fest_day is not None and day <= fest_day:
                found["runout"].append(
                    _alert(
                        "critical",
                        "runout",
                        f"{kind}:{name}:{col}",
                        f"{name} runs out {day.isoformat()}",
                        f"{kind} plan: before {fest_name} ({fest_day.isoformat()})",
                    )
                )
        for col in short_cols:
            value = row.get(col)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
                found["runout"].append(
                    _alert(
                        "critical",
                        "runout",
                        f"{kind}:{name}:{col}",
                        f"{name} short by {value:,.0f}",
                        f"{kind} plan: not covered before {fest_name}",
                    )
                )
        for col, mark in marks.items():
            key = f"{kind}:{name}:{col}"
            if mark == "overdue" and key not in seen:
                seen.add(key)
                found["overdue_order"].append(
                    _alert(
                        "warning",
                        "overdue_order",
                        key,
                        f"Order {name} now",
                        f"{col.replace('_', ' ')} {row.get(col)} has passed",
                    )
                )
    alerts: list[dict[str, Any]] = []
    for items in found.values():
        alerts.extend(_capped(items, f"{kind}:more", f"in the {kind} plan"))
    return alerts


def exception_alerts(plan: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The planner's own exceptions (the exceptions plan, worst first) as alerts."""
    if plan is None:
        return []
    alerts = []
    for exc in plan["table"]["rows"]:
        if not isinstance(exc, dict):
            continue
        what = str(exc.get("what") or "?")
        kind = str(exc.get("kind") or "exception")
        detail = str(exc.get("detail") or "")
        risk = exc.get("value_at_risk")
        title = f"{what}: {kind.replace('_', ' ')}"
        if isinstance(risk, int | float) and risk > 0:
            title += f" ({risk:,.0f} at risk)"
        severe = "before the festival" in detail or "late" in kind or "short" in kind
        alerts.append(
            _alert(
                "critical" if severe else "warning",
                "plan_exception",
                f"{kind}:{what}",
                title,
                detail,
            )
        )
    return _capped(alerts, "exceptions:more", "exceptions in the plans")


def _capped(items: list[dict[str, Any]], key: str, where: str) -> list[dict[str, Any]]:
    if len(items) <= _MAX_PER_RULE:
        return items
    first = items[0]
    rest = len(items) - _MAX_PER_RULE
    more = _alert(
        first["severity"], first["kind"], key, f"{rest} more {where}", "see the plan tables"
    )
    return [*items[:_MAX_PER_RULE], more]


def sort_alerts(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Worst first: critical before warning; within a severity the rules' own order is kept
    (lines before plans, the planner's exceptions by value at risk, "N more" last)."""
    return sorted(
        alerts, key=lambda a: (_SEVERITY.get(a["severity"], 9), a["id"].endswith(":more"))
    )
