"""Sweeps and the Dask engine: a sweep's points equal the simulate commands it names, on a 2-worker
cluster on loopback as in process; a killed worker or a job that fails once changes no number; a
bad spec is one line naming the file and the key (exit 2)."""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from pathlib import Path

import cloudpickle
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.commands.cli import main as cli_main
from simulators.rollout.engine import Engine, EngineError, Job
from simulators.rollout.metrics import dumps, merge
from simulators.rollout.run_config import RunConfig
from simulators.rollout.shard import run_shard
from simulators.rollout.sweep_plots import thresholds, write_plots
from simulators.rollout.sweep_spec import load_spec

SPEC = {
    "base": {"clients": 30, "vendors": 8, "hours": 1, "profile": "phase3",
             "params": {"requests_per_client_hour": 1.0}, "env": {"AI_CONCIERGE_PERCENT_ROLLOUT": 100}},
    "seeds": [4],
    "grid": {"shards": [1, 2], "params": {"reply_prob": [[0.2, 0.4], [0.55, 0.95]]}},
}


@pytest.fixture(scope="module")
def engine():
    """Two worker processes on loopback, closed whatever the tests do."""
    with Engine(workers=2) as running:
        yield running


def _write(tmp_path: Path, spec: dict, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_the_local_cluster_listens_on_loopback_only(engine):
    info = engine.client.scheduler_info()
    assert info["address"].startswith("tcp://127.0.0.1:")
    assert len(info["workers"]) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in info["workers"])


def test_each_point_equals_its_simulate_command_on_a_two_worker_cluster(engine, tmp_path, capsys):
    spec = _write(tmp_path, SPEC)
    out = tmp_path / "sweep"
    scheduler = engine.client.scheduler.address
    assert cli_main(["sweep", str(spec), "--out", str(out), "--scheduler", scheduler, "--no-plots"]) == 0
    table = json.loads((out / "sweep.json").read_text())
    assert [p["point"] for p in table["points"]] == ["p001", "p002", "p003", "p004"]
    assert table["swept"] == ["shards", "params.reply_prob"]
    rows = list((out / "sweep.csv").read_text().splitlines())
    assert len(rows) == 5 and rows[0].startswith("point,seed,shards,params.reply_prob,requests,")
    assert min(p["metrics"]["requests_total"] for p in table["points"]) > 10
    for point in table["points"]:
        # The command the table names, run in this process: the same metrics, byte for byte.
        argv = point["command"].split()[1:]
        argv[argv.index("--out") + 1] = str(tmp_path / point["point"])
        assert cli_main([*argv, "--no-plots"]) == 0
        assert (tmp_path / point["point"] / "metrics.json").read_text() == dumps(point["metrics"])
    runs = [p["metrics"] for p in table["points"]]
    assert runs[0] != runs[1], "the swept vendor reply probability changed nothing"
    assert "--env" in table["points"][0]["command"] and (out / "p001.env").read_text() == \
        "AI_CONCIERGE_PERCENT_ROLLOUT=100\n"
    assert yaml.safe_load((out / "p001.params.yaml").read_text()) == {"reply_prob": [0.2, 0.4],
                                                                       "requests_per_client_hour": 1.0}


def _config() -> RunConfig:
    return RunConfig(clients=60, vendors=12, hours=2, seed=7, profile="phase3", shards=6)


def test_a_killed_worker_changes_no_number(engine):
    config = _config()
    expected = merge(run_shard(config, s)[0] for s in range(config.shards))
    killed: dict[str, list] = {}

    def kill_a_busy_worker(_key, _result):
        if killed:
            return
        busy = {w: list(keys) for w, keys in engine.client.processing().items() if keys}
        if not busy:
            return
        victim = sorted(busy)[0]
        killed[victim] = busy[victim]
        os.kill(engine.worker_pids()[victim], signal.SIGKILL)

    results = engine.run([Job(s, run_shard, config, s) for s in range(config.shards)], kill_a_busy_worker)
    assert killed, "no worker was busy to kill: the jobs were too short to test this"
    assert sorted(results) == list(range(config.shards))
    assert dumps(merge(results[s][0] for s in range(config.shards)).to_json()) == dumps(expected.to_json())


def first_run_fails(marker_dir: str, config: RunConfig, shard: int):
    marker = Path(marker_dir) / f"shard-{shard}"
    if not marker.exists():
        marker.write_text("failed once")
        raise RuntimeError(f"injected failure in shard {shard}")
    return run_shard(config, shard)


