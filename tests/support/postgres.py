"""The tests' PostgreSQL server: where it is, a fresh database, and a loud failure when missing.

``PEAKLINE_TEST_PG`` names the server (an admin URL; default
``postgresql://postgres@127.0.0.1:5432/postgres``, what ``scripts/install-system.sh`` starts).
A PostgreSQL case whose server cannot be reached fails, saying how to start it; only
``PEAKLINE_POSTGRES=0`` (the same switch as the install script's) skips them, on purpose.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

__all__ = ["PG_ADMIN", "connect_admin", "fresh_database", "require_postgres"]

PG_ADMIN = os.environ.get("PEAKLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def connect_admin(dbname: str | None = None) -> Any:
    """An autocommit psycopg connection to the server (its admin database by default)."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN)
    return psycopg.connect(
        host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
        password=url.password, dbname=dbname or url.database or "postgres",
        connect_timeout=3, autocommit=True,
    )


def require_postgres() -> None:
    """Fail the calling test (or skip it under ``PEAKLINE_POSTGRES=0``) without a server."""
    import psycopg
    import pytest

    if os.environ.get("PEAKLINE_POSTGRES", "1") == "0":
        pytest.skip("PEAKLINE_POSTGRES=0: the PostgreSQL cases are switched off")
    try:
        connect_admin().close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN}: {str(exc).strip()}. Start it "
                    "(bash scripts/install-system.sh installs and starts it), point "
                    "PEAKLINE_TEST_PG at a server, or set PEAKLINE_POSTGRES=0 to skip these "
                    "cases on purpose", pytrace=False)


@contextlib.contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy URL, drop it afterwards."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}".lower()
    with connect_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_ADMIN).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with connect_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
