"""A real kill -9 of the concierge's process at each send, restarted on the same ledger file: no
message lost, and a message delivered twice only where the at-least-once rule allows it (Meta's
status webhook for a message it accepted just before the kill was lost)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from concierge.ledger import Ledger
from simulators.commands.cli import main
from simulators.replay.kill_sweep import (
    KillSweepUnsupported,
    check_supported,
    judge,
    kill_run,
    kill_sweep,
)
from simulators.replay.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PHARMACY = ROOT / "scenarios/phase0/happy/pharmacy_text_happy_path.yaml"
IDLE = ROOT / "scenarios/phase0/stop/idle_client_request_closes.yaml"
NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"


def _playable() -> list[Path]:
    out = []
    for path in sorted((ROOT / "scenarios/phase0").rglob("*.yaml")):
        try:
            check_supported(load_scenario(path))
        except KillSweepUnsupported:
            continue
        out.append(path)
    return out


# CI: two short scenarios at every send; nightly (nox -s nightly): every scenario it can replay.
SWEPT = _playable() if NIGHTLY else [PHARMACY, IDLE]


@pytest.mark.parametrize("path", SWEPT, ids=lambda p: p.stem)
def test_a_kill_at_every_send_loses_nothing_and_duplicates_only_what_at_least_once_allows(path, tmp_path):
    result = kill_sweep(load_scenario(path), tmp_path)
    assert result.sends >= 4 and result.runs == 2 * result.sends
    assert result.findings == [], "\n".join(result.findings)
    # A kill after Meta accepted a message, whose status webhook is then lost: at most one extra
    # copy of that message each, and the sweep counts them.
    assert 0 < result.at_least_once <= result.sends


def test_the_duplicate_is_the_lost_status_webhooks_and_none_when_meta_posts_it_again(tmp_path):
    scenario = load_scenario(PHARMACY)
    reference, _ = kill_run(scenario, tmp_path / "reference")
    lost, key = kill_run(scenario, tmp_path / "lost", 2, "after")
    assert key and key.endswith(":qset:v1")
    assert judge(lost, reference, key) == ([], 1) and lost.deliveries[key] == 2
    retried, key = kill_run(scenario, tmp_path / "retried", 2, "after", status_retried=True)
    assert judge(retried, reference, key) == ([], 0) and retried.deliveries[key] == 1
    # The same duplicate, not at the message the process died after, is a finding.
    assert judge(lost, reference, None)[0] == [f"{key} delivered 2 times (reference: 1)"]


def test_the_sweep_finds_sends_that_were_not_committed_before_they_left(tmp_path, monkeypatch):
    # Without the commit before each send, the kill rolls back the record of what Meta has already
    # delivered, and the next process sends it again: the sweep must see it (the children are forks,
    # so they inherit the broken ledger).
    monkeypatch.setattr(Ledger, "checkpoint", lambda self: None)
    result = kill_sweep(load_scenario(PHARMACY), tmp_path, points=[3])
    assert result.findings and all("delivered 2 times" in f for f in result.findings)


def test_a_scenario_with_a_step_that_cannot_cross_processes_is_refused_by_file_and_line():
    scenario = load_scenario(ROOT / "scenarios/phase0/stop/client_stop_cancel.yaml")
    with pytest.raises(KillSweepUnsupported, match=r"client_stop_cancel\.yaml:\d+: a 'redeliver' step"):
        check_supported(scenario)


def test_crash_sweep_kill_reports_the_at_least_once_duplicates(tmp_path, capsys):
    code = main(["crash-sweep", "--kill", str(PHARMACY), "--max-points", "2", "--ledger", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "pharmacy_text_happy_path: 2 of 5 send points, 4 kill -9 runs" in out
    assert "at-least-once duplicate(s) (status webhook lost), 0 finding(s)" in out
    assert (tmp_path / "pharmacy_text_happy_path" / "kill-5-after" / "ledger.sqlite").exists()


def test_crash_sweep_ledger_without_kill_is_a_usage_error(tmp_path, capsys):
    assert main(["crash-sweep", str(PHARMACY), "--ledger", str(tmp_path)]) == 2
    assert "--ledger goes with --kill" in capsys.readouterr().err
