"""Durations as scenario authors write them: ``90s``, ``4m``, ``1h30m``, ``500ms``, ``1.5m``, ``2d``.

A bare number is refused on purpose: ``advance: 90`` could mean seconds or minutes, and a scenario
that silently waits sixty times too long still passes or fails for the wrong reason.
"""

from __future__ import annotations

import math
import re

UNITS: dict[str, float] = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_ORDER = ("d", "h", "m", "s", "ms")
# "ms" before "m" so that "500ms" is not read as 500 minutes followed by a stray "s".
_PART = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|d|h|m|s)", re.IGNORECASE)

EXAMPLES = "90s, 4m, 1h, 1h30m, 500ms"


class DurationError(ValueError):
    pass


def parse_duration(value: object) -> float:
    """Seconds (> 0) from a duration string; ``DurationError`` says what was expected."""
    if isinstance(value, bool) or not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise DurationError(f"{value!r} has no unit; write it like {EXAMPLES}")
        raise DurationError(f"expected a duration like {EXAMPLES}, got {value!r}")
    text = value.strip()
    if not text:
        raise DurationError(f"expected a duration like {EXAMPLES}, got an empty string")
    pos, total, last_rank = 0, 0.0, -1
    while pos < len(text):
        m = _PART.match(text, pos)
        if m is None:
            raise DurationError(f"cannot read {value!r} as a duration; write it like {EXAMPLES}")
        unit = m.group(2).lower()
        rank = _ORDER.index(unit)
        if rank <= last_rank:
            raise DurationError(
                f"cannot read {value!r}: units must go from largest to smallest, each once (like 1h30m)"
            )
        last_rank = rank
        total += float(m.group(1)) * UNITS[unit]
        pos = m.end()
    if not math.isfinite(total) or total <= 0:
        raise DurationError(f"a duration must be more than zero, got {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """The shortest spelling ``parse_duration`` reads back to the same number (whole ms)."""
    ms = round(seconds * 1000)
    if ms <= 0:
        return "0s"
    out = []
    for unit in _ORDER:
        size = round(UNITS[unit] * 1000)
        n, ms = divmod(ms, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
