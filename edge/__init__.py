"""Peakline camera node: capture, item tracking, fused preprocessing, inference, reject, MQTT."""

__version__ = "0.1.0"
