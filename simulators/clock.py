"""A virtual clock: time moves only when the world says so, and due events fire in a fixed order.

Like simpy's core, pending events sit in a heap ordered by (due time, sequence number): two events
due at the same instant fire in the order they were scheduled, so a run never depends on the wall
clock or on dict/hash ordering.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

# A Monday morning in Kigali (06:00 UTC = 08:00 CAT); fixed so that reports are byte-identical.
DEFAULT_START = datetime(2026, 3, 2, 6, 0, tzinfo=timezone.utc).timestamp()


class VirtualClock:
    def __init__(self, start: float = DEFAULT_START):
        self.start = start
        self._now = start
        self._seq = itertools.count()
        self._heap: list[tuple[float, int, Callable[[float], Any]]] = []

    def now(self) -> float:
        return self._now

    def elapsed(self) -> float:
        return self._now - self.start

    def call_at(self, due: float, action: Callable[[float], Any], seq: int | None = None) -> None:
        """``seq``: a number from ``reserve``; the event then fires as if scheduled at that time."""
        heapq.heappush(self._heap, (max(due, self._now), next(self._seq) if seq is None else seq, action))

    def reserve(self, n: int) -> int:
        """Take ``n`` sequence numbers now (the first is returned) for events pushed later with
        ``call_at(..., seq=first + i)``: a long plan can then wait outside the heap until its time
        comes and still fire in the order it would have fired had it all been scheduled now."""
        first = next(self._seq)
        self._seq = itertools.count(first + max(n, 1))
        return first

    def pending(self) -> int:
        return len(self._heap)

    def run_due(self) -> int:
        """Fire everything due at or before now (including what firing schedules for now)."""
        fired = 0
        while self._heap and self._heap[0][0] <= self._now:
            _, _, action = heapq.heappop(self._heap)
            action(self._now)
            fired += 1
        return fired

    def advance(self, seconds: float) -> int:
        """Move time forward, firing every event due up to and including the new time, in order."""
        target = self._now + seconds
        fired = 0
        while self._heap and self._heap[0][0] <= target:
            due, _, action = heapq.heappop(self._heap)
            self._now = max(self._now, due)
            action(self._now)
            fired += 1
        self._now = target
        return fired

    def iso(self, t: float | None = None) -> str:
        value = self._now if t is None else t
        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def offset(self, t: float) -> str:
        """``+MM:SS`` since the start of the run, for transcripts."""
        s = int(round(t - self.start))
        return f"+{s // 60:02d}:{s % 60:02d}"
