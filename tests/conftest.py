"""Shared fixtures: a real Mosquitto per test session (and one per test that kills it), the
plant's databases and service, and a model fitted on the committed recording.

``db_url`` is parametrized over ``sqlite`` (a file in ``tmp_path``) and ``postgresql`` (a
database created fresh for each test module, named uniquely, dropped afterwards; its tables
are dropped after each test). PostgreSQL tests carry the ``postgres`` marker and fail when the
server cannot be reached, saying how to start it (``support.postgres``: ``PEAKLINE_TEST_PG``
points them at another server, ``PEAKLINE_POSTGRES=0`` skips them on purpose).

``service`` is the real plant service on the session's Mosquitto, for a ``site`` of its own.
The plant tests and the attack suite (tests/attacks) both use them.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.configs import plant_config
from support.paths import RECORDING
from support.postgres import fresh_database, require_postgres

from plant.broker.process import Mosquitto
from plant.service import PlantService
from plant.store import Store


def _require_mosquitto() -> None:
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed (.ci/run installs it with apt-get)")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One Mosquitto on a free loopback port for the whole session; do not kill it."""
    _require_mosquitto()
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as mosquitto:
        yield mosquitto


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto for this test alone, free to be killed and restarted."""
    _require_mosquitto()
    mosquitto = Mosquitto(tmp_path / "mosquitto").start()
    try:
        yield mosquitto
    finally:
        mosquitto.kill()


@pytest.fixture(scope="session")
def recording_dir() -> Path:
    """The committed short recording of a mooncake line (frames + labels.jsonl)."""
    if not RECORDING.exists():
        pytest.fail(f"{RECORDING} is missing; regenerate it with tests/data/README.md")
    return RECORDING


@pytest.fixture(scope="session")
def line_model(recording_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model fitted on the committed recording (no download, a few seconds); used by the
    edge tests and the attack suite."""
    from edge.model.fit import fit_model

    out = tmp_path_factory.mktemp("model") / "line.onnx"
    fit_model(recording_dir, out, threads=1)
    return out


@pytest.fixture(scope="module")
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for this test module; yields its SQLAlchemy URL."""
    require_postgres()
    module = request.module.__name__.rsplit(".", 1)[-1]
    with fresh_database(f"peakline_{module}") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with nothing in it, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'plant.db'}"
        return
    url = request.getfixturevalue("pg_database")
    yield url
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open, migrated, empty Store on each backend."""
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def site() -> str:
    """A site name of this test's own (the session's broker is shared)."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def service(broker: Mosquitto, db_url: str, site: str) -> Iterator[PlantService]:
    """The plant service on ``site``, connected, on SQLite and on PostgreSQL."""
    svc = PlantService(plant_config(broker.port, site, db_url))
    svc.start()
    assert svc.wait_connected(10)
    try:
        yield svc
    finally:
        svc.stop()
