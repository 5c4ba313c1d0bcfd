"""Line sizing against the worked examples in hardware/README.md and hand arithmetic."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import pytest
from support.paths import REPO

from edge import sizing
from edge.commands.size import register_size
from peakline.errors import ConfigError

README = REPO / "hardware" / "README.md"
MOONCAKE = sizing.LineSpec(
    belt_speed_m_s=0.5, item_length_mm=60, pitch_mm=100, smallest_defect_mm=1,
    px_per_defect=3, reject_distance_m=0.6,
)


def _run(argv: list[str]) -> str:
    parser = argparse.ArgumentParser()
    register_size(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.handler(args) == 0
    return out.getvalue()


def _examples() -> list[tuple[str, list[str]]]:
    blocks = re.findall(r"```console\n\$ peakline edge (size .*?)\n(.*?)```", README.read_text(),
                        flags=re.S)
    return [(cmd, [ln for ln in body.splitlines() if ln.strip()]) for cmd, body in blocks]


def test_readme_has_the_worked_examples() -> None:
    assert len(_examples()) == 4


@pytest.mark.parametrize(("command", "expected"), _examples(), ids=lambda v: str(v)[:40])
def test_worked_example_output_matches_readme(command: str, expected: list[str]) -> None:
    got = [ln for ln in _run(shlex.split(command)).splitlines() if ln.strip()]
    for line in expected:
        assert line in got, f"README line not produced any more: {line!r}"


def test_mooncake_by_hand() -> None:
    req = sizing.requirements(MOONCAKE)
    assert req.mm_per_px == pytest.approx(1 / 3)
    assert (req.fov_across_mm, req.fov_along_mm) == (80, 160)
    assert (req.px_across, req.px_along) == (240, 480)
    assert req.fps == pytest.approx(10.0)
    assert req.exposure_max_us == pytest.approx(666.67, abs=0.01)
    assert req.items_per_s == pytest.approx(5.0)
    assert req.inferences_per_s == pytest.approx(10.0)
    assert req.latency_budget_ms == pytest.approx(1200.0)
    assert req.decision_budget_ms == pytest.approx(1180.0)


def test_more_views_need_more_fps_and_blur_budget_scales() -> None:
    base = sizing.requirements(MOONCAKE)
    spec = sizing.LineSpec(**{**MOONCAKE.__dict__, "views_per_item": 4, "max_blur_px": 2})
    req = sizing.requirements(spec)
    assert req.fps == pytest.approx(2 * base.fps)
    assert req.exposure_max_us == pytest.approx(2 * base.exposure_max_us)


def _cam(**kw: object) -> sizing.Camera:
    base: dict[str, object] = dict(
        id="c", name="c", interface="GigE Vision", width_px=1280, height_px=1024, pixel_um=5.3,
        max_fps=60, shutter="global", min_exposure_us=20, mount="C", source="test",
        hardware_trigger=True,
    )
    return sizing.Camera.model_validate({**base, **kw})


def test_camera_reasons_name_each_failure() -> None:
    targets = sizing.load_targets()
    req = sizing.requirements(MOONCAKE)
    cam = _cam(width_px=320, height_px=240, max_fps=5, min_exposure_us=1000, shutter="rolling")
    fit = sizing.fit_camera(cam, MOONCAKE, req, targets.lenses)
    assert not fit.fits
    text = " | ".join(fit.reasons)
    for word in ("resolution", "frame rate", "exposure", "rolling shutter"):
        assert word in text
    ok = sizing.fit_camera(_cam(), MOONCAKE, req, targets.lenses)
    assert ok.fits and ok.lens is not None and ok.rotated


def test_chosen_lens_really_frames_the_view() -> None:
    targets = sizing.load_targets()
    req = sizing.requirements(MOONCAKE)
    for cam in targets.cameras:
        fit = sizing.fit_camera(cam, MOONCAKE, req, targets.lenses)
        if fit.lens is None:
            continue
        w, h = (cam.height_px, cam.width_px) if fit.rotated else (cam.width_px, cam.height_px)
        m = fit.lens.focal_mm / (MOONCAKE.working_distance_mm - fit.lens.focal_mm)
        fov_w, fov_h = w * cam.pixel_um / 1000 / m, h * cam.pixel_um / 1000 / m
        assert fov_w >= req.fov_across_mm and fov_h >= req.fov_along_mm
        assert fov_w / w <= req.mm_per_px + 1e-9


def test_device_fit_uses_only_measured_figures() -> None:
    req = sizing.requirements(MOONCAKE)
    dev = sizing.EdgeDevice(
        id="d", name="d", arch="x86_64", cpu_cores=2, accelerator="none",
        eps=["CPUExecutionProvider"], install="pip", camera_ports="", datasheet_int8_tops=100,
    )
    assert sizing.fit_device(dev, MOONCAKE, req).verdict == "unmeasured"
    slow = sizing.Throughput(ep="CPUExecutionProvider", model="m", batch=8, images_per_s=15,
                             batch_latency_ms=2000, source="measured")
    fit = sizing.fit_device(dev.model_copy(update={"measured": [slow]}), MOONCAKE, req)
    assert fit.verdict == "does not fit"
    assert any("throughput" in r for r in fit.reasons) and any("latency" in r for r in fit.reasons)


def test_catalogue_labels_every_figure() -> None:
    targets = sizing.load_targets()
    assert targets.cameras and targets.lenses and targets.edge_devices
    for cam in targets.cameras:
        assert cam.source.startswith(("datasheet", "measured"))
    for dev in targets.edge_devices:
        assert all(t.source in ("measured", "datasheet") for t in dev.measured)


def test_bad_specs_and_targets_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="belt_speed_m_s"):
        sizing.LineSpec(belt_speed_m_s=0, item_length_mm=60, pitch_mm=100,
                        smallest_defect_mm=1, reject_distance_m=0.6)
    with pytest.raises(ConfigError, match="overlap"):
        sizing.LineSpec(belt_speed_m_s=1, item_length_mm=60, pitch_mm=50,
                        smallest_defect_mm=1, reject_distance_m=0.6)
    with pytest.raises(ConfigError, match="belt_width_mm"):
        sizing.LineSpec(belt_speed_m_s=1, item_length_mm=60, pitch_mm=100, lanes=3,
                        smallest_defect_mm=1, reject_distance_m=0.6)
    bad = tmp_path / "t.toml"
    bad.write_text('cameras = [{id = "x"}]\nlenses = []\nedge_devices = []\n')
    with pytest.raises(ConfigError, match=r"cameras\.0"):
        sizing.load_targets(bad)


def test_json_output() -> None:
    out = json.loads(_run(["size", "--belt-speed", "0.5", "--item", "60", "--pitch", "100",
                           "--defect", "1", "--reject-distance", "0.6", "--json"]))
    assert out["requirements"]["px_across"] == 240
    assert {c["id"]: c["fits"] for c in out["cameras"]}["logitech-c920"] is False


def test_peakline_edge_size_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    from peakline.cli import main

    rc = main(["edge", "size", "--belt-speed", "0.5", "--item", "60", "--pitch", "100",
               "--defect", "1", "--reject-distance", "0.6"])
    assert rc == 0
    assert "240 x 480 px" in capsys.readouterr().out
    assert main(["edge", "size", "--belt-speed", "0", "--item", "60", "--pitch", "100",
                 "--defect", "1", "--reject-distance", "0.6"]) == 2


def test_photo_eye_trigger_sizes_one_frame_per_item() -> None:
    spec = sizing.LineSpec(**{**MOONCAKE.__dict__, "trigger": "photo-eye", "views_per_item": 1})
    req = sizing.requirements(spec)
    assert req.fov_along_mm == 80 and req.px_along == 240
    assert req.fps == pytest.approx(5.0) and req.inferences_per_s == pytest.approx(5.0)
    targets = sizing.load_targets()
    fits = {c.id: sizing.fit_camera(c, spec, req, targets.lenses) for c in targets.cameras}
    assert fits["basler-aca1300-60gm"].fits
    assert any("trigger" in r for r in fits["uvc-ov9281-global"].reasons)
    with pytest.raises(ConfigError, match="one view"):
        sizing.LineSpec(**{**MOONCAKE.__dict__, "trigger": "photo-eye"})