def test_a_job_that_fails_once_is_retried_and_counted_once(engine, tmp_path):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    config = RunConfig(clients=20, vendors=6, hours=1, seed=3, profile="phase3", shards=3)
    expected = merge(run_shard(config, s)[0] for s in range(3))
    results = engine.run([Job(s, first_run_fails, str(tmp_path), config, s) for s in range(3)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-0", "shard-1", "shard-2"]
    assert dumps(merge(results[s][0] for s in range(3)).to_json()) == dumps(expected.to_json())


def always_fails(_x: int):
    raise ValueError("a bug")


def test_a_job_that_always_fails_raises_after_its_retries(engine):
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    with pytest.raises(ValueError, match="a bug"):
        engine.run([Job(0, always_fails, 0)])


def test_an_unreachable_scheduler_is_one_line():
    import socket

    with socket.socket() as s:  # a loopback port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError, match="could not reach scheduler tcp://127.0.0.1:"):
        with Engine(scheduler=f"tcp://127.0.0.1:{port}", connect_timeout="2s"):
            pass


@pytest.mark.parametrize("change, where", [
    ({"colour": "red"}, "(top level): Additional properties"),
    ({"grid": {"params": {"reply_probability": [0.5]}}}, "grid.params: Additional properties"),
    ({"grid": {"params": {"reply_prob": [[0.9, 0.1]]}}}, "grid.params.reply_prob[0]: low 0.9 is above high 0.1"),
    ({"grid": {"clients": [0]}}, "grid.clients[0]: 0 is less than the minimum of 1"),
    ({"grid": {"env": {"AI_CONCIERGE_PERCENT_ROLLOUT": ["5 # five"]}}}, "grid.env.AI_CONCIERGE_PERCENT_ROLLOUT[0]"),
    ({"points": [{"clients": 3}]}, "give either grid (every combination) or points (a list), not both"),
    ({"seeds": []}, "seeds: [] should be non-empty"),
    ({"base": {"vendors": 6, "hours": 1}}, "base.clients: missing"),
    ({"grid": {"shards": [9]}}, "point p001 (shards=9): --shards must be between 1 and"),
    ({"plot": {"x": "params.stock_prob"}}, "plot.x: 'params.stock_prob' is not a swept key"),
])
def test_a_bad_spec_is_one_line_naming_file_and_key(tmp_path, capsys, change, where):
    spec = _write(tmp_path, {**SPEC, **change})
    out = tmp_path / "sweep"
    assert cli_main(["sweep", str(spec), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sweep: {spec}: ") and where in err[0], err
    assert not out.exists()


def test_a_spec_that_is_not_yaml_names_its_line(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text("seeds: [1\nbase: {clients: 3}\n")
    assert cli_main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith(f"sweep: {spec}:2: not YAML")


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True),
       cancel=st.lists(st.floats(0, 1), min_size=1, max_size=3, unique=True),
       seeds=st.lists(st.integers(0, 1000), min_size=1, max_size=3, unique=True))
def test_a_grid_is_every_combination_times_every_seed_once(tmp_path_factory, batch, cancel, seeds):
    spec = {"base": {"clients": 5, "vendors": 5, "hours": 1}, "seeds": seeds,
            "grid": {"params": {"brain_batch_size": batch, "client_cancel_rate": cancel}}}
    points = load_spec(_write(tmp_path_factory.mktemp("g"), spec)).points
    assert len(points) == len(batch) * len(cancel) * len(seeds)
    seen = {(p.params["brain_batch_size"], p.params["client_cancel_rate"], p.seed) for p in points}
    assert seen == {(b, c, s) for b in batch for c in cancel for s in seeds}
    assert len({p.id for p in points}) == len(points)


def test_plots_draw_the_gate_thresholds_and_skip_metrics_without_data(tmp_path):
    lines = thresholds()
    p95 = {(line["op"], line["threshold"]) for line in lines["time_to_shortlist_p95_s"]}
    assert p95 == {("<=", 360), (">", 600)}
    assert {(line["op"], line["threshold"]) for line in lines["error_rate"]} == {("<", 0.05), (">", 0.10)}
    rows = [{"point": f"p{i}", "seed": 1, "values": {"params.reply_prob": rp, "shards": sh},
             "metrics": {"time_to_shortlist_p95_s": p95v, "time_to_shortlist_never": never, "nothing": None}}
            for i, (rp, sh, p95v, never) in enumerate([([0.2, 0.4], 1, None, 3), ([0.5, 0.9], 1, 300, 0),
                                                       ([0.2, 0.4], 2, 420, 0), ([0.5, 0.9], 2, 250, 0)])]
    (tmp_path / "sweep.json").write_text(json.dumps({
        "swept": ["params.reply_prob", "shards"], "x": "params.reply_prob",
        "metric_names": ["time_to_shortlist_p95_s", "time_to_shortlist_never", "nothing"], "points": rows}))
    written = write_plots(tmp_path)
    assert sorted(p.name for p in written) == ["plot-time_to_shortlist_never.png", "plot-time_to_shortlist_p95_s.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written)


def test_the_example_spec_is_valid():
    spec = load_spec(Path(__file__).resolve().parents[2] / "fixtures" / "sweeps" / "batch-vs-vendor-load.yaml")
    assert spec.runs == 8 and spec.x == "params.reply_prob"
    env = spec.points[0].config().settings().env
    assert env["AI_CONCIERGE_PERCENT_ROLLOUT"] == "100" and env["FEATURE_AI_CONCIERGE_CALLING"] == "true"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_line_counts_points_and_shows_an_eta(engine, tmp_path):
    from simulators.progress import ProgressLine
    from simulators.rollout.sweep import run_points

    small = {**SPEC, "base": {**SPEC["base"], "clients": 8, "vendors": 4}, "grid": {"shards": [1, 2]}}
    spec = load_spec(_write(tmp_path, small))
    screen = _Terminal()
    tallies = run_points(spec, engine, ProgressLine(spec.runs, stream=screen))
    assert sorted(tallies) == ["p001", "p002"]
    drawn = screen.getvalue()
    assert "1/2 points, ETA " in drawn and "2/2 points, ETA 0m00s" in drawn
