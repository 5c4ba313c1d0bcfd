"""Fixtures for the security tests: provisioned identities, a locked-down broker, a test CA."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.credentials import Identities, Pki, broker_auth_lines, make_identities, make_pki

from plant.broker.process import Mosquitto


@pytest.fixture
def identities(tmp_path: Path) -> Identities:
    """Two camera nodes (s1/l1/n1, s1/l1/n2) and the plant of site s1, provisioned."""
    if shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto_passwd is not installed (it comes with the mosquitto package)")
    return make_identities(tmp_path)


@pytest.fixture
def secure_broker(tmp_path: Path, identities: Identities) -> Iterator[Mosquitto]:
    """A Mosquitto with no anonymous access, the password file and the ACL."""
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed")
    broker = Mosquitto(tmp_path / "broker", allow_anonymous=False,
                       extra=broker_auth_lines(identities)).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A test CA with a server certificate for 127.0.0.1/localhost, and an unrelated CA."""
    return make_pki(tmp_path)
