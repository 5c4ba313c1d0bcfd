"""Fixtures of the plant tests: the same tests on SQLite and on PostgreSQL; the plant service.

``db_url`` is parametrized over ``sqlite`` (a file in ``tmp_path``) and ``postgresql`` (a
database created fresh for each test module, named uniquely, dropped afterwards; its tables
are dropped after each test). PostgreSQL tests carry the ``postgres`` marker and are
skipped only when the server cannot be reached, saying so; set ``PEAKLINE_TEST_PG`` to point
them at another server (default ``postgresql://postgres@127.0.0.1:5432/postgres``).

``service`` is the real plant service on the session's Mosquitto, for a ``site`` of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.configs import plant_config

from plant.broker.process import Mosquitto
from plant.service import PlantService
from plant.store import Store

PG_ADMIN = os.environ.get("PEAKLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_connect(dbname: str | None = None):  # type: ignore[no-untyped-def]
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN)
    return psycopg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password, dbname=dbname or url.database or "postgres",
        connect_timeout=3, autocommit=True,
    )


@pytest.fixture(scope="module")
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for this test module; yields its SQLAlchemy URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    try:
        admin = _pg_connect()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {str(exc).strip()}")
    module = request.module.__name__.rsplit(".", 1)[-1]
    name = f"peakline_{module}_{uuid.uuid4().hex[:8]}".lower()
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with _pg_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
