"""Rollout simulator benchmark: simulated requests per second per core, and peak memory for 10,000.

``python bench/rollout_bench.py [--requests N] [--memory-requests N] [--memory-large] [--memory-only] [--memory-trace FILE] [--same-seed] [--json OUT]``
``python bench/rollout_bench.py --calibrate`` compares the calibrated OCR model with the real stage
(Tesseract) on fixtures/images, field by field.

Throughput runs one shard in this process (one core, calibrated OCR model, no plots): a warm-up
world (seed 0), then three worlds of seeds 1-3, the median of their requests per CPU-second. Memory runs a
separate process (``--memory-requests``, default 12,100 planned needs = ~10,000 requests) and reads its peak RSS;
``--memory-large`` adds the same for 124,500 planned needs (~100,000 requests): opt-in, it takes about
35 CPU minutes (more on a shared machine), so ``nox -s bench`` leaves it out. Numbers are reported as
measured; the targets are printed next to them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RPS, TARGET_MB = 150, 300  # issue 21: per CPU-second; peak RSS at 10k and at 100k requests
LARGE_NEEDS = 124_500  # planned needs of the large memory run: ~100,300 requests (121,234 planned made 97,665: in a market this long ~80.6 %, not ~83 %, of needs become requests)
RATE = 0.5  # requests per client-hour in the bench world


def _config(requests: int, shards: int = 1):
    from simulators.rollout.population import WorldParams
    from simulators.rollout.run_config import RunConfig

    hours = 4.0
    clients = max(1, int(requests / (RATE * hours)))
    return RunConfig(clients=clients, vendors=120, hours=hours, seed=1, profile="phase3", shards=shards,
                     params=WorldParams.with_overrides({"requests_per_client_hour": RATE}))


def throughput(requests: int, repeats: int = 3, *, same_seed: bool = False) -> dict:
    """Median over ``repeats`` runs of one process, each a world of its own seed (1, 2, 3...), after
    a warm-up run of seed 0 that is not counted: the warm-up pays the one-time costs (imports,
    compiled checks, lexicons), and a run never meets the very texts of the run before it, which the
    concierge's bounded memos would answer from memory (a week-long run meets new texts as these
    do). ``same_seed``: the method of the figures before issue 21's fifth round, three runs of seed 1
    and no warm-up, whose second and third runs replay the first's texts."""
    import dataclasses
    import statistics

    from simulators.rollout.metrics import finalize, load_prices
    from simulators.rollout.sharding import simulate

    config = _config(requests)
    seeds = [1] * repeats if same_seed else list(range(1, repeats + 1))
    if not same_seed:
        simulate(dataclasses.replace(config, seed=0), workers=1)
    runs = []
    for seed in seeds:
        start = time.process_time()
        tally, _ = simulate(dataclasses.replace(config, seed=seed), workers=1)
        cpu = time.process_time() - start
        runs.append((finalize(tally, load_prices())["requests_total"], cpu))
    rates = [n / cpu for n, cpu in runs]
    return {"requests_runs": [n for n, _ in runs], "cpu_s_runs": [round(cpu, 2) for _, cpu in runs],
            "seeds": seeds, "warm_up_seed": None if same_seed else 0,
            "requests_per_cpu_s_runs": [round(r, 1) for r in rates],
            "requests_per_cpu_s": round(statistics.median(rates), 1), "target": TARGET_RPS}


def memory(requests: int, trace: str | None = None) -> dict:
    """Peak RSS of a one-shard run in a fresh process; ``trace``: a file that gets one line per
    quarter hour of virtual time (requests opened so far, current RSS in MB), to see the growth."""
    code = (
        "import sys, json, resource; sys.path.insert(0, '.');"
        "from bench.rollout_bench import _config, _traced;"
        "from simulators.rollout.metrics import finalize, load_prices;"
        f"t = _traced(_config({requests}), {trace!r});"
        "m = finalize(t, load_prices());"
        "print(json.dumps({'requests': m['requests_total'],"
        " 'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))"
    )
    wall = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update({"wall_s": round(time.perf_counter() - wall, 1), "target_mb": TARGET_MB})
    return result


