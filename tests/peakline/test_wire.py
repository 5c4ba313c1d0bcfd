"""The wire contract: payloads round-trip, bad payloads raise WireError, docs are current."""

from __future__ import annotations

import json

import pytest
from support.paths import REPO

from peakline import wire
from peakline.wire.reference import render_wire_doc


def _batch(**overrides: object) -> wire.ResultsBatch:
    result = wire.ItemResult(
        seq=1, item_id=7, ts=1.5, frame=3, bbox=(1, 2, 30, 40), score=0.25,
        decision="pass", latency_ms=4.0, rejected=False,
    )
    fields: dict[str, object] = {
        "site": "suzhou", "line": "line1", "node": "cam1", "boot_id": "b1",
        "model": "padim@1", "sent_at": 2.0, "results": [result],
    }
    fields.update(overrides)
    return wire.ResultsBatch.model_validate(fields)


def test_results_round_trip_keeps_schema_tag() -> None:
    raw = wire.dump_payload(_batch())
    assert json.loads(raw)["schema"] == "peakline.results/1"
    parsed = wire.parse_payload(raw, wire.ResultsBatch)
    assert parsed == _batch()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"schema": "peakline.nope/9"}', "unknown schema"),
        (b'{"schema": "peakline.results/1", "site": "s"}', "invalid peakline.results/1"),
        (b"\xff\xfe", "not JSON"),
        (b" " * (wire.MAX_PAYLOAD_BYTES + 1), "exceeds"),
    ],
)
def test_bad_payloads_raise_wire_error_with_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(wire.WireError, match=reason):
        wire.parse_payload(raw)


def test_unknown_fields_and_bad_names_are_rejected() -> None:
    data = json.loads(wire.dump_payload(_batch()))
    data["extra"] = 1
    with pytest.raises(wire.WireError, match="extra"):
        wire.parse_payload(json.dumps(data))
    with pytest.raises(wire.WireError):
        wire.parse_payload(wire.dump_payload(_batch()), wire.NodeStatus)
    with pytest.raises(ValueError):
        _batch(node="cam/1")


def test_topics() -> None:
    topics = wire.Topics("suzhou")
    assert topics.node("line1", "cam1", "results") == "peakline/v1/suzhou/line1/cam1/results"
    assert topics.split_node_topic("peakline/v1/suzhou/line1/cam1/results") == (
        "suzhou", "line1", "cam1", "results",
    )
    assert topics.plant_ack("line1", "cam1") == "peakline/v1/suzhou/plant/ack/line1/cam1"
    with pytest.raises(wire.WireError):
        topics.split_node_topic("peakline/v1/suzhou/plant/ack/cam1")
    with pytest.raises(wire.WireError):
        topics.node("line+1", "cam1", "results")


def test_wire_doc_is_current() -> None:
    committed = (REPO / "docs" / "wire.md").read_text()
    assert committed == render_wire_doc(), "run `peakline docs wire` and commit docs/wire.md"
