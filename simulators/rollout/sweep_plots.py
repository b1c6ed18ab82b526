"""A sweep's plots: each metric against the swept values, with the runbook's thresholds drawn in.

One PNG per metric (``plot-<metric>.png``; a metric that is null at every point has nothing to draw
and gets none). The x axis is the spec's ``plot.x`` (default: the first swept key), one line per
combination of the other swept keys, through the median over the seeds; each seed is a dot. A
time-to-shortlist percentile that landed on requests that never got a shortlist is drawn on a
"never" line above everything else. The horizontal lines are the gate's own thresholds
(``gates.phase_criteria`` for Phases 1-3 and ``gates.rollback_triggers``), so the plot and
``gate phaseN`` can never disagree on where a bar is.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from .gates import NEVER, metric_value, phase_criteria, rollback_triggers
from .plots import _pyplot
from .sweep_spec import label


def thresholds() -> dict[str, list[dict[str, Any]]]:
    """Each gated metric's lines: ``{"label", "op", "threshold", "kind"}`` (criterion or rollback)."""
    found: dict[tuple[str, str, float, str], list[str]] = {}
    for phase in ("phase1", "phase2", "phase3"):
        for row in phase_criteria(phase, {}):
            reported_only = row["op"] == ">=" and row["threshold"] == 0
            if row["kind"] == "criterion" and row["threshold"] is not None and not reported_only:
                found.setdefault((row["metric"], row["op"], row["threshold"], "criterion"), []).append(phase[-1])
    for row in rollback_triggers({}, None):
        if row["threshold"] is not None and row["verdict"] != "skipped":
            found.setdefault((row["metric"], row["op"], row["threshold"], "rollback"), []).append("rollback")
    out: dict[str, list[dict[str, Any]]] = {}
    for (metric, op, threshold, kind), who in found.items():
        name = "rollback if" if kind == "rollback" else f"Phase {', '.join(who)}:"
        out.setdefault(metric, []).append({"label": f"{name} {op} {threshold}", "op": op,
                                           "threshold": threshold, "kind": kind})
    return out


def _number(value: Any) -> float | None:
    """A plotted value: a number, ``inf`` for *never*, None for no data."""
    if value == NEVER:
        return float("inf")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def plot_metric(path: Path, data: dict[str, Any], metric: str, lines: list[dict[str, Any]]) -> bool:
    """Draw one metric; False (and no file) when no point has a value for it."""
    x = data.get("x")
    others = [k for k in data["swept"] if k != x]
    xs: list[str] = []
    series: dict[str, dict[int, list[float]]] = {}
    for row in data["points"]:
        value = _number(metric_value(row["metrics"], metric))
        tick = json.dumps(row["values"].get(x)) if x else "all points"
        if tick not in xs:
            xs.append(tick)
        if value is None:
            continue
        name = label({k: row["values"].get(k) for k in others}) or metric
        series.setdefault(name, {}).setdefault(xs.index(tick), []).append(value)
    if not series:
        return False
    finite = [v for s in series.values() for vs in s.values() for v in vs if v != float("inf")]
    top = max([*finite, *(float(line["threshold"]) for line in lines), 0.0]) or 1.0
    never_at = top * 1.15
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=90)
    for name, at in series.items():
        positions = sorted(at)
        seeds = [(p, v) for p in positions for v in at[p]]
        color = ax.plot([p for p, _ in seeds], [min(v, never_at) for _, v in seeds], "o", alpha=0.35)[0].get_color()
        medians = [min(statistics.median(at[p]), never_at) for p in positions]
        ax.plot(positions, medians, "-", color=color, label=name)
    never = any(v == float("inf") for s in series.values() for vs in s.values() for v in vs)
    if never:
        ax.axhline(never_at, color="#888888", linestyle=":", label="never (no shortlist)")
    for line in lines:
        style = "-" if line["kind"] == "rollback" else "--"
        ax.axhline(line["threshold"], color="#c44e52" if line["kind"] == "rollback" else "#dd8452",
                   linestyle=style, linewidth=1.2, label=line["label"])
    ax.set_ylim(0, never_at * 1.05 if never else None)
    if never:
        ticks = [t for t in ax.get_yticks() if 0 <= t < top * 1.05]
        ax.set_yticks([*ticks, never_at], [*(f"{t:g}" for t in ticks), "never"])
    ax.set_xticks(range(len(xs)))
    ax.set_xticklabels(xs, fontsize=8)
    ax.set_xlabel(x or "")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} (line: median over seeds; dots: each seed)", fontsize=10)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return True


def write_plots(out: Path) -> list[Path]:
    data = json.loads((out / "sweep.json").read_text("utf-8"))
    lines = thresholds()
    written = []
    for metric in data["metric_names"]:
        path = out / f"plot-{metric}.png"
        if plot_metric(path, data, metric, lines.get(metric, [])):
            written.append(path)
    return written


if __name__ == "__main__":
    write_plots(Path(sys.argv[1]))
