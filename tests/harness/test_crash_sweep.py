"""The crash sweep: the process dies inside every send of a scenario in turn; the invariants, the end
of every request and "nothing sent twice" must survive each crash point."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from concierge.outreach_flow import OutreachFlow
from simulators.commands.cli import main
from simulators.replay.crash_sweep import sweep
from simulators.replay.loader import load_scenario

# A cross-section in CI (outreach, replies, shortlist, STOP, consent and calls, OCR); the nightly
# profile sweeps every Phase 0 scenario.
CI_SWEEP = [
    "scenarios/phase0/happy/pharmacy_text_happy_path.yaml",
    "scenarios/phase0/happy/electronics_text_happy_path.yaml",
    "scenarios/phase0/stop/client_stop_cancel.yaml",
    "scenarios/phase0/stop/vendor_stop_opt_out.yaml",
    "scenarios/phase0/calling/consent_granted_call.yaml",
    "scenarios/phase0/shortlist/closeout_retried_sends_once.yaml",
    "scenarios/phase0/ocr/prescription_clear_photo.yaml",
]
ALL = sorted(str(p) for p in Path("scenarios/phase0").rglob("*.yaml"))
SWEPT = ALL if os.environ.get("HYPOTHESIS_PROFILE") == "nightly" else CI_SWEEP


@pytest.mark.parametrize("path", SWEPT, ids=lambda p: Path(p).stem)
def test_every_crash_point_of_the_scenario_is_survived(path):
    result = sweep(load_scenario(path))
    assert result.sends >= 3 and result.runs == 2 * result.sends
    assert result.findings == [], "\n".join(f.headline() for f in result.findings)


def test_the_sweep_finds_a_batch_a_crash_cut_short_when_resume_does_not_finish_it(monkeypatch):
    # The bug the first process-fault scenario found: without finishing the batch, the request goes on
    # with one vendor; the sweep must see the vendors the reference asked and this run never did.
    monkeypatch.setattr(OutreachFlow, "finish_interrupted_batch", lambda self, request_id, now: False)
    result = sweep(load_scenario("scenarios/phase0/happy/pharmacy_text_happy_path.yaml"))
    assert any(f.send == 1 and "never asked" in f.problem for f in result.findings), \
        [f.headline() for f in result.findings]


def test_the_cli_reports_findings_and_exits_1(monkeypatch, capsys):
    monkeypatch.setattr(OutreachFlow, "finish_interrupted_batch", lambda self, request_id, now: False)
    code = main(["crash-sweep", "scenarios/phase0/happy", "-k", "pharmacy_text"])
    out = capsys.readouterr().out
    assert code == 1 and "FINDING scenarios/phase0/happy/pharmacy_text_happy_path.yaml: crash" in out


def test_the_cli_passes_a_clean_sweep_and_refuses_bad_input(capsys):
    assert main(["crash-sweep", "scenarios/phase0/happy", "-k", "electronics"]) == 0
    assert "0 finding(s)" in capsys.readouterr().out
    assert main(["crash-sweep", "scenarios/phase0/happy", "-k", "no_such_scenario"]) == 2
    assert main(["crash-sweep", "tests/bad_scenarios/empty.yaml"]) == 2
    assert main(["crash-sweep", "scenarios/phase0/happy", "--settle", "-5"]) == 2


def test_the_sweep_finds_calls_lost_when_resume_does_not_place_them(monkeypatch):
    # The second bug the restart scenarios found: a crash in the confirmation after "Yes" lost the
    # call. Without the fix the sweep reports it at that crash point.
    import concierge.durable

    monkeypatch.setattr(concierge.durable, "resume_pending_calls", lambda c, request, now: False)
    result = sweep(load_scenario("scenarios/phase0/calling/consent_granted_call.yaml"))
    assert any("placed 0 call(s), the reference 1" in f.problem for f in result.findings), \
        [f.headline() for f in result.findings]


def test_crash_points_at_ledger_writes_are_each_write_before_and_after_it_lands():
    from simulators.replay.crash_sweep import _play

    scenario = load_scenario("scenarios/phase0/happy/electronics_text_happy_path.yaml")
    reference = _play(scenario, None, "before", 3600, at="writes")
    assert reference.sends > 20 and reference.restarts == 0  # every write statement is a crash point
    died = _play(scenario, reference.sends // 2, "after", 3600, at="writes")
    assert died.restarts >= 1
    with pytest.raises(ValueError):
        sweep(scenario, at="reads")


@pytest.mark.parametrize("path", CI_SWEEP[:2], ids=lambda p: Path(p).stem)
def test_every_ledger_write_of_the_scenario_is_a_survivable_crash_point(path):
    # Each webhook and timer is one transaction, committed at each send: a crash between two
    # writes rolls back to the last send, and Meta's retry of the webhook does the rest again.
    result = sweep(load_scenario(path), at="writes")
    assert result.runs > 200
    assert result.findings == [], "\n".join(f.headline() for f in result.findings[:10])


def test_without_transactions_a_crash_between_writes_loses_the_message(monkeypatch):
    from concierge.ledger import Ledger

    class NoUnit:
        def __enter__(self):
            return None

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(Ledger, "unit_of_work", lambda self: NoUnit())
    result = sweep(load_scenario(CI_SWEEP[0]), at="writes")
    assert any("never asked" in f.problem or "never ended" in f.problem for f in result.findings)


def test_without_a_checkpoint_before_each_send_a_crash_after_meta_accepted_sends_twice(monkeypatch):
    from concierge.ledger import Ledger

    monkeypatch.setattr(Ledger, "checkpoint", lambda self: None)
    result = sweep(load_scenario(CI_SWEEP[0]))
    assert any(f.when == "after" and "times to" in f.problem for f in result.findings), \
        [f.headline() for f in result.findings][:5]


REPEATED_PLAN = "scenarios/phase0/dedupe/repeated_plan_no_vendor_twice.yaml"


def _writes_at_scripted_takes(scenario) -> list[int]:
    """How many ledger writes a crash-free run had made when each scripted brain output was taken:
    a crash at the next write dies in the handling that took it, before it commits."""
    from simulators.replay.crash_sweep import _CrashingDb
    from simulators.replay.runner import ScenarioPlay, build_world

    world = build_world(scenario)
    writes, at_takes = [0], []
    world.ledger.db = _CrashingDb(world.ledger.db, lambda _kind: writes.__setitem__(0, writes[0] + 1))
    take = world.brain._take

    def noting_take(script):
        at_takes.append(writes[0])
        return take(script)

    world.brain._take = noting_take
    try:
        play = ScenarioPlay(scenario, world)
        for step in scenario.steps:
            if step.kind != "expect":
                play.play(step)
    finally:
        world.close()
    return at_takes


def _crash_problems(scenario, points: list[int]) -> list[str]:
    from simulators.replay.crash_sweep import SETTLE_S, _play, _problems

    reference = _play(scenario, None, "before", SETTLE_S, at="writes")
    return [f"write {n}: {p}" for n in points
            for p in _problems(_play(scenario, n, "before", SETTLE_S, at="writes"), reference)]


def test_a_webhook_retried_after_a_crash_gets_the_brain_plan_the_dead_handling_got():
    # The retried handling asks the brain the same question; the scripted brain must answer it the
    # same way, or the retry executes the *next* scripted plan and the reference's batch is lost.
    scenario = load_scenario(REPEATED_PLAN)
    takes = _writes_at_scripted_takes(scenario)
    assert len(takes) == 2
    assert _crash_problems(scenario, [n + 1 for n in takes]) == []


def test_a_brain_that_does_not_give_back_what_a_dead_handling_took_is_found(monkeypatch):
    from simulators.brains import ScriptedBrain

    scenario = load_scenario(REPEATED_PLAN)
    takes = _writes_at_scripted_takes(scenario)
    monkeypatch.setattr(ScriptedBrain, "recover", lambda self: None)
    problems = _crash_problems(scenario, [n + 1 for n in takes])
    assert any("never asked" in p for p in problems), problems


def test_sampled_crash_points_are_stable_spread_and_keep_the_first_and_last():
    from simulators.replay.crash_sweep import sample_points

    assert sample_points("s", 30, None) == tuple(range(1, 31))
    assert sample_points("s", 30, 30) == tuple(range(1, 31))
    points = sample_points("s", 1214, 40)
    assert points == sample_points("s", 1214, 40)  # same command, same points
    assert len(points) == len(set(points)) == 40 and points == tuple(sorted(points))
    assert points[0] == 1 and points[-1] == 1214
    gaps = [b - a for a, b in zip(points[:-1], points[1:], strict=True)]
    assert max(gaps) < 2 * 1214 // 38 + 2  # one per stretch: no long stretch is left unswept
    assert sample_points("t", 1214, 40) != points  # the seed is the scenario's
    assert sample_points("s", 9, 2) == (1, 9)
    with pytest.raises(ValueError):
        sample_points("s", 9, 1)


def test_the_cli_says_when_it_sampled_and_refuses_too_few_points(capsys):
    code = main(["crash-sweep", "scenarios/phase0/happy", "-k", "electronics", "--max-points", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "electronics_text_happy_path: sampled 3 of " in out and " send points, 6 crash runs" in out
    assert out.rstrip().endswith("1 scenario(s), 6 crash runs, 0 finding(s); 1 sampled (--max-points 3)")
    assert main(["crash-sweep", "scenarios/phase0/happy", "-k", "electronics", "--max-points", "1"]) == 2
    assert "--max-points must be at least 2" in capsys.readouterr().err


def test_a_statement_the_dead_process_left_in_progress_dies_with_it(monkeypatch):
    # A real crash takes the process's unfinished statements away with its connection. In the sim
    # the connection lives on, and a statement the crash cut short (an UPDATE ... RETURNING not yet
    # fetched) stayed in progress while the dead frames were kept alive through the restart: the new
    # process's COMMIT failed ("SQL statements in progress"). Seen on 53 of 400 crash points.
    from concierge.ledger import Ledger
    from simulators.replay.crash_sweep import SETTLE_S, _play
    from simulators.world import ProcessDied

    original, saves = Ledger.save_request_data, [0]

    def save_dying_mid_statement(self, request_id, data, at):
        saves[0] += 1
        if saves[0] == 3:
            _unfetched = self.db.execute("UPDATE requests SET updated_at=? WHERE id=? RETURNING id",
                                         (at, request_id))
            raise ProcessDied()  # stepped once, never fetched: in progress
        return original(self, request_id, data, at)

    monkeypatch.setattr(Ledger, "save_request_data", save_dying_mid_statement)
    outcome = _play(load_scenario(CI_SWEEP[1]), None, "before", SETTLE_S, at="writes")
    assert outcome.restarts == 1 and outcome.open_requests == [] and outcome.violations == []
