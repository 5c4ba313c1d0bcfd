"""What each part of the dashboard shows, built from the plant store as JSON-ready dicts.

Each function takes the store (``plant.store.Store`` or anything with the same read methods,
see :class:`DashboardStore`) and returns plain dicts/lists; the web layer only serialises
them. Nothing here writes to the store.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Protocol

import pandas as pd

from peakline.wire import PlanKind
from plant.calendar import HolidayCalendar
from plant.dashboard.config import DashboardConfig
from plant.dashboard.frames import (
    as_date,
    as_unix,
    festival_dates,
    frame_records,
    is_order_by_column,
    json_safe,
)
from plant.peaks import DEFAULT_PEAK

__all__ = [
    "DashboardStore",
    "backtest_view",
    "forecast_view",
    "gallery",
    "lines_overview",
    "plan_frame",
    "plan_view",
]


class DashboardStore(Protocol):
    """The read methods of the plant store that the dashboard uses."""

    def line_summary(self, window_s: float = 60) -> pd.DataFrame: ...
    def rejects_by_defect(self, window_s: float, now: float | None = None) -> pd.DataFrame: ...
    def recent_thumbnails(self, limit: int) -> Any: ...
    def latest_forecast(self) -> tuple[Any, pd.DataFrame] | None: ...
    def latest_backtest(self) -> Any: ...
    def latest_plan(self, kind: str) -> tuple[Any, pd.DataFrame] | None: ...
    def throughput_history(self, since_s: float, step_s: float = 10.0, window_s: float = 60.0,
                           now: float | None = None) -> dict[str, Any]: ...
    def simulations(self, limit: int = 50) -> list[dict[str, Any]]: ...
    def simulation(self, sim_id: str | None = None) -> tuple[Any, pd.DataFrame] | None: ...
    def suppliers(self) -> pd.DataFrame: ...
    def supplier_replies(self) -> pd.DataFrame: ...
    def latest_feed(self, supplier: str) -> Any: ...
    def prices(self, items: list[str] | None = None) -> pd.DataFrame: ...
    def latest_hold_plan(self) -> tuple[Any, pd.DataFrame, pd.DataFrame] | None: ...


def _meta_dict(meta: Any) -> dict[str, Any]:
    if meta is None:
        return {}
    if isinstance(meta, dict):
        return json_safe(meta)
    if hasattr(meta, "model_dump"):
        return json_safe(meta.model_dump())
    if hasattr(meta, "_asdict"):
        return json_safe(meta._asdict())
    if hasattr(meta, "__dict__"):
        return json_safe({k: v for k, v in vars(meta).items() if not k.startswith("_")})
    return {"value": json_safe(meta)}


def _defects_by_node(df: pd.DataFrame) -> dict[tuple[str, str], dict[str, int]]:
    """{(line, node): {defect: rejects}} from the store's ``rejects_by_defect`` frame."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for row in df.to_dict("records"):
        out.setdefault((str(row["line"]), str(row["node"])), {})[str(row["defect"])] = int(
            row["rejects"])
    return out


def lines_overview(
    store: DashboardStore, config: DashboardConfig, now: float | None = None
) -> dict[str, Any]:
    """Per line and node: state, items/min, reject rate by defect, missed rejects, backlog."""
    now = time.time() if now is None else now
    summary = store.line_summary(window_s=config.window_s)
    defects = _defects_by_node(store.rejects_by_defect(config.window_s, now))
    nodes: list[dict[str, Any]] = []
    for row in frame_records(summary):
        last_seen = as_unix(row.get("last_seen"))
        age = None if last_seen is None else max(0.0, now - last_seen)
        online = row.get("state") == "online" and age is not None and age <= config.offline_after_s
        key = (str(row.get("line", "")), str(row.get("node", "")))
        row.update(
            last_seen=last_seen,
            age_s=age,
            online=online,
            rejects_by_defect=defects.get(key, {}),
        )
        nodes.append(row)
    nodes.sort(key=lambda r: (str(r.get("site")), str(r.get("line")), str(r.get("node"))))
    items = sum(int(n.get("items") or 0) for n in nodes)
    rejects = sum(int(n.get("rejects") or 0) for n in nodes)
    totals = {
        "nodes_total": len(nodes),
        "nodes_online": sum(1 for n in nodes if n["online"]),
        "items": items,
        "items_per_min": sum(float(n.get("items_per_min") or 0) for n in nodes),
        "rejects": rejects,
        "reject_rate": rejects / items if items else None,
        "missed_rejects": sum(int(n.get("missed_rejects") or 0) for n in nodes),
        "outbox_backlog": sum(int(n.get("outbox_backlog") or 0) for n in nodes),
        "latency_p99_ms": max(
            (float(n["latency_p99_ms"]) for n in nodes if n.get("latency_p99_ms") is not None),
            default=None,
        ),
    }
    return {"ts": now, "window_s": config.window_s, "nodes": nodes, "totals": totals}


def gallery(store: DashboardStore, limit: int) -> list[dict[str, Any]]:
    """The most recent rejected (and uncertain) items, newest first, with their JPEGs."""
    thumbs = store.recent_thumbnails(limit)
    if isinstance(thumbs, pd.DataFrame):
        rows = frame_records(thumbs)
    else:
        rows = [json_safe(t.model_dump() if hasattr(t, "model_dump") else dict(t)) for t in thumbs]
    for row in rows:
        row.pop("schema_", None)
        row["ts"] = as_unix(row.get("ts"))
    rows.sort(key=lambda r: r.get("ts") or 0.0, reverse=True)
    return rows[:limit]


