"""Provisioning files, secret handling and the plant's refusal of unprovisioned nodes."""

from __future__ import annotations

import argparse
import logging
import re
import stat
import subprocess
from pathlib import Path

import pytest
from support.paths import REPO
from support.payloads import batch
from support.procs import peakline

from peakline.errors import ConfigError
from peakline.wire import ResultsBatch, WireError, dump_payload
from plant.broker import identities as security
from plant.commands.provision import add_provision_commands
from plant.ingest import classify
from plant.store import IngestBatch


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_provision_commands(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(["provision", *argv])
    return int(args.handler(args))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_hold_hashes_and_confined_acls(tmp_path: Path) -> None:
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    ident = security.provision_node("s1", "l1", "n1", pw, acl)
    line = pw.read_text().strip()
    assert re.fullmatch(r"node/s1/l1/n1:\$7\$101\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+", line)
    assert ident.secret not in pw.read_text() and len(ident.secret) >= 40
    assert security.AclFile(acl).blocks() == {"node/s1/l1/n1": security.node_acl("s1", "l1", "n1")}
    assert _mode(pw) == 0o640 and _mode(acl) == 0o640
    assert "secret=<hidden>" in repr(ident)


def test_reprovisioning_needs_rotate_and_revoke_removes(tmp_path: Path) -> None:
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    security.provision_node("s1", "l1", "n1", pw, acl)
    security.provision_plant("s1", pw, acl)
    with pytest.raises(ConfigError, match="--rotate"):
        security.provision_node("s1", "l1", "n1", pw, acl)
    before = pw.read_text()
    security.provision_node("s1", "l1", "n1", pw, acl, rotate=True)
    assert pw.read_text() != before and len(security.AclFile(acl).blocks()) == 2
    acl.write_text(acl.read_text() + "\n# a comment the operator added\n")
    security.revoke("node/s1/l1/n1", pw, acl)
    assert security.PasswdFile(pw).users() == {"plant/s1"}
    assert set(security.AclFile(acl).blocks()) == {"plant/s1"}
    assert "# a comment the operator added" in acl.read_text()


def test_bad_names_are_refused(tmp_path: Path) -> None:
    for site, line, node in [("s1", "l1", "n1/#"), ("s 1", "l1", "n1"), ("s1", "+", "n1")]:
        with pytest.raises(WireError):
            security.provision_node(site, line, node, tmp_path / "pw", tmp_path / "acl")
    assert not (tmp_path / "pw").exists()


def test_missing_mosquitto_passwd_is_a_clear_error(tmp_path: Path) -> None:
    pwfile = security.PasswdFile(tmp_path / "pw", executable="no-such-mosquitto_passwd")
    with pytest.raises(ConfigError, match="apt-get install mosquitto"):
        pwfile.set("node/s1/l1/n1", security.generate_secret())


def test_secret_goes_to_a_0600_file_and_never_to_logs_or_stdout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "secrets" / "n1.secret"
    rc = _cli(["node", "--site", "s1", "--line", "l1", "--node", "n1", "--passwd-file",
               str(tmp_path / "pw"), "--acl-file", str(tmp_path / "acl"), "--secret-out", str(out)])
    assert rc == 0
    secret = out.read_text().strip()
    assert _mode(out) == 0o600 and len(secret) >= 40
    printed = capsys.readouterr()
    everything = caplog.text + printed.out + printed.err
    assert "node/s1/l1/n1" in everything
    assert secret not in everything
    for path in (tmp_path / "pw", tmp_path / "acl"):
        assert secret not in path.read_text()


def test_without_secret_out_it_is_printed_once_and_still_not_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    assert _cli(["plant", "--site", "s1", "--passwd-file", str(tmp_path / "pw"),
                 "--acl-file", str(tmp_path / "acl")]) == 0
    out = capsys.readouterr().out
    secrets_printed = re.findall(r"shown once, store it now\): (\S+)", out)
    assert len(secrets_printed) == 1 and out.count(secrets_printed[0]) == 1
    assert secrets_printed[0] not in caplog.text
    assert _cli(["list", "--acl-file", str(tmp_path / "acl")]) == 0
    assert "topic read peakline/v1/s1/#" in capsys.readouterr().out


def _batch(site: str = "s1", line: str = "l1", node: str = "n1") -> ResultsBatch:
    return batch([1], site=site, line=line, node=node)


def _classify(topic: str, batch: ResultsBatch, nodes: security.ProvisionedNodes) -> str | None:
    """The dead-letter reason the plant's ingest gives ``batch`` on ``topic`` (None: stored)."""
    out = IngestBatch()
    assert classify("s1", topic, dump_payload(batch), 1.0, out, nodes)
    return out.dead_letters[0].reason if out.dead_letters else None


def test_plant_refuses_unprovisioned_and_impersonating_nodes(tmp_path: Path) -> None:
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    security.provision_node("s1", "l1", "n1", pw, acl)
    security.provision_plant("s1", pw, acl)
    nodes = security.ProvisionedNodes(acl, pw, check_interval_s=0)
    assert len(nodes) == 1 and nodes.is_provisioned("s1", "l1", "n1")
    assert not nodes.is_provisioned("s1", "l1", "n2")
    assert _classify("peakline/v1/s1/l1/n1/results", _batch(), nodes) is None
    assert "not provisioned" in str(
        _classify("peakline/v1/s1/l1/n2/results", _batch(node="n2"), nodes))
    assert "but the topic names s1/l1/n1" in str(
        _classify("peakline/v1/s1/l1/n1/results", _batch(node="n2"), nodes))
    # a node provisioned while the plant runs is picked up without a restart
    security.provision_node("s1", "l1", "n2", pw, acl)
    assert nodes.is_provisioned("s1", "l1", "n2")
    security.revoke("node/s1/l1/n1", pw, acl)
    assert not nodes.is_provisioned("s1", "l1", "n1")


def test_no_secrets_are_tracked_in_the_repository() -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    pattern = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----|^[^:\s]+:\$[67]\$", re.M)
    offenders = []
    for name in filter(None, files):
        path = REPO / name
        if path.is_file() and path.stat().st_size < 5_000_000 and pattern.search(path.read_bytes()):
            offenders.append(name)
    assert offenders == []


def test_peakline_command_with_debug_logging_never_shows_the_secret(tmp_path: Path) -> None:
    out = tmp_path / "n7.secret"
    node = ["node", "--site", "s1", "--line", "l1", "--node", "n7",
            "--passwd-file", str(tmp_path / "pw"), "--acl-file", str(tmp_path / "acl")]
    first = peakline("provision", tmp_path, "-v", "plant", "provision", *node,
                     "--secret-out", str(out))
    assert first.run(60) == 0, first.output()
    secret = out.read_text().strip()
    assert "provisioned node/s1/l1/n7" in first.output()  # the log line is there ...
    assert secret not in first.output()  # ... the secret is not
    again = peakline("again", tmp_path, "plant", "provision", *node)
    assert again.run(60) == 2 and "--rotate" in again.output()


def test_extra_write_topic_for_a_plc_gateway(tmp_path: Path) -> None:
    pw, acl = tmp_path / "passwd", tmp_path / "acl"
    security.provision_node("s1", "l1", "n1", pw, acl, extra_write=["plc/line1/reject"])
    assert "topic write plc/line1/reject" in security.AclFile(acl).blocks()["node/s1/l1/n1"]
    for bad in ["plc/#", "plc/+/reject", "", "$SYS/x", "a\ntopic write #"]:
        with pytest.raises(ConfigError, match="exact topics"):
            security.provision_node("s1", "l1", "n2", pw, acl, extra_write=[bad])
