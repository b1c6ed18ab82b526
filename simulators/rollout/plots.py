"""PNG plots of a run: the time-to-shortlist distribution, and each gated metric against its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "concierge-sim"
    return plt


def plot_time_to_shortlist(path: Path, hist: dict[int, int], never: int, note: str | None = None) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    minutes = sorted(hist)
    if minutes:
        width = 15  # seconds per bar
        bins: dict[int, int] = {}
        for sec in minutes:
            bins[sec // width * width] = bins.get(sec // width * width, 0) + hist[sec]
        xs = sorted(bins)
        ax.bar([x / 60 for x in xs], [bins[x] for x in xs], width=width / 60, align="edge",
               color="#4c72b0", label="shortlist delivered")
    top = max(1, max(ax.get_ylim()[1], 1))
    ax.axvline(6, color="#dd8452", linestyle="--", label="6 min target (Phase 1/2)")
    ax.axvline(10, color="#c44e52", linestyle="-", label="10 min rollback line")
    ax.set_xlabel("time to shortlist (minutes)")
    ax.set_ylabel("requests")
    title = "Time to shortlist"
    if never:
        title += f" ({never} request(s) never got one)"
    ax.set_title(title)
    ax.set_ylim(0, top)
    ax.legend(loc="upper right")
    if not minutes and not never:
        _mark_empty(ax, note)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def plot_thresholds(path: Path, rows: list[dict[str, Any]], note: str | None = None) -> None:
    """One bar per metric, as a share of its threshold (1.0 = on the line)."""
    plt = _pyplot()
    shown = [r for r in rows if isinstance(r.get("value"), (int, float)) and r.get("threshold")]
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(4, len(shown)) + 1.2), dpi=100)
    labels = [f"{r['id']} ({r['value']} {r['op']} {r['threshold']})" for r in shown]
    ratios = [float(r["value"]) / float(r["threshold"]) for r in shown]
    colors = ["#55a868" if r["verdict"] in ("pass", "clear") else "#c44e52" for r in shown]
    ax.barh(range(len(shown)), ratios, color=colors)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("value / threshold (green: within, red: breaks it)")
    ax.set_title("Metrics against their thresholds")
    if not any(ratios):  # no metric, or every bar at zero: an empty run, not a healthy one
        _mark_empty(ax, note)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_plots(out: Path, tally: dict[str, Any], metrics: dict[str, Any], note: str | None = None) -> list[Path]:
    """Both plots; ``note`` (why the run is empty) is written across a plot with nothing to draw."""
    from .gates import threshold_rows

    out.mkdir(parents=True, exist_ok=True)
    tts = out / "time_to_shortlist.png"
    plot_time_to_shortlist(tts, tally.get("tts_hist", {}), int(tally.get("tts_never", 0)), note)
    thresholds = out / "thresholds.png"
    plot_thresholds(thresholds, threshold_rows(metrics), note)
    return [tts, thresholds]


def _mark_empty(ax, note: str | None) -> None:
    import textwrap

    text = "NO DATA: nothing to plot" + (f"\n\n{textwrap.fill(note, 70)}" if note else "")
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=10,
            color="#c44e52", bbox={"facecolor": "white", "edgecolor": "#c44e52"})


def plot_in_child(out: Path, label: str | Path, note: str | None = None,
                  module: str = "simulators.rollout.plots") -> None:
    """The plots of the run in ``out`` (its tally.json and metrics.json), drawn by a child process
    running ``module`` (``sweep_plots`` for a sweep's table); ``label`` names the run in an error.

    numpy's OpenBLAS allocates its buffers when it is imported and, when memory is short, prints
    ``OpenBLAS error`` and ends the process with exit 1, the code of a failed verdict, before
    Python can catch anything. In a child that is a failure this process can name: a harness error
    (exit 3) with the cause. The child needs one BLAS thread at most (it draws two bar charts), which
    keeps what OpenBLAS asks for small.
    """
    import os
    import subprocess
    import sys

    from ..outputs import OutputError

    env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    proc = subprocess.run([sys.executable, "-m", module, str(out), *([note] if note else [])], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr or proc.stdout).strip().splitlines() if line.strip()]
        cause = lines[-1][:300] if lines else "no message"
        short = any(w in cause.lower() for w in ("memory", "failed to map"))
        hint = " (out of memory; more memory, or --no-plots)" if short else ""
        raise OutputError(f"{label}: drawing the plots failed (exit {proc.returncode}): {cause}{hint}")


def _main(argv: list[str]) -> int:
    import json

    from .metrics import Tally

    out = Path(argv[0])
    tally = Tally.from_json(json.loads((out / "tally.json").read_text("utf-8"))["merged"])
    note = argv[1] if len(argv) > 1 else None
    write_plots(out, tally, json.loads((out / "metrics.json").read_text("utf-8")), note)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
