"""Where a rollout run's CPU goes: the concierge itself, the simulated world, or the driver.

``python bench/rollout_split.py [--requests N] [--runs R]``

The rollout simulator runs the real concierge. This script answers the question its throughput
target raises: if the simulated world cost nothing, how fast would the concierge alone be? It runs
the bench world (``bench/rollout_bench.py``) with a stopwatch on each side of the concierge's port
boundary:

- **concierge**: time inside ``Concierge`` entry points (webhooks, timers, call callbacks, resume),
  less the time spent inside the ports it calls;
- **world**: time inside the ports (transport and the Cloud API fake behind it, brain, vendor
  directory, call provider, OCR, client profiles, the clock's scheduler), less any concierge time
  nested in it (a fake may deliver a webhook back while a send is in flight);
- **driver**: the rest (population, people's behaviour, the virtual clock, metrics).

Zones are exclusive (a stack), so the three add up to the run's CPU time. The stopwatch itself costs
a little; the figures are medians of ``--runs`` runs and are ratios first.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PORT_FIELDS = ("transport", "directory", "brain", "ocr", "calls", "clients")
ENTRY_POINTS = ("on_webhook", "on_timer", "on_call_status", "resume")


class Zones:
    """An exclusive stopwatch: entering a zone pauses the one it interrupts."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {"concierge": 0.0, "world": 0.0}
        self.stack: list[list[Any]] = []  # [zone, started]

    def enter(self, zone: str) -> None:
        now = time.process_time()
        if self.stack:
            top = self.stack[-1]
            self.spent[top[0]] += now - top[1]
        self.stack.append([zone, now])

    def leave(self) -> None:
        now = time.process_time()
        zone, started = self.stack.pop()
        self.spent[zone] += now - started
        if self.stack:
            self.stack[-1][1] = now

    def wrap(self, zone: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self.enter(zone)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()
        return timed


class WorldPort:
    """Times every method call on a port object as world time."""

    def __init__(self, inner: Any, zones: Zones):
        self._inner, self._zones = inner, zones

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        return self._zones.wrap("world", value) if callable(value) else value


def one_run(requests: int) -> dict:
    from bench.rollout_bench import _config
    from concierge.engine import Concierge
    from simulators.rollout.metrics import finalize, load_prices
    from simulators.rollout.shard import ShardRun
    from simulators.rollout.sharding import simulate

    zones = Zones()
    originals = {name: getattr(Concierge, name) for name in ENTRY_POINTS}
    original_init = ShardRun.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        ports = self.world.concierge.ports
        for name in PORT_FIELDS:
            if getattr(ports, name) is not None:
                setattr(ports, name, WorldPort(getattr(ports, name), zones))
        ports.scheduler.inner = WorldPort(ports.scheduler.inner, zones)

    try:
        for name, fn in originals.items():
            setattr(Concierge, name, zones.wrap("concierge", fn))
        ShardRun.__init__ = init
        start = time.process_time()
        tally, _ = simulate(_config(requests), workers=1)
        total = time.process_time() - start
    finally:
        for name, fn in originals.items():
            setattr(Concierge, name, fn)
        ShardRun.__init__ = original_init
    n = finalize(tally, load_prices())["requests_total"]
    concierge, world = zones.spent["concierge"], zones.spent["world"]
    return {"requests": n, "cpu_s": total, "concierge_s": concierge, "world_s": world,
            "driver_s": total - concierge - world}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="planned requests (default 600)")
    parser.add_argument("--runs", type=int, default=3, help="runs to take the median of (default 3)")
    args = parser.parse_args(argv)
    runs = [one_run(args.requests) for _ in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in ("cpu_s", "concierge_s", "world_s", "driver_s")}
    n = runs[0]["requests"]
    out = {
        "requests": n,
        "runs": args.runs,
        **{k: round(v, 2) for k, v in med.items()},
        "share": {k: round(med[f"{k}_s"] / med["cpu_s"], 3) for k in ("concierge", "world", "driver")},
        "requests_per_cpu_s": round(n / med["cpu_s"], 1),
        "concierge_only_requests_per_cpu_s": round(n / med["concierge_s"], 1),
        "concierge_ms_per_request": round(1000 * med["concierge_s"] / n, 2),
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
