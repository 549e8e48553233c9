"""Errors told to the admin chat: the kind only (never message content), at most one per kind per hour
(per instance)."""

from __future__ import annotations

import time
from collections.abc import Callable

ALERT_INTERVAL = 3600.0


class AlertThrottle:
    def __init__(self, interval: float = ALERT_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.last: dict[str, float] = {}

    def allow(self, kind: str) -> bool:
        """True the first time a kind is seen, and again once `interval` has passed since it was allowed."""
        now = self.clock()
        last = self.last.get(kind)
        if last is not None and now - last < self.interval:
            return False
        self.last[kind] = now
        return True
