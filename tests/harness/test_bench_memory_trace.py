"""The memory bench's trace (``bench/rollout_bench.py --memory-trace``) writes one line a progress
step: the fraction of the run, the requests opened so far and the RSS. It once called a method the
shard had lost to a rename, and nothing ran it but a 12-minute bench."""

import importlib.util
from pathlib import Path

from simulators.rollout.metrics import finalize, load_prices

_path = Path(__file__).resolve().parents[2] / "bench" / "rollout_bench.py"
_spec = importlib.util.spec_from_file_location("rollout_bench", _path)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_the_memory_trace_counts_opened_requests_as_the_run_goes(tmp_path):
    trace = tmp_path / "trace"
    tally = bench._traced(bench._config(40), str(trace))
    rows = [line.split() for line in trace.read_text().splitlines()]
    fractions = [float(r[0]) for r in rows]
    opened = [int(r[1]) for r in rows]
    assert len(rows) >= 4 and all(len(r) == 3 and float(r[2]) > 0 for r in rows)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert opened == sorted(opened) and 0 < opened[-1]
    assert opened[-1] == finalize(tally, load_prices())["requests_total"]  # the run's own count at its end
