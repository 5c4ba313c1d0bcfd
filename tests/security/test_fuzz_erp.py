"""Fuzz the ERP message parser (MQTT ``erp/<kind>``): a valid message or WireError, nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peakline.wire import WireError
from peakline.wire.erp import ERP_KINDS, parse_erp

FUZZ = settings(max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _check(kind: str, raw: bytes) -> None:
    try:
        parse_erp(kind, raw)
    except WireError:
        return


@FUZZ
@given(st.sampled_from([*ERP_KINDS, "unknown"]), st.binary(max_size=1000))
def test_random_bytes(kind: str, raw: bytes) -> None:
    _check(kind, raw)


@FUZZ
@given(st.sampled_from(ERP_KINDS), st.lists(st.dictionaries(
    st.sampled_from(["sku", "item", "kind", "day", "qty", "on_hand", "as_of", "order_id",
                     "status", "channel", "due", "x"]), json_values, max_size=6), max_size=4))
def test_rows_of_random_json(kind: str, rows: list[dict[str, Any]]) -> None:
    doc = {"schema": f"peakline.erp.{kind}/1", "rows": rows}
    _check(kind, json.dumps(doc, allow_nan=True).encode())


def test_deeply_nested_json_is_a_wire_error() -> None:
    with pytest.raises(WireError):
        parse_erp("inventory", b"[" * 100_000)
