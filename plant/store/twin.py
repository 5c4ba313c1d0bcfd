"""The twin's side of the store: plans by id, and simulations of plans and scenarios.

A simulation is stored like a forecast or a plan (:mod:`plant.store.artifacts`): its table
is one row per replication, its metadata the summary, the scenario, stock over time and the
first replication's Gantt bars.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import select

from peakline.errors import DataError
from peakline.wire import PLAN_KINDS
from plant.store import schema as t
from plant.store.artifacts import ArtifactsMixin

__all__ = ["TwinMixin"]


class TwinMixin(ArtifactsMixin):
    """plan(kind, id), save_simulation, simulation(id), simulations()."""

    def plan(self, kind: str, plan_id: str) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """(meta, frame) of the plan of ``kind`` with this id, or None."""
        if kind not in PLAN_KINDS:
            raise DataError(f"unknown plan kind {kind!r}; expected one of {', '.join(PLAN_KINDS)}")
        return self._latest(f"plan.{kind}", plan_id)

    def save_simulation(self, sim_id: str, forecast_id: str, df: pd.DataFrame,
                        meta: dict[str, Any]) -> None:
        """Store a simulation: one row per replication, the summary and charts in ``meta``."""
        self._save("simulation", sim_id, forecast_id, df, meta)

    def simulation(self, sim_id: str | None = None) -> tuple[dict[str, Any], pd.DataFrame] | None:
        """(meta, per-run frame) of one simulation by id (the newest without one), or None."""
        return self._latest("simulation", sim_id)

    def simulations(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest simulations' metadata (no per-run rows), newest first."""
        a = t.artifacts
        stmt = (select(a.c.artifact_id, a.c.forecast_id, a.c.created_at, a.c.meta)
                .where(a.c.kind == "simulation").order_by(a.c.created_at.desc()).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        out = []
        for sim_id, fc_id, created, meta in rows:
            m = json.loads(meta)
            m.update(id=sim_id, forecast_id=fc_id, created_at=created)
            out.append(m)
        return out

