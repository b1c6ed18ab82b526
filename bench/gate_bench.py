"""The Phase 0 gate's wall time, whole and by part.

``python bench/gate_bench.py [--runs 3] [--parts-only | --whole-only]``

Whole: ``concierge-sim gate phase0`` as a command, N runs of each kind interleaved (A B A B ...),
with the unit suite's junit reused (when ``reports/unit`` holds one of this very tree: run
``nox -s tests`` first) and with reuse refused (``--reuse-unit-junit ''``: the gate runs the suite
itself). Parts: each criterion's own work timed once in this process after a warm-up (the
scenarios, the population run, the OCR evaluation, the probes), and the unit suite as the gate
starts it. Medians, because the machine is shared and noisy; never assert on these in tests.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return round(time.perf_counter() - t0, 2)


def parts() -> dict[str, float]:
    """Each part of the gate, timed alone (after one warm-up pass of the scenarios)."""
    from argparse import Namespace

    from simulators.commands import gate
    from simulators.replay import brain_cli
    from simulators.replay.suite import load_all

    scenarios, _ = load_all([str(ROOT / "scenarios" / "phase0")])
    brain_cli.run(scenarios, None, 1)  # warm: imports, schemas, Tesseract's model files
    out: dict[str, float] = {}
    held: dict[str, object] = {}
    out["scenarios"] = _timed(lambda: held.update(results=brain_cli.run(scenarios, None, 1)[0]))
    results = held["results"]
    out["population_invariants"] = _timed(gate.population_invariants)
    out["ocr_samples"] = _timed(lambda: gate.ocr_samples(Namespace(ocr_samples=str(ROOT / "fixtures" / "images"))))
    out["flags_probe"] = _timed(lambda: gate.flags_off_by_default(Namespace()))
    out["state_transitions"] = _timed(lambda: gate.state_transitions(results))
    out["tool_contracts"] = _timed(lambda: gate.tool_contracts(results))
    out["tagged_and_logs"] = _timed(lambda: (gate.tagged(results, "dedupe", "a", "b"), gate.clean_logs(results)))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-n", "auto",
               f"--junitxml={tmp}/unit.xml"]
        out["unit_suite"] = _timed(lambda: subprocess.run(cmd, cwd=ROOT, capture_output=True))
    return out


def whole(runs: int) -> dict[str, list[float]]:
    """The gate command, reused junit vs a gate that runs the suite, interleaved."""
    gate = [sys.executable, "-m", "simulators.commands.cli", "gate", "phase0"]
    kinds = {"reused_junit": [*gate, "--report-dir", "reports/bench-gate-a"],
             "runs_the_suite": [*gate, "--report-dir", "reports/bench-gate-b", "--reuse-unit-junit", ""]}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    notes: dict[str, str] = {}
    for i in range(runs):
        for kind, cmd in kinds.items():
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            times[kind].append(round(time.perf_counter() - t0, 2))
            reuse_line = next((line for line in proc.stdout.splitlines() if "gate: unit tests:" in line), "")
            notes[kind] = f"exit {proc.returncode}; {reuse_line.strip()[:160]}"
            print(f"run {i + 1}/{runs} {kind}: {times[kind][-1]} s ({notes[kind]})", flush=True)
    return {**{k: v for k, v in times.items()}, "notes": notes}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--parts-only", action="store_true")
    p.add_argument("--whole-only", action="store_true")
    args = p.parse_args(argv)
    result: dict[str, object] = {}
    if not args.whole_only:
        result["parts_s"] = parts()
        print(json.dumps(result["parts_s"], indent=1), flush=True)
    if not args.parts_only:
        runs = whole(args.runs)
        result["whole_runs_s"] = runs
        result["whole_median_s"] = {k: statistics.median(v) for k, v in runs.items() if k != "notes"}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
