"""``concierge-sim sweep SPEC.yaml --out DIR``: many ``simulate`` runs over a grid, one table, plots.

Every point of the spec (``sweep_spec.py``) is a normal ``simulate`` run: the same ``ShardRun``, the
same shard jobs, merged in shard order by the same ``merge`` and finished by the same ``finalize``,
so a point's metrics equal those of ``Point.command`` (the table's ``command`` column). All the
points' shards go to one Dask cluster (``engine.py``): a local one of ``--workers`` processes on
loopback, or the running cluster at ``--scheduler``. The output set (``outputs.py``) holds
``sweep.csv`` and ``sweep.json`` (one row per point: its seed, swept values and every metric), the
points' ``--params``/``--env`` files, and ``plot-<metric>.png`` for each metric against the swept
values with the runbook's thresholds drawn in (``sweep_plots.py``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

from simulators.outputs import OutputSet
from simulators.progress import ProgressLine, RunMeter, eta

from .cli_args import parsed
from .engine import Engine, EngineError, Job
from .metrics import Tally, dumps, finalize, load_prices, merge
from .shard import run_shard
from .simulate import harness_error
from .sweep_spec import Spec, SpecError, label, load_spec

TABLE_FORMAT = "concierge-sim.sweep/1"


def run_points(spec: Spec, engine: Engine, bar: ProgressLine | None = None) -> dict[str, Tally]:
    """Each point's merged tally, by point id: every shard of every point is one job on the engine."""
    points = spec.points
    shards = {p.id: p.config().shards for p in points}
    jobs = [Job((p.id, s), run_shard, p.config(), s) for p in points for s in range(shards[p.id])]
    bar = bar or ProgressLine(len(points))
    meter = RunMeter()
    left = dict(shards)
    done = 0

    def finished(key: tuple[str, int], _result: Any) -> None:
        nonlocal done
        left[key[0]] -= 1
        if left[key[0]] == 0:
            done += 1
            elapsed = meter.clock() - meter.started
            bar.fill(done, f"{done}/{len(points)} points, {eta(done / len(points), elapsed)}")

    results = engine.run(jobs, finished)
    bar.close()
    # In shard order, as simulate merges them: the same numbers whichever worker finished first.
    return {p.id: merge(Tally.from_json(results[(p.id, s)][0]) for s in range(shards[p.id])) for p in points}


def table(spec: Spec, tallies: dict[str, Tally], out: str | Path) -> dict[str, Any]:
    """The sweep's table: one row per point (id, seed, swept values, the command, every metric)."""
    prices = load_prices(None)
    rows = []
    for p in spec.points:
        rows.append({"point": p.id, "seed": p.seed, "values": p.values,
                     "command": " ".join(p.command(out)), "metrics": finalize(tallies[p.id], prices)})
    metrics = list(rows[0]["metrics"]) if rows else []
    return {"format": TABLE_FORMAT, "spec": spec.path, "swept": spec.swept, "x": spec.x,
            "metric_names": metrics, "points": rows}


def csv_text(data: dict[str, Any]) -> str:
    """The table as CSV: list values (``[low, high]`` ranges) as JSON, a null metric as an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["point", "seed", *data["swept"], *data["metric_names"], "command"])
    for row in data["points"]:
        swept = [_cell(row["values"].get(k)) for k in data["swept"]]
        metrics = [_cell(row["metrics"][k]) for k in data["metric_names"]]
        writer.writerow([row["point"], row["seed"], *swept, *metrics, row["command"]])
    return buf.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="concierge-sim sweep", description=__doc__.splitlines()[0])
    add_sweep_arguments(p)
    return p


def add_sweep_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("spec", help="the sweep's YAML spec (docs/rollout-simulator.md, 'Sweeps')")
    p.add_argument("--out", required=True, help="the output folder (table, plots, each point's files)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local Dask cluster (default: one per CPU)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                   help="run on this running Dask cluster instead of a local one")
    p.add_argument("--no-plots", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parsed(_parser(), argv)
    return args if isinstance(args, int) else run_from_args(args)


def run_from_args(args: argparse.Namespace) -> int:
    if args.workers is not None and args.scheduler:
        print("sweep: give --workers (a local cluster) or --scheduler (a running one), not both",
              file=sys.stderr)
        return 2
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        print(f"sweep: --workers must be >= 1, got {workers}", file=sys.stderr)
        return 2
    try:
        spec = load_spec(args.spec)
    except SpecError as exc:
        print(f"sweep: {exc}", file=sys.stderr)
        return 2
    shards = sum(p.config().shards for p in spec.points)
    where = args.scheduler or f"a local cluster of {workers} worker process(es)"
    print(f"sweep: {spec.runs} points ({shards} shard jobs) on {where}", file=sys.stderr)
    with OutputSet(args.out) as out:
        for point in spec.points:
            for name, text in point.files().items():
                out.write_text(name, text)
        try:
            with Engine(workers=workers, scheduler=args.scheduler) as engine:
                tallies = run_points(spec, engine)
        except EngineError as exc:
            print(f"sweep: {exc}", file=sys.stderr)
            return 3
        except Exception as exc:  # a bug in the concierge or the simulator: say so, keep the details
            return harness_error(out, "sweep", args.out, exc, "same spec, same failure")
        data = table(spec, tallies, args.out)
        out.write_text("sweep.json", dumps(data))
        out.write_text("sweep.csv", csv_text(data))
        if not args.no_plots:
            from .plots import plot_in_child

            plot_in_child(out.staging, args.out, module="simulators.rollout.sweep_plots")
        out.commit(spec=spec.path, points=spec.runs, swept=spec.swept)
    _summary(spec, data, Path(args.out))
    return 0


def _summary(spec: Spec, data: dict[str, Any], out: Path) -> None:
    """Per combination: the time-to-shortlist p95 of each seed against the 6-minute bar."""
    seen: dict[str, list[Any]] = {}
    for row in data["points"]:
        seen.setdefault(label(row["values"]) or "base", []).append(_p95(row["metrics"]))
    for combo, values in seen.items():
        ok = all(isinstance(v, int) and v <= 360 for v in values)
        print(f"  {'<= 6 min' if ok else '>  6 min'}  p95 {', '.join(str(v) for v in values)}  {combo}")
    print(f"{spec.runs} points -> {out}/sweep.csv, {out}/sweep.json")


def _p95(metrics: dict[str, Any]) -> Any:
    from .gates import metric_value

    value = metric_value(metrics, "time_to_shortlist_p95_s")
    return "-" if value is None else value
