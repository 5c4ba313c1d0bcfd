"""Peakline's exception tree, written down in one place for the edge and the plant.

Every error a user can cause (bad config, a missing model, a corrupt CSV, a broker that is not
there) is one of these, with a message that names the problem; ``peakline`` prints it without
a traceback and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DeliveryError",
    "ModelError",
    "PeaklineError",
    "PreprocessError",
    "SourceError",
    "StoreError",
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
