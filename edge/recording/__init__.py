"""Recorded production-line frames: the synthetic line recorder and the readers of recordings
and image-dataset folders.

``peakline record`` writes a recording directory; :func:`read_recording` opens one.
"""

from edge.recording.format import (
    ItemRow,
    LabelRow,
    Recording,
    RecordingMeta,
    is_recording,
    read_recording,
)
from edge.recording.sprites import DEFECTS

__all__ = [
    "DEFECTS",
    "ItemRow",
    "LabelRow",
    "Recording",
    "RecordingMeta",
    "is_recording",
    "read_recording",
]
