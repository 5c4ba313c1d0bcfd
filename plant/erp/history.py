"""A demand history in long format (``unique_id, ds, y``), as statsforecast and many ERPs
export it: read and checked cell by cell like the ERP tables (``plant.erp.validate``).

Any further column is a known-in-advance regressor (promotion, open, price, planned
marketing): numbers, checked like ``y`` but allowed to be negative. A future file
(``--future``) has ``unique_id, ds`` and the same regressor columns, no ``y``.

``peakline plant backtest --csv FILE`` scores the forecaster on such a file; a bad cell is
refused with the file, row and column (``history.csv, row 3 (line 4), column 'y': not a
number (got 'abc')``), never a traceback.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from peakline.errors import DataError
from peakline.wire.erp import ColumnSpec
from plant.erp.validate import check_columns

__all__ = ["LONG_COLUMNS", "read_future", "read_long_history"]

#: the columns of a long-format history: series id, day, value (orders, in boxes)
LONG_COLUMNS = (ColumnSpec("unique_id", "str", max_len=128), ColumnSpec("ds", "date"),
                ColumnSpec("y", "float", ge=0.0))


def _read(path: str | Path) -> tuple[Path, pd.DataFrame]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[],
                          skipinitialspace=True, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path.name}: empty file (no header row)") from exc
    except (UnicodeDecodeError, pd.errors.ParserError, csv.Error) as exc:
        raise DataError(f"{path.name}: not a readable CSV file: {exc}") from exc
    return path, raw.rename(columns=lambda c: str(c).strip())


def _regressors(raw: pd.DataFrame, base: tuple[str, ...]) -> list[ColumnSpec]:
    return [ColumnSpec(c, "float") for c in raw.columns if c not in base]


def read_long_history(path: str | Path) -> pd.DataFrame:
    """``unique_id`` (str), ``ds`` (datetime64), ``y`` (float) and any regressor columns
    (float) of the CSV at ``path``."""
    path, raw = _read(path)
    specs = (*LONG_COLUMNS, *_regressors(raw, ("unique_id", "ds", "y")))
    table = check_columns(raw, specs, ("unique_id", "ds"), path.name)
    if table.empty:
        raise DataError(f"{path.name}: no data rows")
    return table


def read_future(path: str | Path, regressors: list[str]) -> pd.DataFrame:
    """The regressors' future values: ``unique_id, ds`` and each of ``regressors``."""
    path, raw = _read(path)
    specs = (*LONG_COLUMNS[:2], *(ColumnSpec(c, "float") for c in regressors))
    table = check_columns(raw, specs, ("unique_id", "ds"), path.name)
    if table.empty:
        raise DataError(f"{path.name}: no data rows")
    return table
