"""Fixtures of the plant tests: the same tests on SQLite and on PostgreSQL; the plant service.

``db_url`` is parametrized over ``sqlite`` (a file in ``tmp_path``) and ``postgresql`` (a
database created fresh for each test module, named uniquely, dropped afterwards; its tables
are dropped after each test). PostgreSQL tests carry the ``postgres`` marker and fail when the
server cannot be reached, saying how to start it (``support.postgres``: ``PEAKLINE_TEST_PG``
points them at another server, ``PEAKLINE_POSTGRES=0`` skips them on purpose).

``service`` is the real plant service on the session's Mosquitto, for a ``site`` of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.configs import plant_config
from support.postgres import fresh_database, require_postgres

from plant.broker.process import Mosquitto
from plant.service import PlantService
from plant.store import Store


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
