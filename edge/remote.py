"""Commands from the plant (``.../<node>/cmd``): checked before the node acts on any of them.

A command reaches a node over the network, so the node trusts none blindly:

- it carries an id, a time and its sender; a command seen before (same id) is not applied
  again, and one older than ``max_age_s`` (or too far in the future) is refused, so a stale
  or replayed command changes nothing (a retained one never reaches here: the link drops it);
- at most ``per_minute`` commands are accepted per minute;
- new thresholds must lie within ``factor`` of the model card's calibrated reject threshold
  (a reject threshold of 1e9 would switch rejection off), and a classifier's within 0..1;
- a model reload is refused while one is running (each started a thread, without limit).

Every decision, applied or refused, is logged with the command's id and sender and returned
as one line that the node publishes in its status for the dashboard.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from edge.decision import Thresholds
from peakline.wire import NodeCommand

__all__ = ["CommandGate"]


class CommandGate:
    """Decides whether a command may be applied (see the module docstring)."""

    def __init__(self, max_age_s: float = 300.0, per_minute: int = 6, factor: float = 2.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_age_s = max_age_s
        self.per_minute = per_minute
        self.factor = factor
        self.clock = clock
        self._seen: deque[str] = deque(maxlen=1000)
        self._accepted: deque[float] = deque()

    def refusal(self, cmd: NodeCommand, card: Thresholds, bounded01: bool,
                reloading: bool) -> str | None:
        """Why ``cmd`` must not be applied, or None to apply it (and count it as applied)."""
        now = self.clock()
        if cmd.id in self._seen:
            return "already applied (same id)"
        if cmd.ts < now - self.max_age_s:
            return f"stale: sent {now - cmd.ts:.0f} s ago (at most {self.max_age_s:.0f} s)"
        if cmd.ts > now + 60:
            return "sent in the future (clock skew over 60 s)"
        while self._accepted and self._accepted[0] < now - 60:
            self._accepted.popleft()
        if len(self._accepted) >= self.per_minute:
            return f"rate limit: at most {self.per_minute} commands a minute"
        if cmd.command == "set_thresholds":
            why = self._out_of_range(cmd, card, bounded01)
            if why:
                return why
        if cmd.command == "reload_model" and reloading:
            return "a model reload is already running"
        self._seen.append(cmd.id)
        self._accepted.append(now)
        return None

    def _out_of_range(self, cmd: NodeCommand, card: Thresholds, bounded01: bool) -> str | None:
        if cmd.reject_threshold is None and cmd.uncertain_threshold is None:
            return "set_thresholds names no threshold"
        ref = card.reject
        if ref <= 0:
            return f"the model card's reject threshold {ref:g} gives no range; set it in the config"
        lo, hi = min(card.uncertain, ref) / self.factor, ref * self.factor
        if bounded01:
            lo, hi = max(lo, 0.0), min(hi, 1.0)
        for name, value in (("reject", cmd.reject_threshold),
                            ("uncertain", cmd.uncertain_threshold)):
            if value is not None and not lo <= value <= hi:
                return (f"{name} threshold {value:g} is outside {lo:g}..{hi:g} (the model "
                        f"card's calibrated reject threshold {ref:g}, within x{self.factor:g})")
        return None
