"""Column-by-column checks of ERP tables (CSV files, row lists), vectorised with pandas.

``check_frame`` turns a frame of raw values into a typed frame or raises ``DataError`` that
names the source, the row (data rows count from 1; the file line is row + 1 for the header)
and the column of the FIRST problem: a missing column, an empty cell (unless the column is
optional), a number that is not a number or breaks its bound, a date that is not
``YYYY-MM-DD``, a time that is not ``YYYY-MM-DDTHH:MM[:SS]``, a value outside its choices, or a
key that appears twice. Nothing is written by this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from peakline.errors import DataError
from peakline.wire.erp import ROW_MODELS, ColumnSpec, column_specs

__all__ = ["check_columns", "check_frame", "fail"]


def fail(source: str, row: int | None, column: str | None, message: str) -> DataError:
    """A DataError worded the same way for every ERP input problem."""
    where = source
    if row == 0:
        where += ", header"
    elif row is not None:
        where += f", row {row} (line {row + 1})"
    if column is not None:
        where += f", column '{column}'"
    return DataError(f"{where}: {message}")


def _checks(spec: ColumnSpec, raw: pd.Series) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    """Converted values of one column and its (bad-row mask, reason) checks, in order; an
    optional column's empty cells break no rule."""
    values, checks = _rules(spec, raw)
    if not spec.optional:
        return values, checks
    text = raw.astype("string").str.strip()
    empty = (text.isna() | (text == "")).astype(bool)
    return values, [(mask & ~empty, reason) for mask, reason in checks]


def _rules(spec: ColumnSpec, raw: pd.Series) -> tuple[pd.Series, list[tuple[pd.Series, str]]]:
    text = raw.astype("string").str.strip()
    empty = (text.isna() | (text == "")).astype(bool)
    checks: list[tuple[pd.Series, str]] = [] if spec.optional else [(empty, "empty")]
    if spec.type in ("int", "float"):
        num = pd.to_numeric(text, errors="coerce").astype(float)
        finite = num.notna() & np.isfinite(num.fillna(0.0))
        checks.append((~finite, "not a number"))
        if spec.type == "int":
            checks.append((finite & (num.fillna(0.0) % 1 != 0), "not a whole number"))
        if spec.ge is not None:
            word = "negative" if spec.ge == 0 else f"below {spec.ge:g}"
            checks.append((finite & (num < spec.ge), word))
        if spec.gt is not None:
            checks.append((finite & (num <= spec.gt), f"must be greater than {spec.gt:g}"))
        if spec.le is not None:
            checks.append((finite & (num > spec.le), f"must be at most {spec.le:g}"))
        return num, checks
    if spec.type == "date":
        shape = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False).astype(bool)
        parsed = pd.to_datetime(text.where(shape), format="%Y-%m-%d", errors="coerce")
        checks.append((~shape | parsed.isna(), "not a date in YYYY-MM-DD form"))
        return parsed, checks
    if spec.type == "time":
        shape = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?").fillna(False)
        shape = shape.astype(bool)
        parsed = pd.to_datetime(text.where(shape), format="ISO8601", errors="coerce")
        checks.append((~shape | parsed.isna(), "not a time in YYYY-MM-DDTHH:MM form"))
        return parsed, checks
    if spec.type == "choice":
        ok = text.isin(spec.choices).fillna(False).astype(bool)
        checks.append((~ok, f"must be one of {', '.join(spec.choices)}"))
    if spec.max_len is not None:
        long = (text.str.len().fillna(0) > spec.max_len).astype(bool)
        checks.append((long, f"longer than {spec.max_len} characters"))
    if spec.pattern is not None:
        ok = text.str.fullmatch(spec.pattern.strip("^$")).fillna(False).astype(bool)
        checks.append((~ok, "must be letters, digits, '_', '.' or '-' (a topic level), at "
                       "most 64 characters"))
    return text, checks


def check_frame(kind: str, raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """Validate and type ``raw`` (any dtypes) as a ``kind`` table; DataError on the first fault."""
    if kind not in ROW_MODELS:
        raise DataError(f"{source}: unknown table kind {kind!r}; expected one of "
                        f"{', '.join(ROW_MODELS)}")
    model, keys = ROW_MODELS[kind]
    return check_columns(raw, column_specs(model), keys, source)


def check_columns(raw: pd.DataFrame, specs: Sequence[ColumnSpec], keys: Sequence[str],
                  source: str) -> pd.DataFrame:
    """Validate and type ``raw`` column by column (``keys`` unique); DataError on the first
    fault, worded as for the ERP tables."""
    raw = raw.rename(columns=lambda c: str(c).strip())
    missing = [s.name for s in specs if s.name not in raw.columns and not s.optional]
    if missing:
        raise fail(source, 0, missing[0], f"missing column (expected columns: "
                   f"{', '.join(s.name for s in specs)})")
    raw = raw.reset_index(drop=True)
    for spec in specs:
        if spec.name not in raw.columns:
            raw[spec.name] = ""
    out = pd.DataFrame(index=raw.index)
    first: tuple[int, int, str, str] | None = None  # (row index, column order, column, reason)
    for order, spec in enumerate(specs):
        values, checks = _checks(spec, raw[spec.name])
        out[spec.name] = values
        for mask, reason in checks:
            hits = np.flatnonzero(mask.to_numpy(dtype=bool))
            if len(hits) and (first is None or (int(hits[0]), order) < first[:2]):
                first = (int(hits[0]), order, spec.name, reason)
    if first is not None:
        idx, _, col, reason = first
        value = raw[col].iloc[idx]
        raise fail(source, idx + 1, col, f"{reason} (got {_show(value)})")
    for spec in specs:
        if spec.type == "int":
            out[spec.name] = out[spec.name].astype("int64")
        elif spec.type in ("str", "choice"):
            out[spec.name] = out[spec.name].astype(object)
    _check_unique(out, keys, source)
    return out


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "an empty cell"
    return repr(str(value))


def _plain(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _check_unique(df: pd.DataFrame, keys: Sequence[str], source: str) -> None:
    dup = df.duplicated(list(keys), keep="first")
    if dup.any():
        idx = int(np.flatnonzero(dup.to_numpy())[0])
        row = df.iloc[idx]
        key = ", ".join(f"{k}={_plain(row[k])}" for k in keys)
        firsts = df.index[(df[list(keys)] == row[list(keys)]).all(axis=1)]
        raise fail(source, idx + 1, keys[0],
                   f"repeats the key ({key}) of row {int(firsts[0]) + 1}")
