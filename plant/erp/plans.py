"""Plans out: the latest plan of each kind (production ... releases) as MQTT messages and CSV.

A plan is published retained, QoS 1, as :class:`peakline.wire.PlanMessage` parts on
``peakline/v1/<site>/plans/<kind>`` (the payload and the split into parts are documented
there and in ``docs/wire.md``).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from peakline.errors import DataError
from peakline.wire import HOLD_PLAN_KINDS, PLAN_KINDS, PlanKind, PlanMessage, Topics, dump_payload
from plant.csvout import to_csv
from plant.store import Store

__all__ = ["as_days", "export_plan_csv", "plan_messages"]


#: a day as the store gives it back: a date, or a timestamp at midnight as ISO text
_DAY_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}(T00:00(:00(\.0+)?)?(Z|[+-]00:?00)?)?$")


def as_days(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every column of days written ``YYYY-MM-DD``.

    Date columns come back from the store either as datetimes (plans made with timestamps) or
    as text such as ``2026-08-25T00:00:00.000`` (plans made with ``datetime.date`` values);
    both are days when every value is at midnight. Other columns are left as they are."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            if (s.dropna() == s.dropna().dt.normalize()).all():
                out[col] = s.dt.strftime("%Y-%m-%d").where(s.notna(), None)
        elif s.dtype == object:
            vals = s.dropna()
            if len(vals) and all(isinstance(v, str) and _DAY_TEXT.match(v) for v in vals):
                out[col] = s.map(lambda v: v[:10] if isinstance(v, str) else v)
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        as_days(df).to_json(orient="records", date_format="iso", date_unit="s")
    )
    return rows


def plan_messages(
    store: Store, site: str, kind: str, part_bytes: int = 512_000
) -> list[tuple[str, bytes]]:
    """(topic, payload) pairs for the latest plan of ``kind``; empty if there is none."""
    if kind not in PLAN_KINDS:
        raise DataError(f"unknown plan kind {kind!r}; expected one of {', '.join(PLAN_KINDS)}")
    latest = store.latest_plan(kind)
    if latest is None:
        return []
    meta, df = latest
    rows = _records(df)
    explanation = meta.get("explanation", {})
    body = len(json.dumps(rows, separators=(",", ":")))
    fixed = len(json.dumps(explanation)) + 1024
    per_row = max(1.0, body / max(1, len(rows)))
    per_part = max(1, int((part_bytes - fixed) / per_row))
    parts = max(1, math.ceil(len(rows) / per_part))
    topics = Topics(site)
    out = []
    for i in range(parts):
        message = PlanMessage(
            site=site, kind=PlanKind(kind), plan_id=meta["id"],
            forecast_id=meta.get("forecast_id"), created_at=meta.get("created_at"),
            part=i + 1, parts=parts, columns=[str(c) for c in df.columns],
            explanation=explanation if i == 0 else None,
            rows=rows[i * per_part : (i + 1) * per_part],
        )
        out.append((topics.plan(kind, i + 1), dump_payload(message)))
    return out


def export_plan_csv(store: Store, kind: str, path: str | Path) -> Path:
    """Write the latest plan of ``kind`` as CSV (plus ``<name>.explanation.json`` beside it)."""
    if kind not in PLAN_KINDS:
        raise DataError(f"unknown plan kind {kind!r}; expected one of {', '.join(PLAN_KINDS)}")
    latest = store.latest_plan(kind)
    if latest is None:
        made_by = "holds" if kind in HOLD_PLAN_KINDS else "plan"
        raise DataError(f"no {kind} plan in the database yet; run `peakline plant {made_by}` first")
    meta, df = latest
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = as_days(df)
    for col in out.columns:  # timestamps within a day: their day
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    to_csv(out, path)
    info = {"plan_id": meta["id"], "forecast_id": meta.get("forecast_id"),
            "created_at": meta.get("created_at"), "explanation": meta.get("explanation", {})}
    path.with_suffix(".explanation.json").write_text(json.dumps(info, indent=2, default=str))
    return path
