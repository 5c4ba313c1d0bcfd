"""The season's price picture from the store: models, bands and alerts, buy-ahead calls, cost.

:func:`price_plan` is what planning calls with the purchases plan: it fits every material's
price model (:mod:`plant.prices.model`), flags a price that left the band it was forecast in
(the central 90% one step before), makes the buy-ahead calls for the season's orders
(:mod:`plant.prices.buyahead`) and the season's material cost as a distribution. Items
without a price history are left out and listed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from plant.calendar import HolidayCalendar
from plant.peaks import DEFAULT_PEAK
from plant.planning.rules import Z90
from plant.prices.buyahead import buy_ahead, season_cost
from plant.prices.model import PriceForecast, fit_price_model

__all__ = ["fit_models", "price_alerts", "price_plan"]

#: the band a new price is checked against: the central 90% of its one-step forecast
BAND_LEVEL = 0.9


def fit_models(prices: pd.DataFrame, cal: HolidayCalendar | None = None, peak: str = DEFAULT_PEAK,
               min_points: int = 8) -> dict[str, PriceForecast]:
    """A price model per item with at least ``min_points`` prices."""
    out = {}
    for item, rows in prices.groupby("item"):
        if rows["date"].nunique() >= min_points:
            out[str(item)] = fit_price_model(str(item), rows, cal=cal, peak=peak)
    return out


def price_alerts(models: dict[str, PriceForecast], level: float = BAND_LEVEL) -> pd.DataFrame:
    """Items whose latest price is outside the band forecast for it: ``item, date, price, low,
    high, direction``."""
    rows = []
    for item, m in sorted(models.items()):
        lo, hi = m.band(level)
        if not lo <= m.last_price <= hi:
            rows.append({"item": item, "date": m.last_date.date(), "price": m.last_price,
                         "low": round(lo, 4), "high": round(hi, 4),
                         "direction": "above" if m.last_price > hi else "below"})
    return pd.DataFrame(rows, columns=["item", "date", "price", "low", "high", "direction"])


def _demand_cv(fc: pd.DataFrame) -> float:
    tot = fc[["net_p10", "net_p50", "net_p90"]].clip(lower=0).sum()
    return float((tot["net_p90"] - tot["net_p10"]) / (2 * Z90) / tot["net_p50"]) \
        if tot["net_p50"] > 0 else 0.0


def price_plan(prices: pd.DataFrame, orders: pd.DataFrame, materials: pd.DataFrame,
               fc: pd.DataFrame, start: dt.date, cal: HolidayCalendar | None, cfg: Any,
               on_hand: dict[str, float] | None = None,
               ) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """(buy-ahead calls, explanation, price alerts) for the season's orders."""
    models = fit_models(prices, cal, cfg.peak)
    mat_orders = orders[orders["kind"] == "material"] if len(orders) else orders
    calls = buy_ahead(mat_orders, materials, models, start, cfg.holding_cost_rate,
                      cfg.material_cover_days, cfg.storage_limits, on_hand)
    alerts = price_alerts(models)
    expl: dict[str, Any] = {
        "holding_cost_rate": cfg.holding_cost_rate,
        "rule": "buy now when the expected price at the order-by date exceeds today's price "
                "plus the holding cost of the extra days, the goods keep and fit the store",
        "models": {item: {
            "method": m.method, "last_price": round(m.last_price, 4),
            "last_date": str(m.last_date.date()), "volatility_annual": round(m.volatility, 4),
            "band": [round(v, 4) for v in m.band(BAND_LEVEL)],
            "forecast": {f"+{w}w": [round(v, 4) for v in m.quantiles(
                m.last_date + pd.Timedelta(weeks=w))] for w in (4, 8, 13)},
            "held_out_error": {k: round(v, 4) for k, v in m.scores.items()},
        } for item, m in sorted(models.items())},
        "alerts": alerts.assign(date=alerts["date"].astype(str)).to_dict("records"),
        "no_price_history": sorted(set(mat_orders["item"]) - set(models)) if len(mat_orders)
        else [],
    }
    if len(calls):
        cost = season_cost(calls, models, _demand_cv(fc), cfg.holding_cost_rate, start)
        base = cost["order_by"]["mean"]
        expl["season_material_cost"] = cost
        expl["expected_saving"] = round(base - cost["calls"]["mean"], 2)
        expl["expected_saving_pct"] = round(100 * (base - cost["calls"]["mean"]) / base, 2) \
            if base > 0 else 0.0
        expl["buy_now_orders"] = int((calls["call"] == "buy now").sum())
    return calls, expl, alerts
