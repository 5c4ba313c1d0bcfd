"""Forecasts, backtests and plans: a frame per id with its metadata, newest one wins.

Each is stored whole (the frame as pandas' ``table`` JSON, which keeps dtypes and dates),
so the forecasting and planning code may add columns without a migration. ``latest_*``
returns ``(meta, frame)`` where meta holds the id, the forecast it came from, the creation
time and whatever the writer put in (for plans: the explanation).
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from peakline.errors import DataError
from peakline.wire import PLAN_KINDS
from plant.store import schema as t
from plant.store.base import StoreBase

__all__ = ["ArtifactsMixin"]




def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


class ArtifactsMixin(StoreBase):
    """save_/latest_ forecast, backtest and plan."""

    def _save(self, kind: str, artifact_id: str, forecast_id: str | None, df: pd.DataFrame,
              meta: dict[str, Any]) -> None:
        if not artifact_id:
            raise DataError(f"{kind}: an id is required")
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"{kind} {artifact_id}: expected a DataFrame, got {type(df).__name__}")
        data = df.reset_index(drop=True).to_json(orient="table", index=False, date_format="iso")
        row = {
            "artifact_id": artifact_id,
            "kind": kind,
            "forecast_id": forecast_id,
            "created_at": time.time(),
            "meta": json.dumps(meta, default=_json_default, sort_keys=True),
            "data": data,
        }
        with self.engine.begin() as conn:
            self.upsert(conn, t.artifacts, [row], ["kind", "artifact_id"])

    def _latest(self, kind: str, artifact_id: str | None = None,
                ) -> tuple[dict[str, Any], pd.DataFrame] | None:
        a = t.artifacts
        stmt = select(a).where(a.c.kind == kind)
        if artifact_id is not None:
            stmt = stmt.where(a.c.artifact_id == artifact_id)
        stmt = stmt.order_by(a.c.created_at.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            return None
        df = pd.read_json(io.StringIO(row["data"]), orient="table")
        meta = json.loads(row["meta"])
        meta.update(id=row["artifact_id"], forecast_id=row["forecast_id"],
                    created_at=row["created_at"])
        return meta, df

    def latest_plan_id(self, kind: str) -> str | None:
        """Id of the newest plan of ``kind`` (cheap: reads no rows of the plan)."""
        a = t.artifacts
        stmt = (select(a.c.artifact_id).where(a.c.kind == f"plan.{kind}")
                .order_by(a.c.created_at.desc()).limit(1))
        with self.engine.connect() as conn:
            found = conn.execute(stmt).scalar()
        return None if found is None else str(found)

    def save_forecast(self, forecast_id: str, df: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Store a forecast (columns sku, ds and numeric quantiles such as net_p50)."""
        self._save("forecast", forecast_id, forecast_id, df, meta)

    def latest_forecast(self) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """(meta, frame) of the newest forecast, or None."""
        return self._latest("forecast")

    def forecast(self, forecast_id: str) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """(meta, frame) of one forecast by id, or None."""
        return self._latest("forecast", forecast_id)

    def save_backtest(self, backtest_id: str, df: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Store a backtest result table."""
        self._save("backtest", backtest_id, meta.get("forecast_id"), df, meta)

    def latest_backtest(self) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """(meta, frame) of the newest backtest, or None."""
        return self._latest("backtest")

    def save_plan(self, kind: str, plan_id: str, forecast_id: str | None, df: pd.DataFrame,
                  explanation: dict[str, Any]) -> None:
        """Store a plan with the figures behind it (``forecast_id`` None: not from a forecast)."""
        if kind not in PLAN_KINDS:
            raise DataError(f"unknown plan kind {kind!r}; expected one of {', '.join(PLAN_KINDS)}")
        self._save(f"plan.{kind}", plan_id, forecast_id, df,
                   {"kind": kind, "explanation": explanation})

    def latest_plan(self, kind: str) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """(meta, frame) of the newest plan of ``kind``: meta has id, forecast_id, explanation."""
        if kind not in PLAN_KINDS:
            raise DataError(f"unknown plan kind {kind!r}; expected one of {', '.join(PLAN_KINDS)}")
        return self._latest(f"plan.{kind}")
