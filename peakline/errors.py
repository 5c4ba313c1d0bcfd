"""Peakline's exception tree, written down in one place for the edge and the plant.

Every error a user can cause (bad config, a missing model, a corrupt CSV, a broker that is not
there) is one of these, with a message that names the problem; ``peakline`` prints it without
a traceback and exits with status 2.
"""

from __future__ import annotations

import re

__all__ = [
    "ConfigError",
    "DataError",
    "DeliveryError",
    "ModelError",
    "PeaklineError",
    "PreprocessError",
    "SourceError",
    "StoreError",
    "redact_url",
]


class PeaklineError(Exception):
    """Base of every error Peakline raises on purpose."""


class ConfigError(PeaklineError):
    """A configuration file or option is invalid; the message names the key."""


class ModelError(PeaklineError):
    """A model file is missing, not ONNX, or lacks a valid model card."""


class DataError(PeaklineError):
    """Input data (images, recordings, CSV files) cannot be used; the message says where."""


class SourceError(PeaklineError):
    """A camera, video file or frame folder cannot be opened or read."""


class PreprocessError(PeaklineError, ValueError):
    """Frames or regions of interest that the preprocessing path cannot take."""


class DeliveryError(PeaklineError):
    """The outbox or the MQTT link cannot keep its guarantee (disk bound, denied publish)."""


class StoreError(PeaklineError):
    """The plant database cannot be opened, migrated or written."""


_URL_SECRET = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):[^@/\s]*@")


def redact_url(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it replaced by
    ``***`` (camera and database URLs go into logs and error messages that way)."""
    return _URL_SECRET.sub(r"\g<head>:***@", text)