def forecast_view(store: DashboardStore, cal: HolidayCalendar | None = None,
                  peak: str = DEFAULT_PEAK) -> dict[str, Any] | None:
    """Forecast bands per series (the SKU sum and each SKU), holiday markers, and its meta.

    The markers are the lunar festivals and the forecast's peak (its meta's, else ``peak``,
    the plant's configured one) as the plant's calendar ``cal`` dates them."""
    latest = store.latest_forecast()
    if latest is None:
        return None
    meta, df = latest
    if df is None or df.empty:
        return None
    df = df.copy()
    df["ds"] = pd.to_datetime(df["ds"])
    days = sorted(df["ds"].dt.normalize().unique())
    index = pd.DatetimeIndex(days)
    quantiles = [c for c in df.columns if c.rsplit("_", 1)[-1] in ("p10", "p50", "p90")]
    series: list[dict[str, Any]] = []

    def add(name: str, part: pd.DataFrame) -> None:
        grouped = part.groupby(part["ds"].dt.normalize())[quantiles].sum().reindex(index)
        series.append(
            {"name": name, **{q: json_safe(grouped[q].round(1).tolist()) for q in quantiles}}
        )

    add("All SKUs (sum)", df)
    if "sku" in df.columns:
        totals = df.groupby("sku")[quantiles[0] if quantiles else "ds"].sum()
        for sku in totals.sort_values(ascending=False).index.tolist():
            add(str(sku), df[df["sku"] == sku])
    start, end = index[0].date(), index[-1].date()
    info = _meta_dict(meta)
    return {
        "meta": info,
        "ds": [d.date().isoformat() for d in index],
        "ts": [float(d.timestamp()) for d in index],
        "quantiles": quantiles,
        "series": series,
        "holidays": festival_dates(start, end, cal, str(info.get("peak") or peak)),
    }


def backtest_view(store: DashboardStore) -> dict[str, Any] | None:
    """The latest backtest's accuracy table (MASE, bias per model and window) and meta."""
    latest = store.latest_backtest()
    if latest is None:
        return None
    if isinstance(latest, tuple) and len(latest) == 2:
        meta, df = latest
    elif isinstance(latest, pd.DataFrame):
        meta, df = {}, latest
    else:
        return {"meta": _meta_dict(latest), "columns": [], "rows": []}
    records = frame_records(df) if isinstance(df, pd.DataFrame) else json_safe(df)
    columns = list(df.columns) if isinstance(df, pd.DataFrame) else []
    return {"meta": _meta_dict(meta), "columns": columns, "rows": records}


def plan_frame(store: DashboardStore, kind: str) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """The latest plan of ``kind`` as (meta dict, frame), or None if none was made yet."""
    latest = store.latest_plan(kind)
    if latest is None:
        return None
    meta, df = latest
    return _meta_dict(meta), df


def _mark(day: dt.date | None, as_of: dt.date, soon_days: int) -> str | None:
    if day is None:
        return None
    if day < as_of:
        return "overdue"
    return "soon" if (day - as_of).days <= soon_days else "ok"


def _table(df: pd.DataFrame, as_of: dt.date, soon_days: int) -> dict[str, Any]:
    """A plan's table: its non-empty columns, rows (order-by first) and date marks."""
    df = df.dropna(axis=1, how="all")
    order_cols = [str(c) for c in df.columns if is_order_by_column(str(c), df[c])]
    if order_cols:
        key = pd.to_datetime(df[order_cols[0]], errors="coerce")
        df = df.assign(_key=key).sort_values("_key", kind="stable").drop(columns="_key")
    rows = frame_records(df)
    marks = [
        {c: m for c in order_cols if (m := _mark(as_date(row.get(c)), as_of, soon_days))}
        for row in rows
    ]
    return {
        "columns": [str(c) for c in df.columns],
        "order_by_columns": order_cols,
        "rows": rows,
        "marks": marks,
    }


def plan_view(
    store: DashboardStore, kind: str, config: DashboardConfig, today: dt.date | None = None
) -> dict[str, Any] | None:
    """A plan as one table, each order-by cell marked ``overdue``, ``soon`` or ``ok`` against
    the plan's as-of date (exceptions keep their own order: worst first).

    The as-of date is the plan's own (``as_of`` or ``start`` in its meta or explanation),
    else ``today`` (the caller passes the forecast's first day), else the calendar date.
    """
    found = plan_frame(store, kind)
    if found is None:
        return None
    meta, df = found
    explanation = meta.get("explanation")
    expl = explanation if isinstance(explanation, dict) else {}
    as_of = (
        as_date(meta.get("as_of"))
        or as_date(expl.get("as_of"))
        or as_date(expl.get("start"))
        or today
        or dt.date.today()
    )
    if kind == PlanKind.EXCEPTIONS:
        table = {"columns": [str(c) for c in df.columns], "order_by_columns": [],
                 "rows": frame_records(df), "marks": [{} for _ in range(len(df))]}
    else:
        table = _table(df, as_of, config.soon_days)
    return {
        "kind": kind,
        "meta": meta,
        "as_of": as_of.isoformat(),
        "row_count": len(df),
        "table": table,
    }
