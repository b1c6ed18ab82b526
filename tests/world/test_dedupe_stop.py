"""Dedupe and stop rules that a scenario's ``expect:`` keys cannot see directly.

Per-vendor outreach statuses (excluded, failed), the progress-update cap and repeat rule, two
timers due at the same instant, sends retried after the world changed, and the directory's one
vendor per normalized phone. The scenarios under scenarios/phase0/dedupe and /stop prove the rest.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from support import ai_world, kigali_vendors

from concierge.policy import Caps
from concierge.ports import Timer
from simulators.invariants import Context, check_all
from simulators.replay.loader import load_scenario
from simulators.replay.model import ScenarioInvalid
from simulators.vendors import DuplicateVendorPhone, StaticDirectory, vendor_from_mapping
from simulators.world import SimWorld

ROOT = Path(__file__).resolve().parents[2]
ALICE, BOB = "+250780000001", "+250780000002"
PHARMA_PLUS, KIMIRONKO_MEDS = "+250788000101", "+250788000102"
NEED = "I need Amoxicillin 500mg, 21 capsules, near Kimironko"
CTX = Context(client_phones=(ALICE, BOB))


def _world(**caps) -> SimWorld:
    return ai_world(kigali_vendors(), caps=Caps(**caps),
                    clients={ALICE: ("Kimironko", "en"), BOB: ("Kimironko", "en")})


@pytest.fixture
def world():
    w = _world()
    yield w
    assert check_all(w, CTX) == []
    w.close()


def statuses(world: SimWorld, rid: str) -> dict[str, str]:
    return {o.vendor_id: o.status for o in world.ledger.outreach(request_id=rid)}


def ask(world: SimWorld, phone: str = ALICE) -> str:
    world.message_from(phone, kind="text", text=NEED)
    return world.ledger.latest_request(phone).id


# --- directory ---------------------------------------------------------------------------------

def test_directory_refuses_two_vendors_with_one_normalized_phone():
    a = vendor_from_mapping({"id": "a", "name": "A", "phone": "0788 000 101", "categories": ["pharmacy"]})
    b = vendor_from_mapping({"id": "b", "name": "B", "phone": "250788000101", "categories": ["pharmacy"]})
    assert a.phone == b.phone == "+250788000101"
    with pytest.raises(DuplicateVendorPhone, match="share the phone number"):
        StaticDirectory([a, b])


def test_a_scenario_listing_one_phone_twice_is_invalid(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(textwrap.dedent("""\
        scenario: duplicate_vendor_phone
        vendors:
          - {id: a, name: A, phone: "0788 000 101", categories: [pharmacy], area: Kimironko}
          - {id: b, name: B, phone: "+250788000101", categories: [pharmacy], area: Kimironko}
        clients:
          - {id: alice, phone: "+250780000001"}
        steps:
          - client: alice
            text: hi
        """), "utf-8")
    with pytest.raises(ScenarioInvalid) as info:
        load_scenario(path)
    problem = info.value.problems[0]
    assert (problem.line, problem.key) == (4, "vendors[1].phone")
    assert "one vendor per phone number" in problem.message


# --- per-vendor outreach statuses --------------------------------------------------------------

def test_vendor_stop_excludes_its_pending_outreach_in_every_request(world):
    first, second = ask(world, ALICE), None
    world.advance(6 * 60)
    second = ask(world, BOB)
    assert statuses(world, first)["pharma_plus"] == "sent" and statuses(world, second)["pharma_plus"] == "sent"
    world.message_from(PHARMA_PLUS, kind="text", text="Stop.")
    assert statuses(world, first)["pharma_plus"] == "excluded"
    assert statuses(world, second)["pharma_plus"] == "excluded"
    assert world.ledger.opted_out_vendors() == ["pharma_plus"]
    assert world.whatsapp.deliveries("vendor:pharma_plus:stop_confirmation") == 1


def test_client_stop_excludes_the_requests_pending_outreach(world):
    rid = ask(world)
    world.message_from(KIMIRONKO_MEDS, kind="text", text="yes 4000")
    world.message_from(ALICE, kind="text", text="cancel")
    assert statuses(world, rid) == {"pharma_plus": "excluded", "kimironko_meds": "replied",
                                    "remera_pharmacy": "excluded"}


def test_busy_reply_excludes_the_outreach_and_the_vendor_for_two_hours(world):
    rid = ask(world)
    world.advance(10)
    world.message_from(PHARMA_PLUS, kind="text", text="ndahuze, mwongere nyuma")
    assert statuses(world, rid)["pharma_plus"] == "excluded"
    assert world.ledger.vendor_status("pharma_plus")["busy_until"] == world.clock.now() + 2 * 3600


def test_permanent_send_failure_marks_the_outreach_failed(world):
    world.whatsapp.inject_fault("whatsapp_send", status=400, times=1)
    rid = ask(world)
    assert statuses(world, rid)["pharma_plus"] == "failed"
    assert world.whatsapp.deliveries(world.ledger.outreach(request_id=rid)[0].idem_key) == 0


def test_replies_after_hand_off_are_stored_not_acted_on(world):
    rid = ask(world)
    for phone in (PHARMA_PLUS, KIMIRONKO_MEDS, "+250788000103"):
        world.message_from(phone, kind="text", text="yes 3000")
    sent_before = len(world.whatsapp.sent)
    world.message_from(PHARMA_PLUS, kind="text", text="actually 2500 now")
    assert world.ledger.get_request(rid).state == "handed_off"
    assert [r["text"] for r in world.ledger.replies(rid)][-1] == "actually 2500 now"
    assert len(world.whatsapp.sent) == sent_before


# --- progress updates --------------------------------------------------------------------------

def test_at_most_three_progress_updates_never_the_same_text_within_five_minutes(world):
    rid = ask(world)
    c = world.concierge

    def update(text: str) -> bool:
        return c.clock.progress_update(c.request(rid), text, world.clock.now())

    assert update("Still looking.") is True
    assert update("Still looking.") is False  # same text within 5 minutes
    world.advance(5 * 60)  # the 4-minute "still waiting" is the second update
    assert update("Still looking.") is True  # 5 minutes later it may be said again: the third
    assert update("Two vendors answered.") is False  # a fourth: over the cap
    sent = [r["text"] for r in world.ledger.outbound(party="client") if r["purpose"] == "progress"]
    assert len(sent) == 3 and sent.count("Still looking.") == 2
    reasons = [e["data"]["reason"] for e in world.ledger.audit_events("client.update_suppressed")]
    assert "repeat" in reasons and "cap" in reasons


# --- same instant, retries after the world changed ---------------------------------------------

def test_two_silence_timers_due_at_the_same_instant_send_one_batch(world):
    rid = ask(world)
    due = world.clock.now() + 2 * 60
    for _ in range(2):  # e.g. two workers both scheduled it
        world.scheduler.schedule(Timer("batch_silence", rid, due, {"batch": 1}))
    world.advance(2 * 60)
    rows = world.ledger.outreach(request_id=rid)
    assert [o.batch for o in rows] == [1, 1, 1, 2]
    assert len({o.vendor_id for o in rows}) == len(rows)


def test_a_retry_does_not_reach_a_vendor_who_opted_out_meanwhile(world):
    world.whatsapp.inject_fault("whatsapp_send", status=500, times=1)
    rid = ask(world)
    world.message_from(PHARMA_PLUS, kind="text", text="STOP")
    world.advance(60)
    key = [o.idem_key for o in world.ledger.outreach(request_id=rid) if o.vendor_id == "pharma_plus"][0]
    assert world.whatsapp.deliveries(key) == 0
    assert world.ledger.get_outbound(key)["last_error"] == "vendor opted out"


def test_a_retry_does_not_reach_a_client_who_said_stop_meanwhile(world):
    world.message_from(ALICE, kind="text", text="I need Amoxicillin 500mg")  # complete (known area)
    rid = world.ledger.latest_request(ALICE).id
    world.message_from(ALICE, kind="text", text="cancel")
    world.message_from(ALICE, kind="text", text="hello")  # a new request, asked a question
    newer = world.ledger.latest_request(ALICE).id
    assert newer != rid
    world.whatsapp.inject_fault("whatsapp_send", status=503, times=1)
    world.concierge.tell_client(world.concierge.request(newer), "question", "Which strength?", world.clock.now())
    world.message_from(ALICE, kind="text", text="STOP")
    world.advance(60)
    assert not any(m.text == "Which strength?" for m in world.whatsapp.sent)


def test_a_last_attempt_that_timed_out_but_was_delivered_counts_as_sent(world):
    world.whatsapp.inject_fault("whatsapp_send", status=500, times=4)
    world.whatsapp.inject_fault("whatsapp_send", kind="timeout", times=1)
    world.message_from(ALICE, kind="text", text="hello")  # one question, five attempts
    world.advance(60)
    row = [r for r in world.ledger.outbound(party="client")][0]
    assert row["attempts"] == 5
    assert row["status"] == "sent"
    assert world.whatsapp.deliveries(row["idem_key"]) == 1


def test_a_vendor_with_a_send_being_retried_is_not_asked_by_another_request(world):
    world.whatsapp.inject_fault("whatsapp_send", kind="timeout", times=1, delivered_on_timeout=False)
    first = ask(world, ALICE)
    second = ask(world, BOB)
    world.advance(60)
    assert "pharma_plus" in statuses(world, first)
    assert "pharma_plus" not in statuses(world, second)
    assert world.whatsapp.deliveries(world.ledger.outreach(request_id=first)[0].idem_key) == 1


def test_a_repeated_plan_with_nobody_new_to_ask_keeps_the_running_outreach(world):
    rid = ask(world)
    world.advance(2 * 60)  # batch 2: every pharmacy in range has now been asked
    plan = {"type": "vendor_outreach_plan", "category": "pharmacy", "normalized_need": "Amoxicillin",
            "batch_size": 3, "vendor_questions": [], "calling_allowed": False,
            "stop_conditions": {"max_vendors": 15, "min_replies": 1}}
    world.brain.push(plan)
    world.message_from(PHARMA_PLUS, kind="text", text="1. yes 2. 3,500")
    world.advance(2 * 60)  # outreach exhausted: the brain is consulted and proposes the plan again
    assert world.brain.queue == type(world.brain.queue)()
    assert world.ledger.audit_events("outreach.no_eligible_vendors")
    request = world.ledger.get_request(rid)
    assert request.state == "awaiting_vendor_replies" and request.data["plan"] is not None
    world.advance(2 * 60)  # the 6-minute target shortlists the usable reply
    assert world.ledger.shortlist(rid)["delivered_at"] is not None