def _traced(config, trace: str | None):
    """One shard run (what ``simulate`` does with one shard), writing the memory trace."""
    from simulators.rollout.shard import ShardRun

    run = ShardRun(config, 0)
    out = open(trace, "w") if trace else None  # noqa: SIM115 - open for the whole run

    def progress(fraction: float) -> None:
        if out:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            out.write(f"{fraction:.3f} {run.requests_opened()} {pages * resource.getpagesize() / 2**20:.1f}\n")
            out.flush()

    try:
        return run.run(progress)
    finally:
        if out:
            out.close()


def calibrate() -> dict:
    from simulators.ocr_eval import evaluate
    from simulators.rollout.ocr_model import CalibratedOcr, encode_spec

    class Model:
        """Reads a fixture image's ground-truth spec (by its bytes) with the calibrated model."""

        def __init__(self, folder: Path):
            self.specs = {}
            for truth in sorted(folder.glob("*.json")):
                data = json.loads(truth.read_text())
                image = folder / data.get("image", "")
                if "spec" in data and image.exists():
                    self.specs[image.read_bytes()] = data["spec"]
            self.ocr = CalibratedOcr(seed=0)

        def read(self, image: bytes):
            return self.ocr.read(encode_spec(self.specs[image]))

        def engine_info(self):
            return self.ocr.engine_info()

    folder = Path("fixtures/images")
    real = evaluate(folder)
    model = evaluate(folder, ocr=Model(folder))
    return {"real": real["rows"], "model": model["rows"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=1000, help="throughput run size")
    # ~83 % of planned needs become requests (the rest arrive while that client is still being
    # served), so 12,100 planned needs make the 10,000 requests.
    p.add_argument("--memory-requests", type=int, default=12100,
                   help="planned needs for the memory run (12,100 -> ~10,000 requests); 0 skips it")
    p.add_argument("--memory-large", action="store_true",
                   help=f"also measure peak memory for {LARGE_NEEDS:,} planned needs (~100,000 requests; slow)")
    p.add_argument("--memory-trace", default=None,
                   help="write each memory run's growth (fraction, requests opened, RSS MB) to FILE.<needs>")
    p.add_argument("--memory-only", action="store_true", help="skip the throughput run")
    p.add_argument("--same-seed", action="store_true",
                   help="the throughput method before issue 21's fifth round: three runs of seed 1, no warm-up")
    p.add_argument("--calibrate", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if args.calibrate:
        report = calibrate()
        for real, model in zip(report["real"], report["model"], strict=True):
            keys = [k for k in real if k.endswith("_accuracy") or k == "ask_rate"]
            print(real["kind"], real["level"], {k: (real[k], model[k]) for k in keys})
        return 0
    report = {} if args.memory_only else {"throughput": throughput(args.requests, same_seed=args.same_seed)}
    if not args.memory_only:
        t = report["throughput"]
        runs = ", ".join(f"{n} in {cpu} s" for n, cpu in zip(t["requests_runs"], t["cpu_s_runs"], strict=True))
        method = "seed 1 three times" if args.same_seed else f"seeds {t['seeds'][0]}-{t['seeds'][-1]} after a warm-up run"
        print(f"throughput: {t['requests_per_cpu_s']} req/s/core, median of {len(t['seeds'])} runs ({method}: "
              f"{runs}) (target {TARGET_RPS})")
    runs = [("memory", args.memory_requests)] if args.memory_requests else []
    if args.memory_large:
        runs.append(("memory_large", LARGE_NEEDS))
    for key, needs in runs:
        report[key] = mem = memory(needs, f"{args.memory_trace}.{needs}" if args.memory_trace else None)
        print(f"memory: {mem['requests']} requests, peak RSS {mem['peak_rss_mb']} MB (target <= {TARGET_MB} MB), "
              f"{mem['wall_s']} s wall")
    report["maxrss_this_process_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
