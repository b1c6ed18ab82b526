"""The service's time: the wall clock, optionally run faster (``--time-scale``) so that a test
sees a 10-minute limit in seconds. The concierge never reads it; the worker hands ``now`` in.

Scaled time is ``origin + (wall - origin) * scale``: a restarted service given the same origin
and scale continues the same timeline, so the timers the ledger holds come due as they should.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ServiceClock:
    def __init__(self, scale: float = 1.0, origin: float | None = None,
                 wall: Callable[[], float] = time.time):
        self.scale = scale
        self.wall = wall
        self.origin = wall() if origin is None else origin

    def now(self) -> float:
        if self.scale == 1.0:
            return self.wall()
        return self.origin + (self.wall() - self.origin) * self.scale

    def wall_seconds_until(self, due: float) -> float:
        """How long to sleep on the wall clock until service time reaches ``due``."""
        return max(0.0, (due - self.now()) / self.scale)
