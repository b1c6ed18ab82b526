"""The simulate progress line's rate and ETA: a pure function of the wall clock it is handed."""

from __future__ import annotations

import io
import re

from simulators.progress import ProgressLine, RunMeter, rate_and_eta
from simulators.rollout.metrics import dumps, finalize, load_prices
from simulators.rollout.run_config import RunConfig
from simulators.rollout.sharding import simulate


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_rate_is_requests_per_wall_second_and_eta_the_rest_at_that_pace():
    assert rate_and_eta(0.25, 50, 10.0) == "50 requests, 5.0 req/s, ETA 0m30s"
    assert rate_and_eta(0.5, 1000, 3700.0) == "1,000 requests, 0.3 req/s, ETA 1h01m40s"
    assert rate_and_eta(1.0, 7, 2.0) == "7 requests, 3.5 req/s, ETA 0m00s"
    assert rate_and_eta(1.5, 7, 2.0).endswith("ETA 0m00s")  # never a negative time left


def test_nothing_done_yet_has_no_eta():
    assert rate_and_eta(0.0, 0, 0.0) == "0 requests, - req/s, ETA -"
    assert rate_and_eta(0.0, 3, 1.0) == "3 requests, 3.0 req/s, ETA -"


def test_meter_reads_the_injected_clock():
    now = [100.0]
    meter = RunMeter(clock=lambda: now[0])
    now[0] = 104.0
    assert meter.label(0.5, 40) == "40 requests, 10.0 req/s, ETA 0m04s"


def test_simulate_draws_rate_and_eta_on_a_terminal_and_its_metrics_do_not_change():
    config = RunConfig(clients=8, vendors=4, hours=0.5, seed=3, profile="phase3", shards=2)
    tty = FakeTty()
    shown, _ = simulate(config, bar=ProgressLine(2, stream=tty))
    silent, _ = simulate(config, bar=ProgressLine(2, stream=io.StringIO()))
    drawn = tty.getvalue()
    assert "req/s, ETA " in drawn and "shard 2/2" in drawn
    assert dumps(finalize(shown, load_prices(None))) == dumps(finalize(silent, load_prices(None)))


def test_the_line_counts_requests_opened_not_planned_needs():
    # Seed 3 of this small market plans 4 needs; one arrives while its client is still being
    # served and opens no request. The line counts (and its rate divides) the 3 requests.
    config = RunConfig(clients=12, vendors=4, hours=2, seed=3, profile="phase3")
    tty = FakeTty()
    tally, _ = simulate(config, bar=ProgressLine(1, stream=tty))
    metrics = finalize(tally, load_prices(None))
    assert metrics["requests_total"] == 3 and tally.get("arrivals_while_busy") == 1
    last = [line for line in tty.getvalue().split("\r") if "req/s" in line][-1]
    count, rate = re.search(r"shard 1/1 (\d+) requests, ([\d.]+) req/s", last).groups()
    assert int(count) == 3
    assert float(rate) > 0
