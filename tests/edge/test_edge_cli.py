"""``peakline edge size`` and ``edge bench-ep`` in the user's words; the eval report's table."""

from __future__ import annotations

import json

import pytest

from edge.model.evaluate import format_report
from peakline.cli import main

MOONCAKE = ["--belt-speed", "0.5", "--item", "60", "--pitch", "100", "--defect", "1",
            "--reject-distance", "0.6"]


def _with(option: str, value: str) -> list[str]:
    argv = list(MOONCAKE)
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    return argv


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--belt-speed", "0", "argument --belt-speed: must be greater than 0, got 0"),
    ("--belt-speed", "fast", "argument --belt-speed: must be a number, got 'fast'"),
    ("--pitch", "50", "--pitch (50.0) is less than --item (60.0): items would overlap"),
    ("--lanes", "3", "with more than one lane, give --belt-width (the view spans it)"),
    ("--views", "2", "a photo-eye trigger takes one view per item (--views=1)"),
])
def test_size_errors_name_the_option(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str],
) -> None:
    argv = _with(option, value)
    if option == "--views":
        argv += ["--trigger", "photo-eye"]
    assert main(["edge", "size", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("peakline edge size: error: ")
    assert message in err[0]
    assert "_m_s" not in err[0] and "_mm" not in err[0]  # never the internal field names


def test_size_warns_about_a_belt_no_food_line_has(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edge", "size", *_with("--belt-speed", "500")]) == 0
    out = capsys.readouterr()
    assert ("peakline edge size: warning: --belt-speed 500 m/s is more than 5 m/s: food "
            "conveyors run at about 0.05-2 m/s; was it mm/s or m/min?") in out.err
    assert out.out.startswith("Line: belt 500 m/s")
    assert main(["edge", "size", *MOONCAKE]) == 0
    assert "warning" not in capsys.readouterr().err


def test_size_tells_how_to_measure_a_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edge", "size", *MOONCAKE, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    unmeasured = [d for d in report["edge_devices"] if d["verdict"] == "unmeasured"]
    assert unmeasured
    assert all("run `peakline edge bench-ep` on it" in d["reasons"][-1] for d in unmeasured)


def test_bench_ep_prints_the_targets_block_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["edge", "bench-ep", "--seconds", "0.05", "--ep", "CPUExecutionProvider",
                 "--machine", "test box"]) == 0
    out = capsys.readouterr().out
    assert "[[edge_devices.measured]]" in out and 'ep = "CPUExecutionProvider"' in out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["machine"] == "test box" and result["results"][0]["images_per_s"] > 0
    assert main(["edge", "bench-ep", "--ep", "CUDA"]) == 2
    assert "argument --ep: 'CUDA': unknown provider" in capsys.readouterr().err


def test_eval_report_gives_the_false_reject_rate_once() -> None:
    row = {"auroc": 0.9, "recall": 0.8, "false_reject_rate": 0.02, "escape_rate": 0.2}
    report = {
        "model": {"name": "m", "version": "1", "reject": 1.0, "uncertain": 0.5},
        "data": {"path": "rec", "kind": "recording", "items": 30},
        "model_ms_per_item": 0.5,
        "per_defect": {"crack": {**row, "n_defect": 4}, "burnt": {**row, "n_defect": 6}},
        "overall": {**row, "n_defect": 10, "n_good": 20, "confusion": {
            "good": {"pass": 19, "uncertain": 1, "reject": 0},
            "defect": {"pass": 2, "uncertain": 0, "reject": 8}}},
    }
    lines = format_report(report).splitlines()
    rows = {ln.split()[0]: ln.split() for ln in lines if ln.split()[:1] in (
        ["crack"], ["burnt"], ["overall"])}
    assert rows["crack"][4] == rows["burnt"][4] == "-"
    assert rows["overall"][4] == "0.020"
