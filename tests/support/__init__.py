"""Helpers every test suite shares (importable as ``support``: pytest puts ``tests/`` on the path).

One of each, so a fix lands everywhere:

- :mod:`support.paths`: the repository, the committed test data and recording.
- :mod:`support.waiting`: ``wait_until(what, cond, timeout)``, failing with what it waited for.
- :mod:`support.procs`: ``Proc``, a child process running this checkout's code
  (``python -m peakline.cli ...`` and the fault suite's generators), with its log.
- :mod:`support.mqtt`: ``Recorder``, a real MQTT client that keeps what it receives and what
  the broker answered; ``Acker``, a recorder that plays the plant and acknowledges results.
- :mod:`support.payloads`: item-result drafts and wire payloads (results batches, status, ...).
- :mod:`support.configs`: TOML writing, a camera-node config for the committed recording, a
  plant config.
- :mod:`support.replay`: a replaying node's results against the offline reference, and its
  outbox read from outside.
- :mod:`support.sales`: ``shop_history``, synthetic daily shop sales with closures,
  promotions and an Easter rush, for the forecast tests.
"""
