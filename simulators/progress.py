"""One progress line, rewritten in place on a terminal (``concierge-sim run``, rollout ``simulate``).

Silent when the stream is not a TTY: in CI the stream is a log file, and ``\\r`` redraws there would
only bury the results under hundreds of half-lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

BAR_CELLS = 30


class ProgressLine:
    """A counter (``[3/86] name``) or a bar (``[####....]  42.0% label``) on one terminal line."""

    def __init__(self, total: int, stream: TextIO | None = None):
        self.total = total
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(callable(isatty) and isatty())
        self._drawn = 0  # widest line drawn so far: close() blanks exactly that much

    def step(self, i: int, label: str) -> None:
        """Item ``i`` of ``total`` has started."""
        self._write(f"[{i}/{self.total}] {label[:60]:<60}")

    def fill(self, done: float, label: str) -> None:
        """``done`` units of ``total`` are finished (fractions allowed); the bar never overfills."""
        frac = min(1.0, max(0.0, done / max(1, self.total)))
        filled = int(frac * BAR_CELLS)
        self._write(f"[{'#' * filled}{'.' * (BAR_CELLS - filled)}] {frac * 100:5.1f}% {label[:60]:<60}")

    def close(self) -> None:
        """Blank the line so the next output starts on a clean one."""
        if self.live and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def _write(self, line: str) -> None:
        if self.live:
            self.stream.write("\r" + line)
            self.stream.flush()
            self._drawn = max(self._drawn, len(line))


def rate_and_eta(fraction: float, requests: int, elapsed_s: float) -> str:
    """``"2,468 requests, 123.4 req/s, ETA 1m05s"``: the requests the concierge opened so far, per
    wall second, and the wall time left if the rest goes as fast as what is done (unknown until
    some of the run is). ``requests`` are requests, not the population's planned needs: a need
    that arrives while its client is still being served opens none (about 17 % of them in a
    busy market), so counting needs would overstate both figures."""
    rate = f"{requests / elapsed_s:.1f} req/s" if elapsed_s > 0 else "- req/s"
    return f"{requests:,} requests, {rate}, {eta(fraction, elapsed_s)}"


def eta(fraction: float, elapsed_s: float) -> str:
    """``"ETA 1m05s"``: the wall time left if the rest goes as fast as what is done (``ETA -`` until
    some of it is)."""
    if fraction <= 0 or elapsed_s <= 0:
        return "ETA -"
    left = max(0.0, elapsed_s * (1 - min(fraction, 1.0)) / fraction)
    minutes, seconds = divmod(int(round(left)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}h{minutes:02d}m{seconds:02d}s" if hours else f"ETA {minutes}m{seconds:02d}s"


class RunMeter:
    """Wall time since the run started, read from ``clock`` (injected in tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.started = clock()

    def label(self, fraction: float, requests: int) -> str:
        return rate_and_eta(fraction, requests, self.clock() - self.started)
