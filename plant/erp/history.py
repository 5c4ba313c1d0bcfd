"""A demand history in long format (``unique_id, ds, y``), as statsforecast and many ERPs
export it: read and checked cell by cell like the ERP tables (``plant.erp.validate``).

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

__all__ = ["LONG_COLUMNS", "read_long_history"]

#: the columns of a long-format history: series id, day, value (orders, in boxes)
LONG_COLUMNS = (ColumnSpec("unique_id", "str", max_len=128), ColumnSpec("ds", "date"),
                ColumnSpec("y", "float", ge=0.0))


def read_long_history(path: str | Path) -> pd.DataFrame:
    """``unique_id`` (str), ``ds`` (datetime64), ``y`` (float) of the CSV at ``path``."""
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
    table = check_columns(raw, LONG_COLUMNS, ("unique_id", "ds"), path.name)
    if table.empty:
        raise DataError(f"{path.name}: no data rows")
    return table
