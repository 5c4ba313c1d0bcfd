"""The dashboard's suppliers and materials pages: what each supplier was told and answered,
and where material prices stand.

:func:`suppliers_view` reads every supplier's newest feed (made by the plant service after
each plan), its stored replies and the gaps they leave: per order of the feed, the quantity
asked for against what the supplier committed on time for that week (no answer yet is a gap
of its own kind). :func:`materials_view` reads the newest ``buy_ahead`` plan: each material's
price model, band and alert, the buy-ahead calls, and the season's material cost as a
distribution, plus the last year of quotes per material for the price chart. A price that
arrived after the plan (from the ERP over MQTT, say) is checked against its band at once:
only the materials with newer prices are refitted, with the calendar and peak of the plant's
``[planning]`` section as the plans fit them, and their alerts are listed with
``"since_plan": true`` until the next plan takes them in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from plant.dashboard.frames import frame_records, json_safe
from plant.dashboard.views import DashboardStore
from plant.planning.config import PlanConfig
from plant.prices.report import fit_models, price_alerts
from plant.suppliers.split import confirmed_capacity

__all__ = ["materials_view", "suppliers_view"]


def _gaps(feed: Any, replies: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for o in feed.orders:
        need = pd.Timestamp(o.need_date)
        week = need - pd.Timedelta(days=need.weekday())
        said = confirmed_capacity(replies, o.item, week, need).get(feed.supplier)
        gap = None if said is None else max(0.0, o.qty - said)
        out.append({"item": o.item, "week": week.date().isoformat(),
                    "need_date": o.need_date.isoformat(), "order_by": o.order_by.isoformat(),
                    "asked": o.qty, "confirmed": said, "gap": gap, "status": o.status,
                    "po_id": o.po_id,
                    "answer": "no answer yet" if said is None else
                    "covered" if not gap else "short"})
    return out


def suppliers_view(store: DashboardStore) -> dict[str, Any]:
    """Every supplier: its feed, its answers and the gaps they leave."""
    names = store.suppliers()
    replies = store.supplier_replies()
    out = []
    for s in names.itertuples(index=False):
        feed = store.latest_feed(s.supplier)
        own = replies[replies["supplier"] == s.supplier]
        entry: dict[str, Any] = {"supplier": s.supplier, "name": s.name, "feed": None,
                                 "replies": frame_records(own), "gaps": []}
        if feed is not None:
            entry["feed"] = json_safe(feed.model_dump(mode="json", by_alias=True))
            entry["gaps"] = _gaps(feed, own)
        out.append(entry)
    found = store.latest_plan("exceptions")
    short = []
    if found is not None:
        exc = found[1]
        short = frame_records(exc[exc["kind"] == "supplier_shortfall"]) if len(exc) else []
    return {"suppliers": out, "shortfalls": short}


def materials_view(store: DashboardStore, planning: PlanConfig | None = None, weeks: int = 52,
                   ) -> dict[str, Any]:
    """Price models, bands, alerts, buy-ahead calls and season cost of the newest plan;
    ``planning``: the plant's ``[planning]`` section (its events and peak; None: defaults)."""
    found = store.latest_plan("buy_ahead")
    if found is None:
        return {"plan_id": None, "models": {}, "alerts": [], "calls": [], "history": {}}
    meta, calls = found
    expl = meta.get("explanation", {})
    prices = store.prices()
    history: dict[str, list[list[Any]]] = {}
    models = expl.get("models", {})
    alerts = [dict(a, since_plan=False) for a in expl.get("alerts", [])]
    if len(prices):
        latest = prices.groupby("item")["date"].max()
        fresh = [str(i) for i, d in latest.items() if str(i) in models
                 and d.date().isoformat() > str(models[str(i)]["last_date"])]
        if fresh:
            planning = planning or PlanConfig()
            new = price_alerts(fit_models(prices[prices["item"].isin(fresh)],
                                          planning.calendar(), planning.peak))
            alerts = [a for a in alerts if a["item"] not in fresh]
            alerts += [dict(r, since_plan=True) for r in frame_records(new)]
        since = prices["date"].max() - pd.Timedelta(weeks=weeks)
        recent = prices[prices["date"] >= since]
        for item, g in recent.groupby("item"):
            history[str(item)] = [[d.date().isoformat(), float(p)]
                                  for d, p in zip(g["date"], g["price"], strict=True)]
    out: dict[str, Any] = json_safe({
        "plan_id": meta.get("id"), "created_at": meta.get("created_at"),
        "as_of": dt.date.today().isoformat(), "models": models,
        "alerts": alerts, "calls": frame_records(calls),
        "season_material_cost": expl.get("season_material_cost"),
        "expected_saving": expl.get("expected_saving"),
        "expected_saving_pct": expl.get("expected_saving_pct"),
        "holding_cost_rate": expl.get("holding_cost_rate"), "rule": expl.get("rule"),
        "history": history,
    })
    return out
