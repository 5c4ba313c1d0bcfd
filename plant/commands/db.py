"""The one ``--db`` rule of every ``peakline plant`` command.

The database is ``--db``; else ``$PEAKLINE_DB``; else ``sqlite:///peakline.db`` (``plant
serve`` reads ``[plant] db`` of its config before the last two). Only the commands that bring
new data in (``plant import``, ``plant serve``) may create a database; every other command
refuses a SQLite file that is not there, so a typo in ``--db`` is an error, not an empty
database. Every command says on stderr which database it opened.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from peakline.cliargs import DB_ENV, DEFAULT_DB, DbUrl, db_default, prog, sqlite_path
from peakline.errors import StoreError

__all__ = ["add_db_option", "describe_db", "new_store", "open_store", "require_db"]


def add_db_option(parser: argparse.ArgumentParser, *, creates: bool) -> None:
    """Add ``--db`` (``creates``: this command may make a new database)."""
    made = ("created if missing" if creates
            else "must exist: create it with `peakline plant import`")
    parser.add_argument("--db", type=DbUrl(existing=not creates), default=db_default(),
                        metavar="URL",
                        help=f"database: sqlite:///path.db (or a path) or "
                        f"postgresql://user@host/db; ${DB_ENV} sets the default; {made}")


def describe_db(url: str) -> str:
    """The database as a person should read it: SQLite as its absolute file, others redacted."""
    path = sqlite_path(url)
    if path is not None:
        return f"sqlite:///{path.resolve()}"
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # an unparsable URL is reported by the store itself
        return url


def require_db(args: argparse.Namespace, url: str) -> None:
    """Refuse a SQLite database file that does not exist (read and plan commands)."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        default = " (the default)" if url in (DEFAULT_DB, db_default()) else ""
        raise StoreError(
            f"--db {url}{default}: no database at {path.resolve()}; check the name, or create "
            f"one with `peakline plant import --db {url} --dir FOLDER`"
        )


def open_store(args: argparse.Namespace, *, creates: bool = False) -> Any:
    """Open ``args.db`` (a ``plant.store.Store``), telling the user which database it is."""
    from plant.store import Store

    if not creates:
        require_db(args, args.db)
    print(f"{prog(args)}: database {describe_db(args.db)}", file=sys.stderr)
    return Store.open(args.db)


@contextmanager
def new_store(args: argparse.Namespace) -> Iterator[Any]:
    """``open_store(args, creates=True)`` for a command that brings data in: when it fails,
    a SQLite database it created is removed again, so a refused import leaves nothing."""
    path = sqlite_path(args.db)
    fresh = path is not None and not path.exists()
    store = open_store(args, creates=True)
    try:
        yield store
    except BaseException:
        store.close()
        if fresh and path is not None:
            for leftover in (path, path.with_name(f"{path.name}-wal"),
                             path.with_name(f"{path.name}-shm")):
                leftover.unlink(missing_ok=True)
        raise
    store.close()
