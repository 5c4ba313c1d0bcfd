"""Every option of every ``peakline`` command, given bad values: one error line, no traceback,
exit status 2, and nothing written or stored.

The cases are generated from the parser tree (``peakline.cli.build_parser``), not listed: each
option's check (a ``peakline.cliargs.Check``) gives bad values of itself (not a number, out of
range, an impossible date, a missing file, a file where a folder belongs, an unknown country, a
database that is not there ...), and an option with choices gets an unknown choice. An option
that takes a value without declaring a check or choices fails the test, so a new option cannot
be forgotten; a new command fails it until it has a valid command line in :data:`BASE`.

Each bad value is appended to the command's valid line and run through ``peakline.cli.main``
in a scratch folder holding an imported plant database, ERP files, configs and a recording.
After each run no file of that folder (or of the folder the bad values were made in) may be
new or changed: a refused command stores nothing (no database created, no plan saved, no CSV
written). Commands that run until stopped
(:data:`SERVICES`) are only parsed: every bad value must be refused by the parser itself, so
none of them can start a service.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.paths import REPO

from peakline import __version__
from peakline.cli import build_parser, leaf_parsers, main
from peakline.cliargs import DB_ENV, Check

#: a valid command line for each command; {name} is a path in the scratch folder
BASE: dict[str, list[str]] = {
    "peakline demo": ["--workdir", "{w}/demo"],
    "peakline docs wire": ["--out", "{w}/wire.md"],
    "peakline edge run": ["--config", "{w}/configs/line1.toml"],
    "peakline edge size": ["--belt-speed", "0.5", "--item", "60", "--pitch", "100",
                           "--defect", "1", "--reject-distance", "0.6"],
    "peakline edge bench-ep": ["--seconds", "0.05", "--ep", "CPUExecutionProvider"],
    "peakline plant serve": ["--config", "{w}/configs/plant.toml", "--db", "{db}"],
    "peakline plant check-config": ["{w}/configs/plant.toml"],
    "peakline plant import": ["--db", "{db}", "--dir", "{w}/erp"],
    "peakline plant export-plan": ["--db", "{db}", "--kind", "production", "--out",
                                   "{w}/out/production.csv"],
    "peakline plant status": ["--db", "{db}"],
    "peakline plant sample-data": ["--out", "{w}/out/sample", "--years", "1", "--skus", "2"],
    "peakline plant forecast": ["--db", "{db}", "--horizon", "7"],
    "peakline plant backtest": ["--db", "{db}", "--ets-sample", "1"],
    "peakline plant plan": ["--db", "{db}", "--out", "{w}/out/plans"],
    "peakline plant simulate": ["--db", "{db}", "--runs", "2"],
    "peakline plant check-twin": ["--db", "{db}", "--line", "L1", "--runs", "2"],
    "peakline plant holds": ["--db", "{db}", "--out", "{w}/out/holds"],
    "peakline plant provision node": ["--site", "s1", "--line", "l1", "--node", "n1",
                                      "--passwd-file", "{w}/out/passwd",
                                      "--acl-file", "{w}/out/acl"],
    "peakline plant provision plant": ["--site", "s1", "--passwd-file", "{w}/out/passwd",
                                       "--acl-file", "{w}/out/acl"],
    "peakline plant provision erp": ["--site", "s1", "--passwd-file", "{w}/out/passwd",
                                     "--acl-file", "{w}/out/acl"],
    "peakline plant provision supplier": ["--site", "s1", "--supplier", "lotus-co",
                                          "--passwd-file", "{w}/out/passwd",
                                          "--acl-file", "{w}/out/acl"],
    "peakline plant supplier-feed": ["--db", "{db}", "--site", "s1", "--supplier", "lotus-co",
                                     "--out", "{w}/out/feed.csv"],
    "peakline plant remove-supplier": ["--db", "{db}", "--supplier", "lotus-co"],
    "peakline plant provision revoke": ["--username", "node/s1/l1/n1", "--passwd-file",
                                        "{w}/out/passwd", "--acl-file", "{w}/out/acl"],
    "peakline plant provision list": ["--acl-file", "{w}/acl"],
    "peakline record": ["--out", "{w}/out/rec", "--seconds", "0.2", "--quiet"],
    "peakline model fit": ["--data", "{w}/rec", "--out", "{w}/out/m.onnx"],
    "peakline model calibrate": ["--model", "{w}/model.onnx", "--data", "{w}/rec"],
    "peakline model eval": ["--model", "{w}/model.onnx", "--data", "{w}/rec"],
    "peakline model card": ["--model", "{w}/model.onnx"],
    "peakline model export-crops": ["--data", "{w}/rec", "--out", "{w}/out/crops"],
}
#: commands that run until stopped (a camera node, the plant service, the demo plant): their
#: bad values are only parsed, and must be refused by the parser, before anything starts
SERVICES = {"peakline demo", "peakline edge run", "peakline plant serve"}
#: what an option with choices is given
NO_SUCH_CHOICE = "no-such-choice"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder with a plant database, ERP CSVs, configs, a recording and a model."""
    w = tmp_path_factory.mktemp("cli")
    shutil.copytree(REPO / "configs", w / "configs")
    shutil.copytree(REPO / "tests" / "data" / "line_short", w / "rec")
    (w / "model.onnx").write_bytes(b"not looked at: every bad value is refused before")
    (w / "acl").write_text("user plant/s1\ntopic read peakline/v1/s1/#\n")
    db = f"sqlite:///{w / 'plant.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(DB_ENV, raising=False)
        assert main(["plant", "sample-data", "--out", str(w / "erp"), "--years", "1",
                     "--skus", "2"]) == 0
        assert main(["plant", "import", "--db", db, "--dir", str(w / "erp")]) == 0
    return w


