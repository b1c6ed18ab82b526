"""The harness's speed, measured: the Phase 0 scenario suite and the median scenario.

``python bench/run_bench.py [--runs 5] [--json OUT]`` runs every scenario under ``scenarios/`` N
times in this process (the first pass warms caches: imports, schemas, Tesseract's model files) and
reports medians: the whole suite's wall time (unit tests excluded, as in the gate's scenario part),
and the median per-scenario time with and without OCR scenarios. Targets (issue 7): suite <= 20 s
warm on a 2-core machine, median scenario < 50 ms excluding OCR. Figures are medians of repeated
runs because this machine is noisy; never assert on them in tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulators.replay.loader import discover, load_scenario  # noqa: E402
from simulators.replay.runner import run_scenario  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenarios", default="scenarios")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args(argv)
    scenarios = [load_scenario(p) for p in discover([args.scenarios])]
    for s in scenarios:  # warm-up pass
        run_scenario(s)
    suite_times: list[float] = []
    per_scenario: dict[str, list[float]] = {s.id: [] for s in scenarios}
    for i in range(args.runs):
        t0 = time.perf_counter()
        for s in scenarios:
            t1 = time.perf_counter()
            run_scenario(s)
            per_scenario[s.id].append(time.perf_counter() - t1)
        suite_times.append(time.perf_counter() - t0)
        print(f"run {i + 1}/{args.runs}: {suite_times[-1]:.2f} s", flush=True)
    medians = {sid: statistics.median(ts) for sid, ts in per_scenario.items()}
    no_ocr = [medians[s.id] for s in scenarios if "ocr" not in s.tags]
    result = {
        "scenarios": len(scenarios),
        "runs": args.runs,
        "suite_median_s": round(statistics.median(suite_times), 3),
        "scenario_median_ms": round(statistics.median(medians.values()) * 1000, 1),
        "scenario_median_ms_excluding_ocr": round(statistics.median(no_ocr) * 1000, 1) if no_ocr else None,
        "slowest": sorted(((round(v * 1000, 1), k) for k, v in medians.items()), reverse=True)[:5],
    }
    print(json.dumps(result, indent=2))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
