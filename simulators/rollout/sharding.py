"""A run's shards: each run in this process, or one per worker on the Dask engine (``engine.py``),
and their tallies merged in shard order, so the numbers are the same whatever the worker count.
"""

from __future__ import annotations

from simulators.progress import ProgressLine, RunMeter

from .metrics import Tally, merge
from .run_config import RunConfig
from .shard import ShardRun, run_shard


def simulate(config: RunConfig, workers: int = 1, bar: ProgressLine | None = None,
             samples: list[dict] | None = None) -> tuple[Tally, list[dict]]:
    """Run every shard (in this process, or with ``workers`` > 1 on a local Dask cluster of that
    many processes: ``engine.py``) and merge their tallies in shard order; each shard's samples are
    appended to ``samples`` when it is given."""
    shards = list(range(config.shards))
    bar = bar or ProgressLine(len(shards))
    meter = RunMeter()
    partials: list[dict] = []
    kept: list[dict] = []
    if workers <= 1:
        finished = 0  # requests of the shards already done
        for s in shards:
            run = ShardRun(config, s)

            def show(f: float, s: int = s, run: ShardRun = run, before: int = finished) -> None:
                speed = meter.label((s + f) / len(shards), before + run.requests_opened())
                bar.fill(s + f, f"shard {s + 1}/{len(shards)} {speed}")

            partials.append(run.run(show).to_json())
            kept.append(run.samples)
            finished += run.requests_opened()
    else:
        from .engine import Engine, Job

        progress = {"shards": 0, "requests": 0}  # of the shards done so far, in the order they finish

        def done(_shard: int, result: tuple[dict, dict]) -> None:
            part = Tally.from_json(result[0])
            progress["shards"] += 1
            progress["requests"] += int(part.get("requests", 0)) + int(part.get("coded_requests", 0))
            n = progress["shards"]
            bar.fill(n, f"{n}/{len(shards)} shards {meter.label(n / len(shards), progress['requests'])}")

        with Engine(workers=workers) as engine:
            results = engine.run([Job(s, run_shard, config, s) for s in shards], done)
        for s in shards:  # merged in shard order, whatever order they finished in
            partials.append(results[s][0])
            kept.append(results[s][1])
    bar.close()
    if samples is not None:
        samples.extend(kept)
    return merge(Tally.from_json(p) for p in partials), partials
