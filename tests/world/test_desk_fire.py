"""The request desk fires lifecycle triggers on the ledger's row: what is written, what is refused,
and the on-enter effects the table declares."""

from __future__ import annotations

import pytest
from support import pharmacy

from concierge.flags import Flags
from concierge.lifecycle import RequestState as S
from simulators.world import SimWorld, WorldConfig

CLIENT = "+250780000001"


@pytest.fixture
def world():
    w = SimWorld(WorldConfig(vendors=[pharmacy("pharma_plus", "+250788000101")],
                             flags=Flags.from_mapping({"FEATURE_AI_CONCIERGE": "true"}),
                             clients={CLIENT: ("Kimironko", "en")}, seed=5))
    try:
        yield w
    finally:
        w.close()


def _waiting_request(world: SimWorld) -> str:
    world.message_from(CLIENT, kind="text", text="I need a phone charger")  # asks where: waits
    return world.ledger.latest_request(CLIENT).id


def _idle_timers(world: SimWorld, rid: str) -> list[float]:
    return [due for _, name, request_id, due, _ in world.ledger.armed_timers()
            if name == "idle_close" and request_id == rid]


def test_a_trigger_writes_its_name_or_its_detail_as_the_reason(world):
    desk, rid = world.concierge.desk, _waiting_request(world)
    now = world.clock.now()
    assert desk.fire(rid, "requirements_complete", now)
    assert desk.fire(rid, "batch_sent", now)
    assert desk.fire(rid, "fail", now, detail="timeout")
    assert desk.request(rid).state == S.ERROR.value
    changes = [(c["source"], c["dest"], c["reason"]) for c in world.ledger.state_changes(rid)][-3:]
    assert changes == [("collecting_requirements", "vendor_outreach", "requirements_complete"),
                       ("vendor_outreach", "awaiting_vendor_replies", "batch_sent"),
                       ("awaiting_vendor_replies", "error", "timeout")]
    audited = [(e["data"]["dest"], e["data"]["reason"]) for e in world.ledger.audit_events("state.changed", rid)]
    assert audited[-1] == ("error", "timeout")


def test_a_trigger_that_may_not_fire_is_refused_audited_and_changes_nothing(world):
    desk, rid = world.concierge.desk, _waiting_request(world)
    before = len(world.ledger.state_changes(rid))
    assert not desk.fire(rid, "batch_sent", world.clock.now(), detail="why not")
    assert desk.request(rid).state == S.COLLECTING_REQUIREMENTS.value
    assert len(world.ledger.state_changes(rid)) == before
    refused = world.ledger.audit_events("state.transition_refused", rid)[-1]["data"]
    assert (refused["source"], refused["dest"], refused["reason"]) == (
        "collecting_requirements", "awaiting_vendor_replies", "why not")


def test_firing_into_the_current_state_writes_nothing(world):
    desk, rid = world.concierge.desk, _waiting_request(world)
    desk.fire(rid, "requirements_complete", world.clock.now())
    rows, audits = len(world.ledger.state_changes(rid)), len(world.ledger.audit_events(request_id=rid))
    assert desk.fire(rid, "next_batch", world.clock.now())  # leads to vendor_outreach: already there
    assert (len(world.ledger.state_changes(rid)), len(world.ledger.audit_events(request_id=rid))) == (rows, audits)


def test_entering_the_clients_wait_arms_the_idle_close_and_leaving_it_does_not(world):
    desk, rid = world.concierge.desk, _waiting_request(world)
    world.clock.advance(60)
    desk.fire(rid, "requirements_complete", world.clock.now())
    desk.fire(rid, "batch_sent", world.clock.now())
    armed = len(_idle_timers(world, rid))
    world.clock.advance(60)
    now = world.clock.now()
    desk.fire(rid, "widen_search", now)  # back to collecting_requirements: ON_ENTER arms the idle close
    timers = _idle_timers(world, rid)
    assert len(timers) == armed + 1 and max(timers) == now + world.concierge.caps.idle_close_s


def test_the_tool_naming_a_destination_fires_that_edges_trigger(world):
    rid = _waiting_request(world)
    result = world.concierge.tools.call(
        "marketplace.update_request_state",
        {"request_id": rid, "idempotency_key": "t1", "actor": "system", "to_state": "closed", "reason": "test"},
        world.clock.now())
    assert result == {"success": True, "from_state": "collecting_requirements", "to_state": "closed"}
    refused = world.concierge.tools.call(
        "marketplace.update_request_state",
        {"request_id": rid, "idempotency_key": "t2", "actor": "system", "to_state": "ocr_processing",
         "reason": "test"},
        world.clock.now())
    assert refused["success"] is False and world.concierge.request(rid).state == "closed"


def test_the_orchestrators_tables_name_every_action_and_timer(world):
    from concierge.contracts import BRAIN_ACTION_TYPES

    c = world.concierge
    assert set(c.brain.actions) == set(BRAIN_ACTION_TYPES)
    # Every timer the concerns arm (a name without a handler would only be audited as unknown).
    assert set(c._timers) == {"retry_send", "still_waiting", "target", "hard_limit", "idle_close",
                              "batch_silence", "closeout_check", "follow_up_close", "ocr_run",
                              "call_trigger", "call_watchdog"}
    assert set(c.outbox.settled) == {"outreach", "shortlist"}
