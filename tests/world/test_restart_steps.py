"""`fault: {target: process}`: the concierge's process dies inside a scenario step and restarts on the
same ledger; Meta posts again what got no answer. And what a restart must finish: a batch a crash cut
short."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ai_world, kigali_vendors

from concierge.outreach_flow import OutreachFlow
from simulators.invariants import Context, check_all
from simulators.replay.loader import load_scenario
from simulators.replay.runner import MAX_RESTARTS_PER_STEP, run_scenario
from simulators.world import ProcessDied, SimWorld

ALICE = "+250780000001"
NEED = "I need Amoxicillin 500mg, 21 capsules, near Kimironko"
RESTART_SCENARIOS = sorted(Path("scenarios/phase0/restart").glob("*.yaml"))


def _scenario(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"""\
scenario: process_fault
flags: {{FEATURE_AI_CONCIERGE: true}}
vendors: {Path("fixtures/vendors/kigali.yaml").resolve()}
clients:
  - {{id: alice, phone: "{ALICE}", language: en, area: Kimironko}}
steps:
{steps}""", "utf-8")
    return path


def _run(path: Path):
    result = run_scenario(load_scenario(path))
    assert result.verdict != "error", result.traceback
    return result


def test_a_crash_inside_a_message_step_restarts_and_meta_retries_the_webhook(tmp_path):
    result = _run(_scenario(tmp_path, f"""\
  - fault: {{target: process, kind: crash_before_send}}
  - client: alice
    id: need
    text: "{NEED}"
  - expect: {{audit: {{event: inbound.duplicate_suppressed, count: 1}}, ledger: {{inbound: 1}}}}
  - redeliver: need
  - expect: {{audit: {{event: inbound.duplicate_suppressed, count: 2}}}}
"""))
    assert result.verdict == "pass", result.failure and result.failure.headline("s.yaml")
    # `id: need` names the delivery Meta's retry made: the step's own post died unanswered.
    assert result.observed["restarts"] == 1


def test_a_crash_inside_a_timer_still_advances_the_clock_to_the_steps_end(tmp_path):
    # Nobody answers. The first send a timer makes (the next batch after two silent minutes) dies;
    # the step must still end 5 minutes on, so that 5 more minutes pass the 10-minute limit.
    result = _run(_scenario(tmp_path, f"""\
  - client: alice
    text: "{NEED}"
  - fault: {{target: process, kind: crash_before_send}}
  - advance: 5m
  - expect: {{audit: {{event: concierge.resumed, count: 1}}, state: awaiting_vendor_replies}}
  - advance: 4m59s
  - expect: {{state: awaiting_vendor_replies}}
  - advance: 1s
  - expect: {{state: error}}
"""))
    assert result.verdict == "pass", result.failure and result.failure.headline("s.yaml")
    assert result.observed["restarts"] == 1


def test_a_plain_restart_step_restarts_times_times(tmp_path):
    result = _run(_scenario(tmp_path, """\
  - fault: {target: process, kind: restart, times: 3}
  - expect: {audit: {event: concierge.resumed, count: 3}}
"""))
    assert result.verdict == "pass" and result.observed["restarts"] == 3


def test_a_process_that_never_comes_back_is_a_harness_error_not_a_hang(tmp_path, monkeypatch):
    def dies(self):
        raise ProcessDied()

    monkeypatch.setattr(SimWorld, "restart", dies)
    result = run_scenario(load_scenario(_scenario(tmp_path, "  - fault: {target: process, kind: restart}\n")))
    assert result.verdict == "error" and f"died {MAX_RESTARTS_PER_STEP} times" in result.error


@pytest.mark.parametrize("path", RESTART_SCENARIOS, ids=lambda p: p.stem)
def test_the_restart_scenarios_are_tagged_and_really_restart(path):
    scenario = load_scenario(path)
    assert {"phase0", "restart"} <= set(scenario.tags)
    assert any(s.kind == "fault" and s.args["fault"]["target"] == "process" for s in scenario.steps)
    result = run_scenario(scenario)
    assert result.verdict == "pass", result.failure and result.failure.headline(path.name)
    assert result.observed["restarts"] >= 1


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_batch_cut_short_by_a_crash_is_finished_by_the_next_process(when):
    world = ai_world(kigali_vendors(), clients={ALICE: ("Kimironko", "en")}, seed=4)
    try:
        world.crash_in_next_sends(when)  # the very first outreach send dies
        with pytest.raises(ProcessDied):
            world.message_from(ALICE, kind="text", text=NEED)
        assert len(world.ledger.outreach()) == 1  # the other vendors of the batch were never reached
        outcome = world.restart()
        world.retry_unanswered()
        world.advance(60)
        asked = sorted(o.vendor_id for o in world.ledger.outreach())
        assert outcome["batches_finished"] == 1 and len(asked) == 3
        per_vendor = {}
        for msg in world.whatsapp.sent:
            per_vendor[msg.to] = per_vendor.get(msg.to, 0) + 1
        assert sorted(per_vendor.values()) == [1, 1, 1, 1]  # three vendors and the client, once each
        request = world.ledger.latest_request(ALICE)
        assert request.state == "awaiting_vendor_replies" and request.data["batches"] == 1
        assert check_all(world, Context(client_phones=(ALICE,))) == []
    finally:
        world.close()


def test_without_finishing_the_batch_the_request_would_go_on_with_one_vendor(monkeypatch):
    # The regression this guards: the scenario above only passes because resume finishes the batch.
    monkeypatch.setattr(OutreachFlow, "finish_interrupted_batch", lambda self, rid, now: False)
    world = ai_world(kigali_vendors(), clients={ALICE: ("Kimironko", "en")}, seed=4)
    try:
        world.crash_in_next_sends("after")
        with pytest.raises(ProcessDied):
            world.message_from(ALICE, kind="text", text=NEED)
        world.restart()
        world.retry_unanswered()
        world.advance(60)
        assert len(world.ledger.outreach()) == 1
    finally:
        world.close()


def test_a_restart_never_places_a_call_the_client_has_not_agreed_to():
    world = ai_world(kigali_vendors(), clients={ALICE: ("Kimironko", "en")}, seed=11, calling=True)
    try:
        world.message_from(ALICE, kind="text", text="I need Amoxicillin 500mg urgently, near Kimironko")
        world.advance(3 * 60)  # nobody answered: the client is asked, the vendor call waits on it
        request = world.ledger.latest_request(ALICE)
        assert request.data.get("call_pending") and world.ledger.db.execute(
            "SELECT status FROM consents WHERE request_id=?", (request.id,)).fetchone()[0] == "requested"
        outcome = world.restart()
        world.advance(60)
        assert outcome["calls_resumed"] == 0
        assert world.ledger.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 0
        assert world.ledger.latest_request(ALICE).data.get("call_pending")  # still waiting on the answer
    finally:
        world.close()
