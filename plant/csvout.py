"""CSV files the plant writes for people: plans, feeds, holds, downloads.

A spreadsheet treats a cell that begins with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage
return) as a formula; names come from the ERP and suppliers, so ``=HYPERLINK(...)`` as a SKU
would run when a planner opens the plan (CSV formula injection). :func:`to_csv` writes such a
text cell with a leading ``'``, which spreadsheets show as the text itself; numbers are left
as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["FORMULA_START", "safe_frame", "to_csv"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that a spreadsheet would run as a formula quoted."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_cell)
    out.columns = [_cell(str(c)) for c in out.columns]
    return out


def to_csv(df: pd.DataFrame, path: str | Path | None = None, **kwargs: Any) -> str | None:
    """``df.to_csv(path, index=False, **kwargs)`` with formula cells quoted (see above)."""
    return safe_frame(df).to_csv(path, index=False, **kwargs)
