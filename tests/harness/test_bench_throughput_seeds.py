"""The throughput bench (``bench/rollout_bench.py``) times worlds the process has not run before: a
warm-up world of seed 0 is not counted, then seeds 1, 2, 3. Timing one seed three times let the
concierge's bounded memos answer the second and third runs from the first's texts, which a long run
never sees again: that method read 5-6 % higher than runs of new worlds, on the trees before and
after issue 21's fifth round alike. ``--same-seed`` keeps it for comparisons with earlier figures."""

import importlib.util
from pathlib import Path

import simulators.rollout.sharding as sharding

_path = Path(__file__).resolve().parents[2] / "bench" / "rollout_bench.py"
_spec = importlib.util.spec_from_file_location("rollout_bench_seeds", _path)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _seeds_run(monkeypatch, **kwargs) -> tuple[list[int], dict]:
    seen: list[int] = []
    real = sharding.simulate

    def simulate(config, **kw):
        seen.append(config.seed)
        return real(config, **kw)

    monkeypatch.setattr(sharding, "simulate", simulate)
    return seen, bench.throughput(30, repeats=2, **kwargs)


def test_each_timed_run_is_a_new_world_after_an_untimed_warm_up(monkeypatch):
    seen, figures = _seeds_run(monkeypatch)
    assert seen == [0, 1, 2]  # the warm-up first, then one world per timed run
    assert figures["seeds"] == [1, 2] and figures["warm_up_seed"] == 0
    assert len(figures["requests_runs"]) == len(figures["cpu_s_runs"]) == 2
    rates = figures["requests_per_cpu_s_runs"]
    assert all(r > 0 for r in rates) and min(rates) <= figures["requests_per_cpu_s"] <= max(rates)


def test_the_earlier_method_runs_one_seed_without_a_warm_up(monkeypatch):
    seen, figures = _seeds_run(monkeypatch, same_seed=True)
    assert seen == [1, 1] and figures["warm_up_seed"] is None
    assert figures["requests_runs"][0] == figures["requests_runs"][1]  # the same world twice
