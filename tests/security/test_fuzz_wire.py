"""Fuzz the MQTT payload parser: any input gives a valid model or a WireError, nothing else.

Random bytes, random JSON, and mutations of valid payloads of every schema. A model that
parses must also serialise and parse back to itself (the plant stores and the outbox replays
what it accepted). Cases the fuzzer found are pinned below as regression tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from peakline import wire

FUZZ = settings(max_examples=400, deadline=None, database=None,  # nothing written to the tree
                suppress_health_check=[HealthCheck.too_slow])

_RESULT = wire.ItemResult(seq=1, item_id=3, ts=1.7e9, frame=12, bbox=(10, 20, 150, 160),
                          score=0.42, decision="reject", defect="crack", latency_ms=8.5,
                          rejected=True)
VALID: list[wire._Payload] = [
    wire.ResultsBatch(site="s1", line="l1", node="n1", boot_id="b1", model="m@1", sent_at=1.7e9,
                      results=[_RESULT, _RESULT.model_copy(update={"seq": 2})]),
    wire.NodeStatus(site="s1", line="l1", node="n1", state="online", boot_id="b1"),
    wire.NodeMetrics(site="s1", line="l1", node="n1", boot_id="b1", ts=1.0, window_s=10,
                     items=5, rejects_by_defect={"crack": 1}),
    wire.RejectThumbnail(site="s1", line="l1", node="n1", boot_id="b1", seq=1, ts=1.0,
                         score=0.9, decision="reject", jpeg_b64="AAAA"),
    wire.NodeCommand(id="c1", ts=1.0, sender="op", command="set_thresholds",
                     reject_threshold=0.5),
    wire.PlantStatus(site="s1", state="online"),
    wire.PlantAck(site="s1", line="l1", node="n1", boot_id="b1", acked_seq=10, ts=1.0),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _check(raw: bytes | str) -> None:
    try:
        model = wire.parse_payload(raw)
    except wire.WireError:
        event("refused")
        return
    event(f"accepted as {type(model).__name__}")
    again = wire.parse_payload(wire.dump_payload(model))
    assert again == model


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@FUZZ
@given(st.text(max_size=500))
def test_random_text(raw: str) -> None:
    _check(raw)


@FUZZ
@given(json_values, st.sampled_from([None, *sorted({type(m).__name__ for m in VALID})]))
def test_random_json(value: Any, schema_of: str | None) -> None:
    if schema_of is not None and isinstance(value, dict):
        value["schema"] = next(json.loads(wire.dump_payload(m))["schema"] for m in VALID
                               if type(m).__name__ == schema_of)
    _check(json.dumps(value, allow_nan=True))


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_mutated_valid_payloads(payload: wire._Payload, data: st.DataObject) -> None:
    doc = json.loads(wire.dump_payload(payload))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)[1:]))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = data.draw(json_values)
        else:
            parent[path[-1]] = data.draw(json_values | st.sampled_from(
                [float("nan"), float("inf"), -1, 2**70, "\ud800", "x" * 300, [], {}]))
        if not _paths(doc)[1:]:
            break
    _check(json.dumps(doc, allow_nan=True))


def _like(value: Any) -> st.SearchStrategy[Any]:
    """Another plausible value of the same JSON type (a name, a count, a measurement)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(1, 10_000)
    if isinstance(value, float):
        return st.floats(0.001, 1e6, allow_nan=False)
    if isinstance(value, str):
        return st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
    return st.just(value)


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_plausible_values_in_valid_payloads_are_kept_exactly(
    payload: wire._Payload, data: st.DataObject,
) -> None:
    """Leaves of a valid payload replaced by plausible values of the same type: mostly still
    valid, and then every value comes back as sent (nothing dropped, clipped or coerced)."""
    doc = json.loads(wire.dump_payload(payload))
    leaves = [p for p in _paths(doc)[1:] if p != ("schema",)
              and not isinstance(_at(doc, p), dict | list) and _at(doc, p) is not None]
    changed = []
    for path in data.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3,
                                   unique=True)):
        value = data.draw(_like(_at(doc, path)))
        _at(doc, path[:-1])[path[-1]] = value
        changed.append((path, value))
    try:
        model = wire.parse_payload(json.dumps(doc))
    except wire.WireError:
        event("refused (a value outside its field's rules)")
        return
    event("accepted")
    back = json.loads(wire.dump_payload(model))
    for path, value in changed:
        assert _at(back, path) == value, f"{path}: sent {value!r}, got {_at(back, path)!r}"
    assert wire.parse_payload(wire.dump_payload(model)) == model


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@FUZZ
@given(st.sampled_from(VALID), st.integers(0, 400), st.binary(min_size=1, max_size=8))
def test_byte_flips_in_valid_payloads(payload: wire._Payload, pos: int, junk: bytes) -> None:
    raw = bytearray(wire.dump_payload(payload))
    pos %= len(raw)
    raw[pos:pos + len(junk)] = junk
    _check(bytes(raw))


def test_valid_payloads_round_trip() -> None:
    for payload in VALID:
        assert wire.parse_payload(wire.dump_payload(payload)) == payload


# ---- regression cases found while fuzzing (each raised something other than WireError, or
# ---- was accepted and could not be written back) ----

@pytest.mark.parametrize("raw", [
    b"[" * 200_000,                                                     # RecursionError
    b'{"schema": "peakline.results/1", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b'{"schema": "peakline.plant_status/1", "site": "s", "state": "online", "ts": NaN}',
    b'{"schema": "peakline.plant_status/1", "site": "s", "state": "online", "ts": Infinity}',
    b'{"schema": "peakline.plant_status/1", "site": "s", "state": "online", "ts": 1e400}',
    # a NaN threshold compares false with every score: it would have disabled all rejects
    b'{"schema": "peakline.cmd/2", "id": "c", "ts": 1, "sender": "op",'
    b' "command": "set_thresholds", "reject_threshold": NaN}',
    b'{"schema": "peakline.cmd/2", "id": "c", "ts": 1, "sender": "op",'
    b' "command": "set_thresholds", "uncertain_threshold": 1e999}',
    b'{"schema": "peakline.ack/2", "site": "s", "line": "l", "node": "n", "boot_id": "\\ud800",'
    b' "acked_seq": 1, "ts": 1}',                                       # lone surrogate
    '{"schema": "peakline.ack/2", "site": "s", "line": "l", "node": "n", "boot_id": "\ud800",'
    ' "acked_seq": 1, "ts": 1}',
    b'{"schema": "peakline.ack/2", "site": "s", "line": "l", "node": "n", "boot_id": "b",'
    b' "acked_seq": '
    + b"9" * 5000 + b', "ts": 1}',                                       # 5000-digit integer
    "\u00e9" * (wire.MAX_PAYLOAD_BYTES // 2 + 1),                        # > limit in bytes
])
def test_regressions_are_wire_errors(raw: bytes | str) -> None:
    with pytest.raises(wire.WireError):
        wire.parse_payload(raw)


def test_nan_cannot_be_put_on_the_wire() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="finite"):
            wire.ItemResult(**{**_RESULT.model_dump(), "score": bad})


def test_size_limit() -> None:
    big = b'{"schema": "peakline.plant_status/1", "site": "s", "state": "online", "pad": "'
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.parse_payload(big + b"x" * wire.MAX_PAYLOAD_BYTES + b'"}')
