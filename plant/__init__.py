"""Peakline plant service: ingest, store, holiday forecast, plans, ERP bridge and dashboard."""

__version__ = "0.1.0"