def _fill(argv: list[str], w: Path) -> list[str]:
    return [a.format(w=w, db=f"sqlite:///{w / 'plant.db'}") for a in argv]


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``roots``: (size, modification time)."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for root in roots for p in root.rglob("*") if p.is_file()}


def _value_actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if action.nargs == 0 or isinstance(action, argparse._SubParsersAction):
            continue  # flags (--json, --help, --version) take no value
        yield action


def _bad_values(action: argparse.Action, scratch: Path) -> list[str]:
    values = []
    if isinstance(action.type, Check):
        values += action.type.bad_examples(scratch)
    if action.choices is not None:
        values.append(NO_SUCH_CHOICE)
    return values


def _argv(base: list[str], action: argparse.Action, value: str) -> list[str]:
    if action.option_strings:
        return [*base, action.option_strings[-1], value]
    positional = [i for i, a in enumerate(base) if not a.startswith("-")
                  and (i == 0 or not base[i - 1].startswith("-"))]
    if positional:  # replace the command's own value of it
        return [*base[: positional[0]], value, *base[positional[0] + 1:]]
    return [*base, value]


def _names(action: argparse.Action) -> list[str]:
    return list(action.option_strings) or [str(action.metavar or action.dest)]


LEAVES = dict(leaf_parsers(build_parser()))


def test_every_command_has_a_valid_command_line() -> None:
    assert sorted(BASE) == sorted(LEAVES)


def test_every_option_that_takes_a_value_declares_its_check() -> None:
    unchecked = [f"{prog} {'/'.join(_names(a))}" for prog, parser in LEAVES.items()
                 for a in _value_actions(parser)
                 if not isinstance(a.type, Check) and a.choices is None]
    assert unchecked == [], "give these a peakline.cliargs check as type= (or choices=)"


@pytest.mark.parametrize("prog", sorted(BASE))
def test_the_valid_command_lines_parse(prog: str, workspace: Path) -> None:
    args = build_parser().parse_args([*prog.split()[1:], *_fill(BASE[prog], workspace)])
    assert args._prog == prog


@pytest.mark.parametrize("prog", sorted(BASE))
def test_bad_values_get_one_error_line_and_store_nothing(
    prog: str, workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    monkeypatch.chdir(workspace)  # the default database, ./peakline.db, is not there
    command = prog.split()[1:]
    base = _fill(BASE[prog], workspace)
    problems: list[str] = []
    cases = 0
    for n, action in enumerate(_value_actions(LEAVES[prog])):
        scratch = tmp_path / f"scratch-{n}"  # outside the workspace: examples are made here
        scratch.mkdir()
        for value in _bad_values(action, scratch):
            cases += 1
            argv = [*command, *_argv(base, action, value)]
            shown = f"peakline {' '.join(argv)}"
            if prog in SERVICES:
                with pytest.raises(SystemExit) as refused:
                    build_parser().parse_args(argv)
                capsys.readouterr()
                if refused.value.code != 2:
                    problems.append(f"{shown}: the parser did not refuse it")
                    continue
            before = _snapshot(workspace, scratch)
            started = time.perf_counter()
            status = main(argv)
            took = time.perf_counter() - started
            out = capsys.readouterr()
            errors = [ln for ln in out.err.splitlines() if "error:" in ln]
            why = []
            if status != 2:
                why.append(f"exit status {status}")
            if "Traceback" in out.err + out.out:
                why.append("a traceback")
            if len(errors) != 1:
                why.append(f"{len(errors)} error lines")
            elif not errors[0].startswith(f"{prog}: error: "):
                why.append(f"the error line does not start with the command: {errors[0]!r}")
            elif not any(n in errors[0] for n in _names(action)) and not (
                    value and value in errors[0]):
                why.append(f"the error names neither {_names(action)} nor the value: "
                           f"{errors[0]!r}")
            changed = sorted(set(_snapshot(workspace, scratch).items()) ^ set(before.items()))
            if changed:
                why.append(f"files written or changed: {sorted({c[0] for c in changed})}")
            if took > 20:
                why.append(f"took {took:.0f} s: it was not refused at once")
            if why:
                problems.append(f"{shown}: {'; '.join(why)}\n    {out.err.strip()!r}")
    assert cases > 0 or not list(_value_actions(LEAVES[prog]))
    assert problems == []


def test_help_shows_defaults_and_describes_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    undescribed, unhelped, backticks = [], [], []
    for prog, parser in LEAVES.items():
        if not parser.description:
            undescribed.append(prog)
        unhelped += [f"{prog} {'/'.join(_names(a))}" for a in parser._actions if not a.help]
        text = parser.format_help()
        if "``" in text:
            backticks.append(prog)
    assert (undescribed, unhelped, backticks) == ([], [], [])
    assert main(["plant", "plan", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(1 to 366; default: 7)" in text  # --reject-days: its range and default
    assert "> 0 and < 1" in text  # --service-level's range
    assert "default: None" not in text and "default: False" not in text


def test_version_and_a_missing_action(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"peakline {__version__}"
    assert main(["plant"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("peakline plant: error: choose one of: serve,")


def test_a_mistyped_option_is_named_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plant", "plan", "--servce-level", "0.9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("peakline plant plan: error: unrecognized arguments: --servce-level 0.9 "
                   "(did you mean --service-level?)")
