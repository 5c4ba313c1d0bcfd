"""Helpers for the security and attack tests: identity records, broker auth lines, a test PKI,
and Mosquitto running the shipped configuration."""

from __future__ import annotations

__all__ = [
    "SHIPPED_BROKER",
    "Identities",
    "Pki",
    "ShippedBroker",
    "broker_auth_lines",
    "login",
    "make_identities",
    "make_pki",
    "shipped_mosquitto",
]

import datetime as dt
import ipaddress
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from peakline.procs import free_port, wait_for_port
from plant.broker import identities as security
from support.paths import REPO


@dataclass
class Identities:
    passwd: Path
    acl: Path
    n1: security.Provisioned
    n2: security.Provisioned
    plant: security.Provisioned


def login(who: security.Provisioned) -> dict[str, str]:
    """The ``username`` and ``password`` of ``who``, as keywords of a ``Recorder``."""
    return {"username": who.username, "password": who.secret}


def broker_auth_lines(ids: Identities) -> list[str]:
    """Config lines for a broker that authenticates against the provisioned files."""
    return [f"password_file {ids.passwd}", f"acl_file {ids.acl}"]


def make_identities(tmp_path: Path) -> Identities:
    """Two camera nodes (s1/l1/n1, s1/l1/n2) and the plant of site s1, provisioned."""
    passwd, acl = tmp_path / "auth" / "passwd", tmp_path / "auth" / "acl"
    return Identities(
        passwd, acl,
        security.provision_node("s1", "l1", "n1", passwd, acl),
        security.provision_node("s1", "l1", "n2", passwd, acl),
        security.provision_plant("s1", passwd, acl),
    )


@dataclass
class Pki:
    ca: Path
    other_ca: Path
    cert: Path
    key: Path
    ca_key: Any = field(repr=False)
    ca_cert: Any = field(repr=False)

    def issue_client(self, common_name: str, directory: Path) -> tuple[Path, Path]:
        """A client certificate and key signed by the test CA, for mutual TLS."""
        from cryptography.x509.oid import ExtendedKeyUsageOID

        cert, key = directory / "client.crt", directory / "client.key"
        _issue(self.ca_key, self.ca_cert, common_name, [], ExtendedKeyUsageOID.CLIENT_AUTH,
               cert, key)
        return cert, key


def _make_ca(name: str) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _issue(ca_key: Any, ca_cert: Any, common_name: str, sans: list[Any], usage: Any,
           cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pem = serialization.Encoding.PEM
    cert_path.write_bytes(cert.public_bytes(pem))
    security.write_secret(key_path, key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode().strip())


def make_pki(tmp_path: Path) -> Pki:
    """A test CA with a server certificate for 127.0.0.1/localhost, and an unrelated CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key, ca_cert = _make_ca("Peakline test CA")
    _, other_cert = _make_ca("Some other CA")
    d = tmp_path / "pki"
    d.mkdir()
    pem = serialization.Encoding.PEM
    out = Pki(d / "ca.crt", d / "other-ca.crt", d / "server.crt", d / "server.key",
              ca_key, ca_cert)
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    _issue(ca_key, ca_cert, "localhost", sans, ExtendedKeyUsageOID.SERVER_AUTH, out.cert, out.key)
    out.ca.write_bytes(ca_cert.public_bytes(pem))
    out.other_ca.write_bytes(other_cert.public_bytes(pem))
    return out


SHIPPED_BROKER = REPO / "configs" / "mosquitto" / "mosquitto.conf"


@dataclass
class ShippedBroker:
    """Mosquitto on the shipped config: its plain and TLS ports, identities, PKI, process."""

    plain: int
    tls: int
    ids: Identities
    pki: Pki
    proc: subprocess.Popen[bytes]
    log: Path

    def reload(self) -> None:
        """What ``systemctl reload mosquitto`` does: re-read the password and ACL files."""
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)


@contextmanager
def shipped_mosquitto(tmp_path: Path) -> Iterator[ShippedBroker]:
    """Mosquitto running the shipped file, with paths and ports moved into ``tmp_path``."""
    if shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto is not installed")
    pki, ids = make_pki(tmp_path), make_identities(tmp_path)
    plain, tls = free_port(), free_port()
    moves = {
        "/etc/mosquitto/peakline/passwd": str(ids.passwd),
        "/etc/mosquitto/peakline/acl": str(ids.acl),
        "/etc/mosquitto/peakline/certs/ca.crt": str(pki.ca),
        "/etc/mosquitto/peakline/certs/server.crt": str(pki.cert),
        "/etc/mosquitto/peakline/certs/server.key": str(pki.key),
        "/var/lib/mosquitto/": f"{tmp_path}/",
        "listener 1883 127.0.0.1": f"listener {plain} 127.0.0.1",
        "listener 8883": f"listener {tls} 127.0.0.1",
        "log_dest syslog": "log_dest stderr",
    }
    text = SHIPPED_BROKER.read_text()
    for old, new in moves.items():
        assert old in text, f"shipped config no longer has {old!r}; update this helper"
        text = text.replace(old, new)
    if os.geteuid() == 0:
        text += "user root\n"
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text)
    log_path = tmp_path / "mosquitto.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    try:
        wait_for_port(plain)
        wait_for_port(tls)
        yield ShippedBroker(plain, tls, ids, pki, proc, log_path)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
