"""The run's metrics over time, drawn as inline SVG on the run page (no script, no image file).

``samples.json`` keeps sums per minute of simulated time (requests opened, shortlists delivered and
their summed times to shortlist, requests that went to error); here they are put into at most
``MAX_BUCKETS`` equal buckets and turned into the points of two charts: the counts, and the mean time
to shortlist against the 6-minute target and the 10-minute rollback line.
"""

from __future__ import annotations

from typing import Any

MAX_BUCKETS = 24
BUCKET_MINUTES = (5, 10, 15, 30, 60, 120, 240, 480, 1440)
WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 720, 220, 44, 28, 10, 28
SERIES = (("opened", "requests opened", "#4c72b0"), ("shortlisted", "shortlists delivered", "#55a868"),
          ("errors", "requests that ended in error", "#c44e52"))
LINES_MIN = ((6, "6 min target", "#dd8452"), (10, "10 min rollback line", "#c44e52"))


def buckets(per_minute: dict[str, dict[str, float]]) -> tuple[int, list[dict[str, Any]]]:
    """(minutes per bucket, one row per bucket from the first minute to the last)."""
    if not per_minute:
        return 0, []
    last = max(int(m) for m in per_minute)
    size = next((b for b in BUCKET_MINUTES if (last // b) + 1 <= MAX_BUCKETS), BUCKET_MINUTES[-1])
    rows = [{"start": i * size, "opened": 0, "shortlisted": 0, "errors": 0, "tts_sum_s": 0.0}
            for i in range(last // size + 1)]
    for minute, sums in per_minute.items():
        row = rows[int(minute) // size]
        for key in ("opened", "shortlisted", "errors", "tts_sum_s"):
            row[key] += sums.get(key, 0)
    for row in rows:
        row["mean_tts_min"] = round(row["tts_sum_s"] / row["shortlisted"] / 60, 2) if row["shortlisted"] else None
        row["label"] = f"+{row['start'] // 60}:{row['start'] % 60:02d}"
    return size, rows


def _scale(top: float) -> float:
    """A round axis top at or above ``top``."""
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if top <= step:
            return float(step)
    return float(top)


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return round(LEFT + (span * i / (n - 1) if n > 1 else span / 2), 1)


def _y(value: float, top: float) -> float:
    return round(HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / top, 1)


def _chart(rows: list[dict[str, Any]], series: list[tuple[str, str, str]], top: float,
           lines: tuple[tuple[float, str, str], ...] = ()) -> dict[str, Any]:
    n = len(rows)
    every = max(1, n // 8)
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "bottom": HEIGHT - BOTTOM,
        "top": TOP, "ymax": int(top) if top == int(top) else top, "ymid": _y(top / 2, top),
        "ymid_label": top / 2 if top % 2 else int(top / 2),
        "ticks": [{"x": _x(i, n), "label": r["label"]} for i, r in enumerate(rows) if i % every == 0],
        "series": [{"name": name, "color": color,
                    "points": " ".join(f"{_x(i, n)},{_y(r[key], top)}" for i, r in enumerate(rows)
                                       if r[key] is not None),
                    "dots": [{"x": _x(i, n), "y": _y(r[key], top), "title": f"{r['label']}: {r[key]} {name}"}
                             for i, r in enumerate(rows) if r[key] is not None]}
                   for key, name, color in series],
        "lines": [{"y": _y(v, top), "name": name, "color": color} for v, name, color in lines if v <= top],
    }


def over_time_view(per_minute: dict[str, dict[str, float]]) -> dict[str, Any] | None:
    """What the run page's "over time" section draws, or None for a run without the series."""
    size, rows = buckets(per_minute)
    if not rows:
        return None
    counts_top = _scale(max(max(r[k] for k, _n, _c in SERIES) for r in rows) or 1)
    tts = [r["mean_tts_min"] for r in rows if r["mean_tts_min"] is not None]
    tts_top = _scale(max([*tts, 10.5]))
    return {
        "bucket_minutes": size, "rows": rows,
        "counts": _chart(rows, list(SERIES), counts_top),
        "tts": _chart(rows, [("mean_tts_min", "mean time to shortlist (minutes)", "#4c72b0")], tts_top, LINES_MIN),
    }
