"""Sweep throughput on a local Dask cluster of 1 and of 2 workers: points per minute, median.

``python bench/sweep_bench.py [--runs 3]`` runs one fixed sweep (12 points: brain batch
size 3/4/5 x two vendor reply ranges x 2 seeds, 200 clients for 3 hours each, the whole AI path) as
the ``concierge-sim sweep`` command, with ``--workers 1`` and ``--workers 2`` in turn (1 2 1 2 ...),
``--no-plots``. Wall time includes starting and closing the cluster, as a user waits for it. The
two tables must be equal (the point of the engine); the bench says so or fails. Medians, because
the machine is shared and noisy; never assert on speed in tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SPEC = {
    "base": {"clients": 200, "vendors": 40, "hours": 3, "profile": "phase3",
             "env": {"AI_CONCIERGE_PERCENT_ROLLOUT": 100}},
    "seeds": [1, 2],
    "grid": {"params": {"brain_batch_size": [3, 4, 5], "reply_prob": [[0.2, 0.4], [0.55, 0.95]]}},
}
POINTS = 12


def run(spec: Path, out: Path, workers: int) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "simulators.rollout", "sweep", str(spec), "--out", str(out),
           "--workers", str(workers), "--no-plots"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    table = json.loads((out / "sweep.json").read_text("utf-8"))
    return wall, {p["point"]: p["metrics"] for p in table["points"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    walls: dict[int, list[float]] = {1: [], 2: []}
    tables: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(yaml.safe_dump(SPEC))
        for i in range(args.runs):
            for workers in (1, 2):
                wall, tables[workers] = run(spec, Path(tmp) / f"out-{workers}", workers)
                walls[workers].append(wall)
                print(f"run {i + 1}/{args.runs}, {workers} worker(s): {wall:.1f} s, "
                      f"{POINTS / wall * 60:.1f} points/min", flush=True)
    if tables[1] != tables[2]:
        raise SystemExit("the 1-worker and 2-worker tables differ: the engine is broken")
    result = {
        "points": POINTS, "runs": args.runs,
        "wall_s": {str(w): [round(x, 1) for x in v] for w, v in walls.items()},
        "points_per_minute_median": {str(w): round(POINTS / statistics.median(v) * 60, 1) for w, v in walls.items()},
        "speedup_2_over_1": round(statistics.median(walls[1]) / statistics.median(walls[2]), 2),
        "tables_equal": True,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
