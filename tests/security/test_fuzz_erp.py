"""Fuzz the ERP message parser (MQTT ``erp/<kind>``): a valid message or WireError, nothing else.

Messages are built from valid rows (values drawn within each field's rules, read from the row
models' column specs) and then mutated once. Every mutation has a known outcome - none: the
message is accepted with exactly the rows sent; a broken rule (a missing or unknown field, a
value out of range, a string for a number, a bad date): a WireError naming the field; a random
replacement: either, and if accepted every row still keeps every rule. ``event()`` records
which branch ran (``pytest --hypothesis-show-statistics``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from peakline.wire import WireError
from peakline.wire.erp import ERP_KINDS, ERP_MESSAGES, ColumnSpec, ErpKind, column_specs, parse_erp

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _row_model(kind: str) -> Any:
    return ERP_MESSAGES[ErpKind(kind)].model_fields["rows"].annotation.__args__[0]  # type: ignore[union-attr]


SPECS: dict[str, list[ColumnSpec]] = {k: column_specs(_row_model(k)) for k in ERP_KINDS}
REQUIRED: dict[str, set[str]] = {
    k: {n for n, f in _row_model(k).model_fields.items() if f.is_required()} for k in ERP_KINDS
}
text = st.characters(exclude_categories=["Cs"])  # lone surrogates cannot be sent as JSON


def valid_value(spec: ColumnSpec) -> st.SearchStrategy[Any]:
    """Any value that keeps the rule of one column."""
    if spec.type == "str":
        if spec.pattern:
            return st.from_regex(spec.pattern, fullmatch=True).filter(
                lambda v: 1 <= len(v) <= (spec.max_len or 64))
        return st.text(text, min_size=1, max_size=spec.max_len or 64)
    if spec.type == "date":
        return st.dates(dt.date(1990, 1, 1), dt.date(2099, 12, 31)).map(dt.date.isoformat)
    if spec.type == "time":
        return st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2099, 12, 31)).map(
            lambda t: t.isoformat(timespec="seconds"))
    if spec.type == "choice":
        return st.sampled_from(spec.choices)
    low = spec.gt if spec.gt is not None else spec.ge
    high = spec.le if spec.le is not None else 1e12
    # the smallest whole number the rule allows: above gt, at least ge
    first = math.floor(spec.gt) + 1 if spec.gt is not None else math.ceil(spec.ge or 0)
    if spec.type == "int":
        return st.integers(first, int(high))
    return st.floats(low, high, allow_nan=False, allow_infinity=False,
                     exclude_min=spec.gt is not None) | st.integers(first, min(10**9, int(high)))


def invalid_value(spec: ColumnSpec) -> st.SearchStrategy[Any]:
    """A value that breaks the rule of one column (and is still valid JSON)."""
    if spec.type == "str":
        return st.sampled_from(["", "x" * ((spec.max_len or 64) + 1), 7, None, True, ["a"]])
    if spec.type == "date":
        return st.sampled_from(["2026-13-01", "2026-02-30", "20260101", "26-01-01",
                                "2026-01-01T00:00", 20260101, None, ""])
    if spec.type == "time":
        bad = ["2026-13-01T00:00", "2026-01-01", "2026-01-01 10:00", "2026-01-01T25:00", 20260101,
               ""]
        return st.sampled_from(bad if spec.optional else [*bad, None])
    if spec.type == "choice":
        return st.sampled_from(["", "OPEN", "other", 1, None])
    bad: list[Any] = ["5", True, None, [1], {"v": 1}]
    if spec.ge is not None:
        bad += [spec.ge - 1, spec.ge - 1e-9 * max(1.0, abs(spec.ge))]
    if spec.gt is not None:
        bad += [spec.gt]
    if spec.le is not None:
        bad += [spec.le + 1]
    return st.sampled_from(bad)


def valid_row(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    specs = SPECS[kind]
    return st.fixed_dictionaries(
        {s.name: valid_value(s) for s in specs if s.name in REQUIRED[kind]},
        optional={s.name: valid_value(s) for s in specs if s.name not in REQUIRED[kind]},
    )


def keeps_the_rules(kind: str, row: dict[str, Any]) -> bool:
    """Whether a parsed row (JSON form) keeps every column rule: the oracle for accepted rows."""
    for s in SPECS[kind]:
        v = row.get(s.name)
        if s.optional and v is None:
            continue
        if s.type == "time":
            ok = isinstance(v, str) and dt.datetime.fromisoformat(v) is not None
        elif s.type == "str":
            ok = (isinstance(v, str) and 1 <= len(v) <= (s.max_len or 64)
                  and (s.pattern is None or re.fullmatch(s.pattern, v) is not None))
        elif s.type == "date":
            ok = isinstance(v, str) and len(v) == 10 and dt.date.fromisoformat(v) is not None
        elif s.type == "choice":
            ok = v in s.choices
        else:
            ok = (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                  and (s.ge is None or v >= s.ge) and (s.gt is None or v > s.gt)
                  and (s.le is None or v <= s.le))
        if not ok:
            return False
    return True


MUTATIONS = ["none", "none", "drop_field", "unknown_field", "bad_value", "no_rows",
             "wrong_schema", "random_value"]


@FUZZ
@given(st.sampled_from(ERP_KINDS).flatmap(
    lambda k: st.tuples(st.just(k), st.lists(valid_row(k), min_size=1, max_size=4))),
    st.sampled_from(MUTATIONS), st.data())
def test_mutated_valid_messages(
    kind_rows: tuple[str, list[dict[str, Any]]], mutation: str, data: st.DataObject,
) -> None:
    kind, rows = kind_rows
    doc: dict[str, Any] = {"schema": f"peakline.erp.{kind}/1", "source": "erp-1", "rows": rows}
    i = data.draw(st.integers(0, len(rows) - 1))
    spec = data.draw(st.sampled_from(SPECS[kind]))
    field = spec.name
    refuse_naming: str | None = field
    if mutation == "drop_field":
        field = data.draw(st.sampled_from(sorted(REQUIRED[kind])))
        refuse_naming = field
        del rows[i][field]
    elif mutation == "unknown_field":
        field = data.draw(st.text(min_size=1, max_size=8).filter(
            lambda n: n not in {s.name for s in SPECS[kind]}))
        refuse_naming = None
        rows[i][field] = data.draw(json_values)
    elif mutation == "bad_value":
        rows[i][field] = data.draw(invalid_value(spec))
    elif mutation == "no_rows":
        doc["rows"], refuse_naming = [], "rows"
    elif mutation == "wrong_schema":
        doc["schema"] = data.draw(st.sampled_from(
            [f"peakline.erp.{k}/1" for k in ERP_KINDS if k != kind] + [f"peakline.erp.{kind}/2"]))
        refuse_naming = "schema"
    elif mutation == "random_value":
        rows[i][field] = data.draw(json_values)
    raw = json.dumps(doc).encode()
    try:
        msg = parse_erp(kind, raw)
    except WireError as exc:
        event(f"{mutation}: refused")
        assert mutation != "none", f"a valid {kind} message was refused: {exc}"
        if refuse_naming is not None:
            assert refuse_naming in str(exc), f"the error does not name {refuse_naming}: {exc}"
        return
    event(f"{mutation}: accepted")
    assert mutation in ("none", "random_value"), f"{mutation} of {field!r} was accepted"
    got = [r.model_dump(mode="json") for r in msg.rows]  # type: ignore[attr-defined]
    assert all(keeps_the_rules(kind, r) for r in got), got
    if mutation == "none":
        defaults = {n: f.default for n, f in _row_model(kind).model_fields.items()
                    if n not in REQUIRED[kind]}
        assert got == [{**defaults, **r} for r in rows]
    assert parse_erp(kind, json.dumps(msg.model_dump(mode="json", by_alias=True)).encode()) == msg


@FUZZ
@given(st.sampled_from([*ERP_KINDS, "unknown"]), st.binary(max_size=1000))
def test_random_bytes_are_refused(kind: str, raw: bytes) -> None:
    # random bytes are practically never a JSON object with the right schema tag
    with pytest.raises(WireError):
        parse_erp(kind, raw)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "true", '"5"', "NaN", "Infinity"])
def test_a_quantity_is_a_finite_json_number(number: str) -> None:
    raw = ('{"schema":"peakline.erp.sales/1","rows":[{"sku":"A","date":"2026-01-01",'
           f'"orders":{number}}}]}}').encode()
    with pytest.raises(WireError):
        parse_erp("sales", raw)


def test_deeply_nested_json_is_a_wire_error() -> None:
    with pytest.raises(WireError):
        parse_erp("inventory", b"[" * 100_000)
