"""The plant database: one data-access layer over SQLite (default) or PostgreSQL.

``Store.open(url)`` takes ``sqlite:///path.db`` (or a plain path) or
``postgresql+psycopg://user@host/db``, applies the numbered migrations and returns a store
whose methods return pandas frames. Results, presence, metrics and dead letters are written
by ``plant.store.results`` and read by ``plant.store.queries``; ERP tables live in
``plant.store.erp``; forecasts and plans in ``plant.store.artifacts``; the twin's
simulations in ``plant.store.twin``; supplier feeds, replies and prices in
``plant.store.supply``; web shop orders and holds in ``plant.store.shop``.
"""

from __future__ import annotations

from peakline.errors import StoreError
from plant.store.artifacts import ArtifactsMixin
from plant.store.base import normalize_url
from plant.store.erp import CSV_KINDS, ErpMixin
from plant.store.queries import ResultsQueries
from plant.store.results import DeadLetter, IngestBatch, ResultRows, ResultsMixin, StreamKey
from plant.store.shop import ShopMixin
from plant.store.supply import SupplyMixin
from plant.store.twin import TwinMixin

__all__ = [
    "CSV_KINDS",
    "DeadLetter",
    "IngestBatch",
    "ResultRows",
    "Store",
    "StoreError",
    "StreamKey",
    "normalize_url",
]


class Store(ResultsMixin, ResultsQueries, ErpMixin, TwinMixin, ShopMixin, ArtifactsMixin,
            SupplyMixin):
    """The plant's database. Open with ``Store.open(url)``; close with ``close()``."""

    @classmethod
    def open(cls, url: str, *, synchronous: str = "FULL") -> Store:
        """Open (creating and migrating as needed) the database at ``url``."""
        store: Store = super().open(url, synchronous=synchronous)
        return store
