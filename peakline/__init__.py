"""Peakline's shared core: the contract and the plumbing both deployables use.

``peakline.errors`` (one exception tree), ``peakline.wire`` (MQTT topics and every payload),
``peakline.config`` (strict TOML sections, secrets, the MQTT client config), ``peakline.mqtt``
(one client factory), ``peakline.logs`` and ``peakline.procs`` import neither ``edge`` nor
``plant``; the composition root — the ``peakline`` command (``peakline.cli``) and the whole-plant
demo (``peakline.demo``) — starts both.
"""

__version__ = "0.1.0"
